/** The copy `outpost compact` writes: beside the store, so that it replaces it by a rename. */
export const compactCopyPath = (file: string) => `${file}.compact-tmp`;

/** Writes dist/bundle/outpost.js (and the chunks it loads on demand); resolves to its path. */
export function bundleCli(): Promise<string>;

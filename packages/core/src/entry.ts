/** A piece of a file's content, addressed by its SHA-256. */
export interface ChunkRef {
  hash: string;
  size: number;
}

/** One file of a version: what the Merkle root covers (path, size, hash) and how to rebuild it. */
export interface TreeEntry {
  path: string;
  size: number;
  hash: string;
  /** Modification time in milliseconds since the epoch, as the master saw it. */
  mtime: number;
  chunks: ChunkRef[];
}

/** A version's whole tree, keyed by path. */
export type Tree = ReadonlyMap<string, TreeEntry>;

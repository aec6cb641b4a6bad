-- Chunks: content-addressed pieces of file content, stored once whatever refers to them.
CREATE TABLE chunks (
  hash TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  data BLOB NOT NULL
);

-- A file's content, by its SHA-256, and the chunks that make it up, in order.
CREATE TABLE contents (
  hash TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  chunk_count INTEGER NOT NULL
);

CREATE TABLE content_chunks (
  content_hash TEXT NOT NULL,
  seq INTEGER NOT NULL,
  "offset" INTEGER NOT NULL,
  chunk_hash TEXT NOT NULL,
  size INTEGER NOT NULL,
  PRIMARY KEY (content_hash, seq)
) WITHOUT ROWID;

-- Every version this store holds (the master: all it published; a replica: all it applied).
CREATE TABLE versions (
  version INTEGER PRIMARY KEY,
  root TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  files INTEGER NOT NULL,
  bytes INTEGER NOT NULL
);

-- An entry row is live in versions [added_in, removed_in): a version costs rows in
-- proportion to what changed, not to the size of the tree.
CREATE TABLE entries (
  path TEXT NOT NULL,
  added_in INTEGER NOT NULL,
  removed_in INTEGER,
  size INTEGER NOT NULL,
  hash TEXT NOT NULL,
  mtime INTEGER NOT NULL,
  PRIMARY KEY (path, added_in)
);
CREATE INDEX entries_added_in ON entries (added_in);
CREATE INDEX entries_removed_in ON entries (removed_in) WHERE removed_in IS NOT NULL;
CREATE UNIQUE INDEX entries_live ON entries (path) WHERE removed_in IS NULL;

-- Small facts: which version is current.
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- The master's memory of what it last saw on disk, so unchanged files are not hashed again.
CREATE TABLE scan_index (
  path TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  mtime_ms REAL NOT NULL,
  ino INTEGER NOT NULL,
  hash TEXT NOT NULL,
  scanned_at REAL NOT NULL
);

-- The master's record of every replica it has seen.
CREATE TABLE replicas (
  name TEXT PRIMARY KEY,
  region TEXT NOT NULL,
  version INTEGER NOT NULL,
  root TEXT NOT NULL,
  last_seen_at INTEGER,
  error TEXT,
  advertise TEXT,
  link TEXT NOT NULL DEFAULT 'offline'
);

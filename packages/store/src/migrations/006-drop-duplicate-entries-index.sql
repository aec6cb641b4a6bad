-- entries_path (005) repeated the primary key's own index on (path, added_in): every entry
-- written paid for one more B-tree. Lookups by path use the primary key's index.
DROP INDEX IF EXISTS entries_path;

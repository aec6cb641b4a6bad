-- A path's entry in any held version (the master's chunk-list deltas look up the old one).
CREATE INDEX entries_path ON entries (path, added_in);

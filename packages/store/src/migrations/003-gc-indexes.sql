-- Garbage collection asks "does anything still refer to this content / chunk?" for each
-- candidate; these indexes make each question one lookup.
CREATE INDEX entries_hash ON entries (hash);
CREATE INDEX content_chunks_chunk ON content_chunks (chunk_hash);

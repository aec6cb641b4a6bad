-- Coded (compressed) copies of file contents, computed once per content and kept beside it.
-- data is NULL when the coding was tried and did not pay, so it is not tried again.
CREATE TABLE encodings (
  content_hash TEXT NOT NULL,
  coding TEXT NOT NULL,
  size INTEGER,
  sha256 TEXT,
  data BLOB,
  PRIMARY KEY (content_hash, coding)
) WITHOUT ROWID;

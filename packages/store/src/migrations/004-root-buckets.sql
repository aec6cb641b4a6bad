-- The root hash is now a bucketed hash tree that can be updated change by change (see
-- RootAccumulator in @outpost/core). Roots stored by earlier releases are recomputed by
-- openStore() in JavaScript when this marker is present.
INSERT OR REPLACE INTO meta (key, value)
SELECT 'recompute_roots', '1' WHERE EXISTS (SELECT 1 FROM versions);

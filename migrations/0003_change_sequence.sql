-- The change feed (CONTRACT §6): every projection write takes the next numbers of one counter, in
-- the same transaction, and stamps them on the rows it changes. D1 runs one write at a time, so
-- sequence order is commit order — never clocks. An upsert keeps a row's rowid, so the rowid is no
-- sequence; this counter is.
CREATE TABLE change_sequence (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  seq INTEGER NOT NULL
);
ALTER TABLE jobs ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
-- Rows written before the feed existed get distinct numbers, so a walk from the start sees them.
UPDATE jobs SET seq = rowid;
INSERT INTO change_sequence (singleton, seq) VALUES (1, (SELECT coalesce(max(seq), 0) FROM jobs));
CREATE INDEX jobs_by_seq ON jobs (seq);

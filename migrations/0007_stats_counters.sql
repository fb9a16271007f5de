-- The overview (CONTRACT §10, GET /v1/stats) reads counters, never the jobs: its cost does not grow
-- with the number of jobs (docs/DESIGN.md, "The overview's counters"). Every counter table is keyed
-- by what a stats call asks for and has no index besides its primary key (WITHOUT ROWID: the key
-- is the table, so a counter row written is one row written, not a row and an index entry).
--
-- Two things to know about triggers here: D1's `meta.changes` counts the rows a statement's triggers
-- write too (a conditional write asks `RETURNING` whether it changed its row), and wrangler splits
-- migration files into statements with a parser that takes a `CASE … END` inside a trigger body for
-- the trigger's own END (use `iif()`).
--
-- `slice` says whose count a row is: 'all' for every job of the source, 'company:<id>' for the jobs
-- of the source that name that company (what a company-scoped token sees).

-- Jobs by current status. Moved by the projection's batch write with one aggregated statement per
-- batch (src/projection/counters.ts), and by the triggers below for every other write to `jobs`
-- (reprojection's repairs, a row deleted or edited by hand), so the counters always equal a count
-- of the rows.
CREATE TABLE job_counts (
  source TEXT NOT NULL,
  slice TEXT NOT NULL,
  status TEXT NOT NULL,
  jobs INTEGER NOT NULL,
  PRIMARY KEY (source, slice, status)
) WITHOUT ROWID;

-- Deliveries per time bucket, in three widths (60 s, 900 s, 3600 s: the buckets of the 1h, 24h and
-- 7d windows), so a call reads one row per bucket and source whatever the window. `start` is the
-- bucket's start in milliseconds since the epoch. `accepted` and `duplicates` come from the growth
-- of a job's delivery and event counts as the projection writes it (in the bucket of the job's
-- last receipt); `quarantined` from the quarantine table's trigger (slice 'all' only: a quarantined
-- delivery has no job, so no company).
CREATE TABLE delivery_counts (
  source TEXT NOT NULL,
  slice TEXT NOT NULL,
  width INTEGER NOT NULL,
  start INTEGER NOT NULL,
  accepted INTEGER NOT NULL DEFAULT 0,
  duplicates INTEGER NOT NULL DEFAULT 0,
  quarantined INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (source, slice, width, start)
) WITHOUT ROWID;

-- Deliveries refused (4xx) at a source's webhook endpoint, by error code. Counted in the Worker
-- isolate and flushed at most about once a second (src/ingest/refusals.ts): a flood of forged
-- requests is not a flood of writes.
CREATE TABLE refusal_counts (
  source TEXT NOT NULL,
  width INTEGER NOT NULL,
  start INTEGER NOT NULL,
  code TEXT NOT NULL,
  refused INTEGER NOT NULL,
  PRIMARY KEY (source, width, start, code)
) WITHOUT ROWID;

-- Open (unresolved) quarantine items per source, kept by the quarantine table's triggers.
CREATE TABLE quarantine_counts (
  source TEXT PRIMARY KEY,
  open INTEGER NOT NULL
) WITHOUT ROWID;

-- While the projection's batch write moves job_counts itself (one aggregated statement for the
-- hundreds of rows it writes), it sets `active` inside its own transaction and the triggers stand
-- aside; any other write to `jobs` is counted row by row by the triggers.
CREATE TABLE counters_batched (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  active INTEGER NOT NULL
);
INSERT INTO counters_batched (singleton, active) VALUES (1, 0);

CREATE TRIGGER job_counts_insert AFTER INSERT ON jobs
WHEN (SELECT active FROM counters_batched) = 0
BEGIN
  INSERT INTO job_counts (source, slice, status, jobs) VALUES (new.source, 'all', new.status, 1)
    ON CONFLICT (source, slice, status) DO UPDATE SET jobs = jobs + 1;
  INSERT INTO job_counts (source, slice, status, jobs)
    SELECT new.source, 'company:' || new.company_id, new.status, 1 WHERE new.company_id IS NOT NULL
    ON CONFLICT (source, slice, status) DO UPDATE SET jobs = jobs + 1;
END;

CREATE TRIGGER job_counts_delete AFTER DELETE ON jobs
WHEN (SELECT active FROM counters_batched) = 0
BEGIN
  UPDATE job_counts SET jobs = jobs - 1 WHERE source = old.source AND slice = 'all' AND status = old.status;
  UPDATE job_counts SET jobs = jobs - 1
    WHERE source = old.source AND slice = 'company:' || old.company_id AND status = old.status;
END;

CREATE TRIGGER job_counts_update AFTER UPDATE OF source, status, company_id ON jobs
WHEN (SELECT active FROM counters_batched) = 0
  AND (old.source IS NOT new.source OR old.status IS NOT new.status OR old.company_id IS NOT new.company_id)
BEGIN
  UPDATE job_counts SET jobs = jobs - 1 WHERE source = old.source AND slice = 'all' AND status = old.status;
  UPDATE job_counts SET jobs = jobs - 1
    WHERE source = old.source AND slice = 'company:' || old.company_id AND status = old.status;
  INSERT INTO job_counts (source, slice, status, jobs) VALUES (new.source, 'all', new.status, 1)
    ON CONFLICT (source, slice, status) DO UPDATE SET jobs = jobs + 1;
  INSERT INTO job_counts (source, slice, status, jobs)
    SELECT new.source, 'company:' || new.company_id, new.status, 1 WHERE new.company_id IS NOT NULL
    ON CONFLICT (source, slice, status) DO UPDATE SET jobs = jobs + 1;
END;

-- A quarantined delivery counts in the bucket of its receipt, in each width, and opens an item
-- until a retry resolves it (CONTRACT §9).
CREATE TRIGGER quarantine_counted AFTER INSERT ON quarantine
BEGIN
  INSERT INTO delivery_counts (source, slice, width, start, quarantined)
    SELECT new.source, 'all', width.value, (new.received_at / (width.value * 1000)) * (width.value * 1000), 1
    FROM json_each('[60, 900, 3600]') AS width WHERE true
    ON CONFLICT (source, slice, width, start) DO UPDATE SET quarantined = quarantined + 1;
  INSERT INTO quarantine_counts (source, open) SELECT new.source, 1 WHERE new.resolved_at IS NULL
    ON CONFLICT (source) DO UPDATE SET open = open + 1;
END;

CREATE TRIGGER quarantine_resolved AFTER UPDATE OF resolved_at ON quarantine
WHEN (old.resolved_at IS NULL) <> (new.resolved_at IS NULL)
BEGIN
  INSERT INTO quarantine_counts (source, open) VALUES (new.source, iif(new.resolved_at IS NULL, 1, -1))
    ON CONFLICT (source) DO UPDATE SET open = open + excluded.open;
END;

CREATE TRIGGER quarantine_removed AFTER DELETE ON quarantine
WHEN old.resolved_at IS NULL
BEGIN
  UPDATE quarantine_counts SET open = open - 1 WHERE source = old.source;
END;

-- What exists already, counted once. (Deliveries before this migration are not in any bucket.)
INSERT INTO job_counts (source, slice, status, jobs)
  SELECT source, 'all', status, count(*) FROM jobs GROUP BY source, status;
INSERT INTO job_counts (source, slice, status, jobs)
  SELECT source, 'company:' || company_id, status, count(*) FROM jobs WHERE company_id IS NOT NULL
  GROUP BY source, company_id, status;
INSERT INTO quarantine_counts (source, open)
  SELECT source, count(*) FROM quarantine WHERE resolved_at IS NULL GROUP BY source;

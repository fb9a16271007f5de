-- runledger D1 schema, first cut.
-- Times are integer milliseconds since the epoch (keyset cursors compare them exactly); the API
-- renders them as ISO 8601.

-- One row per job: the projection of its Durable Object's summary. `version` is the ledger's
-- change counter; an upsert only applies a newer version, so a replayed outbox entry changes nothing.
CREATE TABLE jobs (
  job_key TEXT PRIMARY KEY,
  source TEXT NOT NULL,
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  status TEXT NOT NULL,
  vendor_status TEXT NOT NULL,
  terminal INTEGER NOT NULL DEFAULT 0,
  company_id TEXT,
  company_name TEXT,
  name TEXT,
  stage TEXT,
  retries INTEGER,
  failure TEXT,
  first_event_at INTEGER NOT NULL,
  last_event_at INTEGER NOT NULL,
  last_received_at INTEGER NOT NULL,
  event_count INTEGER NOT NULL,
  delivery_count INTEGER NOT NULL,
  version INTEGER NOT NULL
);

-- GET /v1/jobs: newest first, keyset on (last_event_at, job_key).
CREATE INDEX jobs_by_last_event ON jobs (last_event_at DESC, job_key);

-- Read-API tokens: only the SHA-256 hash of a token is stored.
CREATE TABLE tokens (
  token_hash TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  company_id TEXT,
  source TEXT,
  created_at TEXT NOT NULL,
  revoked_at TEXT
);

-- Authentic deliveries that could not be parsed, with the validation issues. Raw bodies are kept
-- in chunks (a D1 row holds at most 2 MB).
CREATE TABLE quarantine (
  id TEXT PRIMARY KEY,
  source TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  reason TEXT NOT NULL,
  size INTEGER NOT NULL,
  chunks INTEGER NOT NULL
);
CREATE INDEX quarantine_by_time ON quarantine (received_at DESC, id DESC);

CREATE TABLE quarantine_chunks (
  quarantine_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (quarantine_id, idx)
);

-- Operating (CONTRACT §9). Admin tokens can also use the operating routes.
ALTER TABLE tokens ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
-- A quarantined delivery keeps what authenticated it (Extend: the timestamp and signature headers;
-- Alfred: a SHA-256 of the URL token, never the token), so a retry can run it exactly as at receipt;
-- a successful retry records where the event went. The entry stays listed.
ALTER TABLE quarantine ADD COLUMN auth TEXT;
ALTER TABLE quarantine ADD COLUMN resolved_at INTEGER;
ALTER TABLE quarantine ADD COLUMN job_key TEXT;
ALTER TABLE quarantine ADD COLUMN event_id TEXT;

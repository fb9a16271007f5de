-- A quarantine retry is not another delivery (CONTRACT §9; issue 22). A retry claims its entry
-- before it calls the job's ledger, so two retries at once store one delivery, and it records the
-- outcome it answered, which any later retry of the entry answers again.
--   retry_claim       the id of the retry that claimed the entry last
--   retry_claimed_at  when it claimed it, while it may still be running (NULL once it let go);
--                     a claim older than 60 s is taken over
--   retry_job_key,    the event that retry was about to store: a later retry asks the job's
--   retry_event_id    ledger for it first, and stores nothing if it is there
--   retry_outcome     'stored' | 'duplicate', as answered when the entry was resolved (NULL for
--                     entries resolved before this migration: they answer 'duplicate', as before)
ALTER TABLE quarantine ADD COLUMN retry_claim TEXT;
ALTER TABLE quarantine ADD COLUMN retry_claimed_at INTEGER;
ALTER TABLE quarantine ADD COLUMN retry_job_key TEXT;
ALTER TABLE quarantine ADD COLUMN retry_event_id TEXT;
ALTER TABLE quarantine ADD COLUMN retry_outcome TEXT;

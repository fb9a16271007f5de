-- The company index holds only jobs that name a company: Extend and Standard Webhooks jobs never
-- do, and indexing their NULLs cost a D1 row written whenever such a job's last_event_at changed
-- (npm run bench: D1 rows per event). A company filter (`company_id IN (…)`) implies
-- `company_id IS NOT NULL`, so SQLite still uses it (test/projection.queries.test.ts).
DROP INDEX IF EXISTS jobs_by_company;
CREATE INDEX jobs_by_company ON jobs (company_id, last_event_at DESC, job_key) WHERE company_id IS NOT NULL;

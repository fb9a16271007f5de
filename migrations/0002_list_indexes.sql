-- GET /v1/jobs: an index per token scope and common filter, each ending in the list's order, so a
-- page seeks to its keyset position instead of scanning or sorting (test/projection.queries.test.ts
-- checks the plans with EXPLAIN QUERY PLAN). A company-scoped token lists one company's jobs; a
-- source-scoped one, one source (a kind filter is checked on the rows that index yields: kinds
-- belong to one source); a status filter (failed, needs_review) is the common view. Each index costs
-- a row written whenever a job's last_event_at or the indexed column changes (BENCHMARKS.md).
CREATE INDEX jobs_by_company ON jobs (company_id, last_event_at DESC, job_key);
CREATE INDEX jobs_by_source ON jobs (source, last_event_at DESC, job_key);
CREATE INDEX jobs_by_status ON jobs (status, last_event_at DESC, job_key);

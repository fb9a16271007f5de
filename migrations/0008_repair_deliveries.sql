-- Deliveries that reach D1 outside the projection's batch count too (CONTRACT §10: `accepted`
-- counts every accepted delivery). Reprojection inserts the row of a job whose summaries never
-- reached D1, or moves a row that is behind its ledger forward; the queue's later message for that
-- version is then skipped by its version guard, so without these triggers those deliveries would
-- never be counted. A row's growth in `delivery_count` (and in repeats) counts in the bucket of its
-- last receipt, as the batch's own statement counts it (src/projection/counters.ts,
-- ADD_DELIVERIES). A row moved backwards (a corrupted row replaced by its ledger's truth) takes
-- nothing away: the deliveries it claimed were never counted by a receipt. While the batch counts
-- itself (`counters_batched.active`), these stand aside, as the job_counts triggers do.
-- No `CASE … END` in a trigger body (wrangler's splitter; see 0007).

CREATE TRIGGER delivery_counts_insert AFTER INSERT ON jobs
WHEN (SELECT active FROM counters_batched) = 0 AND new.delivery_count > 0
BEGIN
  INSERT INTO delivery_counts (source, slice, width, start, accepted, duplicates)
    SELECT new.source, slices.slice, width.value,
      (new.last_received_at / (width.value * 1000)) * (width.value * 1000),
      new.delivery_count, max(new.delivery_count - new.event_count, 0)
    FROM (SELECT 'all' AS slice UNION ALL SELECT 'company:' || new.company_id WHERE new.company_id IS NOT NULL)
      AS slices, json_each('[60, 900, 3600]') AS width WHERE true
    ON CONFLICT (source, slice, width, start) DO UPDATE SET
      accepted = accepted + excluded.accepted, duplicates = duplicates + excluded.duplicates;
END;

CREATE TRIGGER delivery_counts_growth AFTER UPDATE OF delivery_count ON jobs
WHEN (SELECT active FROM counters_batched) = 0 AND new.delivery_count > old.delivery_count
BEGIN
  INSERT INTO delivery_counts (source, slice, width, start, accepted, duplicates)
    SELECT new.source, slices.slice, width.value,
      (new.last_received_at / (width.value * 1000)) * (width.value * 1000),
      new.delivery_count - old.delivery_count,
      max((new.delivery_count - new.event_count) - (old.delivery_count - old.event_count), 0)
    FROM (SELECT 'all' AS slice UNION ALL SELECT 'company:' || new.company_id WHERE new.company_id IS NOT NULL)
      AS slices, json_each('[60, 900, 3600]') AS width WHERE true
    ON CONFLICT (source, slice, width, start) DO UPDATE SET
      accepted = accepted + excluded.accepted, duplicates = duplicates + excluded.duplicates;
END;

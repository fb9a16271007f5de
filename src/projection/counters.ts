/**
 * @module The overview's counters in D1 (CONTRACT §10; migrations/0007_stats_counters.sql): what the
 * projection's batch write adds to them, the refusals the Worker flushes, and pruning. A stats call
 * reads these tables only (src/projection/stats.ts), so its cost does not grow with the jobs.
 *
 * Jobs by status and deliveries per bucket move in the same transaction as the job rows, by
 * statements that read the rows a batch is about to replace: each counts only the rows the
 * version-guarded upsert will change, with the upsert's own guard, so a replayed, repeated or
 * reordered batch moves no counter. They aggregate the whole batch (one counter row per source,
 * company, status or bucket, not one per job): a batch of 700 events costs a few counter rows.
 */
import { MAX_STATEMENT_JSON_BYTES, packJson } from "./pack";

/** The widths of the delivery buckets, in seconds: those of the `1h`, `24h` and `7d` windows. */
export const BUCKET_WIDTHS = [60, 900, 3600] as const;
export type BucketWidth = (typeof BUCKET_WIDTHS)[number];

/** How long rows of each width are kept: the window they serve, and some. */
export const RETENTION_MS: Record<BucketWidth, number> = {
  60: 2 * 3_600_000,
  900: 26 * 3_600_000,
  3600: 8 * 86_400_000,
};

/** The slice of a counter row that counts every job of its source. */
export const ALL = "all";
/** The slice of a counter row that counts the jobs of one company. */
export function companySlice(companyId: string): string {
  return `company:${companyId}`;
}

const WIDTHS_JSON = `'${JSON.stringify(BUCKET_WIDTHS)}'`;

/**
 * The rows of `?1` (a JSON array of job rows, as the upsert takes them) that the upsert will write,
 * beside what D1 holds for them now: an insert where there is no row, a replacement where the row's
 * version is older — exactly the upsert's guard (`excluded.version > jobs.version`).
 */
const APPLIED = `incoming AS (
  SELECT json_extract(value, '$.job_key') AS job_key, json_extract(value, '$.source') AS source,
    json_extract(value, '$.status') AS status, json_extract(value, '$.company_id') AS company_id,
    json_extract(value, '$.version') AS version, json_extract(value, '$.delivery_count') AS deliveries,
    json_extract(value, '$.event_count') AS events, json_extract(value, '$.last_received_at') AS received_at
  FROM json_each(?1)
),
applied AS (
  SELECT incoming.*, jobs.job_key IS NOT NULL AS replaces, jobs.source AS old_source,
    jobs.status AS old_status, jobs.company_id AS old_company,
    jobs.delivery_count AS old_deliveries, jobs.event_count AS old_events
  FROM incoming LEFT JOIN jobs ON jobs.job_key = incoming.job_key
  WHERE jobs.job_key IS NULL OR incoming.version > jobs.version
)`;

/**
 * Moves jobs between status counters: +1 where a written row now counts, −1 where the row it
 * replaces counted, summed per counter; a job whose status and company stay put nets 0 and writes
 * nothing.
 */
export const MOVE_JOB_COUNTS = `WITH ${APPLIED},
moves AS (
  SELECT source, '${ALL}' AS slice, status, 1 AS n FROM applied
  UNION ALL SELECT source, 'company:' || company_id, status, 1 FROM applied WHERE company_id IS NOT NULL
  UNION ALL SELECT old_source, '${ALL}', old_status, -1 FROM applied WHERE replaces
  UNION ALL SELECT old_source, 'company:' || old_company, old_status, -1 FROM applied
    WHERE replaces AND old_company IS NOT NULL
)
INSERT INTO job_counts (source, slice, status, jobs)
SELECT source, slice, status, sum(n) FROM moves GROUP BY source, slice, status HAVING sum(n) <> 0
ON CONFLICT (source, slice, status) DO UPDATE SET jobs = jobs + excluded.jobs`;

/**
 * Adds the deliveries a batch brings to the buckets of their receipt: a written row's growth in
 * `delivery_count` (accepted, repeats included) and in `delivery_count − event_count` (repeats),
 * in the bucket of the job's last receipt, in each width. Deliveries of one job projected together
 * count in the bucket of the last of them: within a second or two in normal operation (CONTRACT
 * §10 allows 2 s), later after an outage.
 */
export const ADD_DELIVERIES = `WITH ${APPLIED},
growth AS (
  SELECT source, '${ALL}' AS slice, received_at, deliveries - coalesce(old_deliveries, 0) AS accepted,
    (deliveries - events) - coalesce(old_deliveries - old_events, 0) AS duplicates FROM applied
  UNION ALL SELECT source, 'company:' || company_id, received_at, deliveries - coalesce(old_deliveries, 0),
    (deliveries - events) - coalesce(old_deliveries - old_events, 0) FROM applied WHERE company_id IS NOT NULL
)
INSERT INTO delivery_counts (source, slice, width, start, accepted, duplicates)
SELECT source, slice, width.value, (received_at / (width.value * 1000)) * (width.value * 1000) AS bucket,
  sum(accepted), sum(duplicates)
FROM growth, json_each(${WIDTHS_JSON}) AS width
GROUP BY source, slice, width.value, bucket HAVING sum(accepted) <> 0 OR sum(duplicates) <> 0
ON CONFLICT (source, slice, width, start) DO UPDATE SET
  accepted = accepted + excluded.accepted, duplicates = duplicates + excluded.duplicates`;

/**
 * While the batch moves the counters itself, the `jobs` triggers (which count any other write, row
 * by row) stand aside: set first and reset last in the batch's own transaction.
 */
export const COUNT_BY_BATCH = "UPDATE counters_batched SET active = 1";
export const COUNT_BY_TRIGGERS = "UPDATE counters_batched SET active = 0";

/** Refusals counted in one minute at one source's endpoint, with one error code. */
export interface RefusalCount {
  source: string;
  code: string;
  /** The start of the minute, in milliseconds since the epoch. */
  minute: number;
  refused: number;
}

const ADD_REFUSALS = `INSERT INTO refusal_counts (source, width, start, code, refused)
SELECT json_extract(value, '$.source'), json_extract(value, '$.width'), json_extract(value, '$.start'),
  json_extract(value, '$.code'), json_extract(value, '$.refused')
FROM json_each(?1) WHERE true
ON CONFLICT (source, width, start, code) DO UPDATE SET refused = refused + excluded.refused`;

/** The start of the bucket of `width` seconds that holds `at` (milliseconds). */
export function bucketStart(at: number, width: number): number {
  return Math.floor(at / (width * 1000)) * width * 1000;
}

/**
 * Adds refusal counts to their buckets in every width: one upsert statement per ~90 KB of rows, in
 * one transaction. Returns the rows it wrote.
 */
export async function writeRefusals(db: D1Database, counts: readonly RefusalCount[]): Promise<number> {
  const rows = new Map<
    string,
    { source: string; width: number; start: number; code: string; refused: number }
  >();
  for (const count of counts) {
    for (const width of BUCKET_WIDTHS) {
      const start = bucketStart(count.minute, width);
      const key = JSON.stringify([count.source, width, start, count.code]);
      const row = rows.get(key) ?? { source: count.source, width, start, code: count.code, refused: 0 };
      row.refused += count.refused;
      rows.set(key, row);
    }
  }
  if (rows.size === 0) return 0;
  const packs = packJson([...rows.values()], MAX_STATEMENT_JSON_BYTES);
  const results = await db.batch(packs.map(({ json }) => db.prepare(ADD_REFUSALS).bind(json)));
  return results.reduce((sum, result) => sum + (result.meta.rows_written ?? 0), 0);
}

/** How often one isolate's consumer prunes old counter rows. */
export const PRUNE_EVERY_MS = 10 * 60_000;

/**
 * Deletes bucket rows older than their width's retention: the tables stay bounded by time, never
 * by the jobs. Each statement scans its (bounded) table; it runs every {@link PRUNE_EVERY_MS}.
 */
export async function pruneCounters(db: D1Database, now: number): Promise<void> {
  await db.batch(
    BUCKET_WIDTHS.flatMap((width) => [
      db
        .prepare("DELETE FROM delivery_counts WHERE width = ? AND start < ?")
        .bind(width, now - RETENTION_MS[width]),
      db
        .prepare("DELETE FROM refusal_counts WHERE width = ? AND start < ?")
        .bind(width, now - RETENTION_MS[width]),
    ]),
  );
}

/**
 * @module What a stats call reads (CONTRACT §10): the counter tables of
 * migrations/0007_stats_counters.sql, each by its primary key, never the jobs. For `S` sources in
 * the token's scope and a window of `B` buckets, at most: `9·S` job-count rows, `B·S` delivery rows,
 * `B·S·C` refusal rows (`C`: the codes refused in the window) and `S` quarantine rows — in one
 * read-only batch (test/stats.test.ts checks the plans with `EXPLAIN QUERY PLAN`).
 */
import type { BucketWidth } from "./counters";

/** Whose counts a call reads: the sources, the slice (`all` or a company's), and whether refusals and quarantine are its to see. */
export interface StatsScope {
  sources: readonly string[];
  slice: string;
  /** False for a company scope: refusals and quarantined deliveries cannot be attributed to a company. */
  unattributed: boolean;
}

export interface StatsQuery extends StatsScope {
  width: BucketWidth;
  /** The start of the window's first bucket (ms). */
  since: number;
}

export interface StatsRows {
  jobs: { source: string; status: string; jobs: number }[];
  deliveries: { start: number; accepted: number; duplicates: number; quarantined: number }[];
  refusals: { start: number; code: string; refused: number }[];
  open: number;
}

/** The statements of one stats call (exported for the query-plan tests). */
export function statsStatements(query: StatsQuery): { sql: string; params: (string | number)[] }[] {
  const sources = query.sources.map(() => "?").join(", ");
  const statements = [
    {
      sql: `SELECT source, status, jobs FROM job_counts WHERE source IN (${sources}) AND slice = ?`,
      params: [...query.sources, query.slice],
    },
    {
      sql: `SELECT start, accepted, duplicates, quarantined FROM delivery_counts
        WHERE source IN (${sources}) AND slice = ? AND width = ? AND start >= ?`,
      params: [...query.sources, query.slice, query.width, query.since],
    },
  ];
  if (!query.unattributed) return statements;
  return [
    ...statements,
    {
      sql: `SELECT start, code, refused FROM refusal_counts
        WHERE source IN (${sources}) AND width = ? AND start >= ?`,
      params: [...query.sources, query.width, query.since],
    },
    { sql: `SELECT open FROM quarantine_counts WHERE source IN (${sources})`, params: [...query.sources] },
  ];
}

/** Reads one stats call's counter rows in one batch. */
export async function readStats(db: D1Database, query: StatsQuery): Promise<StatsRows> {
  if (query.sources.length === 0) return { jobs: [], deliveries: [], refusals: [], open: 0 };
  const results = await db.batch(
    statsStatements(query).map(({ sql, params }) => db.prepare(sql).bind(...params)),
  );
  const rows = <T>(n: number) => (results[n]?.results ?? []) as T[];
  return {
    jobs: rows<StatsRows["jobs"][number]>(0),
    deliveries: rows<StatsRows["deliveries"][number]>(1),
    refusals: rows<StatsRows["refusals"][number]>(2),
    open: rows<{ open: number }>(3).reduce((sum, row) => sum + row.open, 0),
  };
}

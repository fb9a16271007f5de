/**
 * @module `GET /v1/stats` — the overview (CONTRACT §10): jobs by status and by source, deliveries
 * per time bucket (accepted, repeats, quarantined, refused by error code) and open quarantine items,
 * for the token's scope. Read from counters kept as changes are projected
 * (src/projection/stats.ts says what a call reads), never from the jobs: its cost is bounded
 * whatever their number.
 */
import type { Context } from "hono";
import { isoTime, SOURCES, STATUSES } from "../core/vocabulary";
import { ApiError } from "../http/errors";
import { ALL, bucketStart, companySlice } from "../projection/counters";
import { readStats, type StatsScope } from "../projection/stats";
import type { ApiEnv } from "./auth";
import { STATS_WINDOWS, type Stats, type StatsQuery } from "./schemas";
import { sourcesInScope } from "./tokens";

/**
 * Whose counts a token reads: its sources (a company token: those whose jobs carry a company), all
 * their jobs or one company's, and whether refusals and quarantined deliveries are its to see — a
 * company token's are not (neither can be attributed to a company, CONTRACT §10).
 */
function statsScope(scope: ApiEnv["Variables"]["scope"]): StatsScope {
  return {
    sources: sourcesInScope(undefined, scope) ?? SOURCES,
    slice: scope.companyId === null ? ALL : companySlice(scope.companyId),
    unattributed: scope.companyId === null,
  };
}

/** `params`: the query as `validQuery(statsQuerySchema)` validated it; `now`: the clock (a seam). */
export async function statsRoute(c: Context<ApiEnv>, params: StatsQuery, now: number) {
  const { bucketSeconds, buckets: count } = STATS_WINDOWS[params.window];
  const scope = statsScope(c.get("scope"));
  const last = bucketStart(now, bucketSeconds);
  const since = last - (count - 1) * bucketSeconds * 1000;
  const rows = await readStats(c.env.DB, { ...scope, width: bucketSeconds, since }).catch(() => {
    throw new ApiError("storage_unavailable", "The counters are unavailable; retry later.");
  });

  const byStatus: Record<string, number> = Object.fromEntries(STATUSES.map((status) => [status, 0]));
  const bySource: Record<string, number> = Object.fromEntries(scope.sources.map((source) => [source, 0]));
  let total = 0;
  for (const row of rows.jobs) {
    // A status no job holds any more keeps its counter row at 0.
    if (row.jobs === 0) continue;
    byStatus[row.status] = (byStatus[row.status] ?? 0) + row.jobs;
    bySource[row.source] = (bySource[row.source] ?? 0) + row.jobs;
    total += row.jobs;
  }

  const buckets = Array.from({ length: count }, (_, n) => ({
    start: since + n * bucketSeconds * 1000,
    accepted: 0,
    duplicates: 0,
    quarantined: 0,
    refused: {} as Record<string, number>,
  }));
  // Rows past the last bucket (a clock a little behind D1's writers) are left out.
  const bucketAt = (start: number) => buckets[(start - since) / (bucketSeconds * 1000)];
  for (const row of rows.deliveries) {
    const bucket = bucketAt(row.start);
    if (bucket === undefined) continue;
    bucket.accepted += row.accepted;
    bucket.duplicates += row.duplicates;
    bucket.quarantined += row.quarantined;
  }
  for (const row of rows.refusals) {
    const bucket = bucketAt(row.start);
    if (bucket === undefined) continue;
    bucket.refused[row.code] = (bucket.refused[row.code] ?? 0) + row.refused;
  }

  const answer: Stats = {
    generatedAt: isoTime(now),
    jobs: { total, byStatus, bySource },
    deliveries: {
      bucketSeconds,
      buckets: buckets.map((bucket) => ({ ...bucket, start: isoTime(bucket.start) })),
    },
    quarantine: { open: rows.open },
  };
  return c.json(answer);
}

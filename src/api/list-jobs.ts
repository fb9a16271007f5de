/**
 * @module `GET /v1/jobs` — job summaries from D1, newest `lastEventAt` first, then `jobKey`, with
 * filters and an opaque keyset cursor (CONTRACT §5).
 */
import type { Context } from "hono";
import { encodeCursor } from "../core/cursor";
import { rowToSummary } from "../core/summary";
import { ApiError } from "../http/errors";
import { listJobs } from "../projection/jobs";
import type { ApiEnv } from "./auth";
import { categoryOf, within } from "./query";
import type { ListJobsQuery } from "./schemas";
import { sourcesInScope } from "./tokens";

/** `params`: the query as `validQuery(listJobsQuerySchema)` validated it. */
export async function listJobsRoute(c: Context<ApiEnv>, params: ListJobsQuery) {
  const scope = c.get("scope");
  const sources = sourcesInScope(params.source, scope);
  const companies = within(params.company, scope.companyId);
  if (sources?.length === 0 || companies?.length === 0) return c.json({ data: [], nextCursor: null });

  // One extra row tells whether another page exists.
  const rows = await listJobs(c.env.DB, {
    sources,
    kinds: params.kind ?? null,
    statuses: params.status ?? null,
    companies,
    category: categoryOf(params.category),
    updatedAfter: params.updatedAfter ?? null,
    updatedBefore: params.updatedBefore ?? null,
    limit: params.limit + 1,
    after: params.cursor === undefined ? null : { lastEventAt: params.cursor.t, jobKey: params.cursor.k },
  }).catch(() => {
    throw new ApiError("storage_unavailable", "The job index is unavailable; retry later.");
  });
  const page = rows.slice(0, params.limit);
  const last = page.at(-1);
  const nextCursor =
    rows.length > params.limit && last !== undefined
      ? encodeCursor({ t: last.last_event_at, k: last.job_key })
      : null;
  return c.json({ data: page.map(rowToSummary), nextCursor });
}

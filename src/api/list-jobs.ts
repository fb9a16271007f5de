/**
 * @module `GET /v1/jobs` — job summaries from D1, newest `lastEventAt` first, then `jobKey`, with
 * filters and an opaque keyset cursor (CONTRACT §5).
 */
import type { Context } from "hono";
import { ApiError } from "../http/errors";
import { SOURCES, STATUSES } from "../ledger/types";
import { listJobs, rowToSummary } from "../projection/jobs";
import type { ApiEnv } from "./auth";
import { encodeCursor } from "./cursor";
import { cursor, limit, list, time, within } from "./query";

export async function listJobsRoute(c: Context<ApiEnv>): Promise<Response> {
  const url = new URL(c.req.url);
  const scope = c.get("scope");
  const sources = within(list(url, "source", SOURCES), scope.source);
  const query = {
    sources: scope.companyId === null ? sources : within(sources, "alfred"),
    kinds: list(url, "kind"),
    statuses: list(url, "status", STATUSES),
    companies: within(list(url, "company"), scope.companyId),
    updatedAfter: time(url, "updatedAfter"),
    updatedBefore: time(url, "updatedBefore"),
    limit: limit(url),
    after: null as { lastEventAt: number; jobKey: string } | null,
  };
  const position = cursor(url);
  if (position !== null) query.after = { lastEventAt: position.t, jobKey: position.k };
  if (query.sources?.length === 0 || query.companies?.length === 0)
    return c.json({ data: [], nextCursor: null });

  // One extra row tells whether another page exists.
  const rows = await listJobs(c.env.DB, { ...query, limit: query.limit + 1 }).catch(() => {
    throw new ApiError("storage_unavailable", "The job index is unavailable; retry later.");
  });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  const nextCursor =
    rows.length > query.limit && last !== undefined
      ? encodeCursor({ t: last.last_event_at, k: last.job_key })
      : null;
  return c.json({ data: page.map(rowToSummary), nextCursor });
}

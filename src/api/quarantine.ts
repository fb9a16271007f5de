/**
 * @module `GET /v1/quarantine` and `GET /v1/quarantine/:id` — authentic deliveries that could not be
 * parsed, newest first, and each raw body byte for byte (CONTRACT §5). A company-scoped token sees
 * no quarantine: an unparsed body cannot be attributed to a company.
 */
import type { Context } from "hono";
import { encodeCursor } from "../core/cursor";
import { ApiError } from "../http/errors";
import { type IngestDeps, retryDelivery } from "../ingest/pipeline";
import { listQuarantine, readQuarantined, resolveQuarantined } from "../projection/quarantine";
import { vendorFor } from "../vendors/registry";
import type { ApiEnv } from "./auth";
import { within } from "./query";
import type { ListQuarantineQuery } from "./schemas";

function unavailable(): never {
  throw new ApiError("storage_unavailable", "The quarantine is unavailable; retry later.");
}

/** `params`: the query as `validQuery(listQuarantineQuerySchema)` validated it. */
export async function listQuarantineRoute(c: Context<ApiEnv>, params: ListQuarantineQuery) {
  const scope = c.get("scope");
  const sources = within(params.source, scope.source);
  const size = params.limit;
  const position = params.cursor ?? null;
  if (scope.companyId !== null || sources?.length === 0) return c.json({ data: [], nextCursor: null });
  const rows = await listQuarantine(c.env.DB, {
    sources,
    limit: size + 1,
    after: position === null ? null : { receivedAt: position.t, id: position.k },
  }).catch(unavailable);
  const page = rows.slice(0, size);
  const last = page.at(-1);
  return c.json({
    data: page.map(({ receivedAtMs: _, ...entry }) => entry),
    nextCursor:
      rows.length > size && last !== undefined ? encodeCursor({ t: last.receivedAtMs, k: last.id }) : null,
  });
}

export async function getQuarantinedRoute(c: Context<ApiEnv>): Promise<Response> {
  const scope = c.get("scope");
  const found = await readQuarantined(c.env.DB, c.req.param("id") ?? "").catch(unavailable);
  if (
    found === null ||
    scope.companyId !== null ||
    (scope.source !== null && scope.source !== found.source)
  ) {
    throw new ApiError("not_found", "The quarantine entry was not found.");
  }
  return new Response(found.body, { headers: { "content-type": "application/json" } });
}

/** `POST /v1/quarantine/:id/retry` (admin, CONTRACT §9). */
export async function retryQuarantinedRoute(c: Context<ApiEnv>, deps: IngestDeps) {
  const id = c.req.param("id") ?? "";
  const scope = c.get("scope");
  const stored = await readQuarantined(c.env.DB, id).catch(unavailable);
  const adapter = stored === null ? undefined : vendorFor(stored.source);
  // The same scope as reading the entry: what a token cannot see, it cannot retry (404, not 403).
  if (
    stored === null ||
    adapter === undefined ||
    scope.companyId !== null ||
    (scope.source !== null && scope.source !== stored.source)
  ) {
    throw new ApiError("not_found", "The quarantine entry was not found.");
  }
  // Retrying an entry a retry already stored changes nothing: it is not another delivery.
  if (stored.resolved !== null) {
    return c.json({
      ok: true as const,
      outcome: "duplicate" as const,
      jobKey: stored.resolved.jobKey,
      eventId: stored.resolved.eventId,
    });
  }
  const result = await retryDelivery(adapter, stored, c.env, deps);
  if (result.outcome === "still_invalid") {
    const issues = result.issues.map((issue) =>
      issue.path ? `${issue.path}: ${issue.message}` : issue.message,
    );
    throw new ApiError("still_invalid", `Still invalid: ${issues.join("; ")}`);
  }
  await resolveQuarantined(c.env.DB, id, {
    resolvedAt: Date.now(),
    jobKey: result.jobKey,
    eventId: result.eventId,
  }).catch(unavailable);
  return c.json({
    ok: true as const,
    outcome: result.outcome,
    jobKey: result.jobKey,
    eventId: result.eventId,
  });
}

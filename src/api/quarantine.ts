/**
 * @module `GET /v1/quarantine` and `GET /v1/quarantine/:id` — authentic deliveries that could not be
 * parsed, newest first, and each raw body byte for byte (CONTRACT §5). A company-scoped token sees
 * no quarantine: an unparsed body cannot be attributed to a company.
 */
import type { Context } from "hono";
import { encodeCursor } from "../core/cursor";
import { ApiError } from "../http/errors";
import { type IngestDeps, reparseDelivery } from "../ingest/pipeline";
import {
  D1_QUARANTINE_WRITES,
  listQuarantine,
  type QuarantineRetryWrites,
  readQuarantined,
  readRetryState,
} from "../projection/quarantine";
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

/**
 * How long a retry holds its entry: longer than a retry can take (a 10 s signed-URL fetch, a 15 s
 * ledger deadline, D1 writes), so a claim this old belongs to a retry that is gone.
 */
export const RETRY_CLAIM_MS = 60_000;

type RetryAnswer = { jobKey: string; eventId: string; outcome: "stored" | "duplicate" };

function answer(c: Context<ApiEnv>, resolved: RetryAnswer) {
  return c.json({
    ok: true as const,
    outcome: resolved.outcome,
    jobKey: resolved.jobKey,
    eventId: resolved.eventId,
  });
}

/**
 * `POST /v1/quarantine/:id/retry` (admin, CONTRACT §9). A retry is not another delivery: it claims
 * the entry in D1 before it stores anything, so of two retries at once one stores and the other is
 * answered 409 `retry_in_progress` (with `Retry-After`); a resolved entry answers the outcome
 * recorded when it was resolved. An earlier retry that stored the event but could not record it
 * left its claim naming the event: the next retry finds the event in the ledger and records it
 * without storing it again.
 */
export async function retryQuarantinedRoute(
  c: Context<ApiEnv>,
  deps: IngestDeps,
  writes: QuarantineRetryWrites = D1_QUARANTINE_WRITES,
) {
  const id = c.req.param("id") ?? "";
  const scope = c.get("scope");
  const db = c.env.DB;
  const stored = await readQuarantined(db, id).catch(unavailable);
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
  if (stored.resolved !== null) return answer(c, stored.resolved);

  const reparsed = await reparseDelivery(adapter, stored, c.env, deps);
  if (reparsed.outcome === "still_invalid") {
    const issues = reparsed.issues.map((issue) =>
      issue.path ? `${issue.path}: ${issue.message}` : issue.message,
    );
    throw new ApiError("still_invalid", `Still invalid: ${issues.join("; ")}`);
  }

  const claim = { id: crypto.randomUUID(), at: deps.now() };
  const claimed = await writes
    .claim(db, id, {
      ...claim,
      jobKey: reparsed.jobKey,
      eventId: reparsed.eventId,
      previous: stored.claim?.id ?? null,
      staleBefore: claim.at - RETRY_CLAIM_MS,
    })
    .catch(unavailable);
  if (!claimed) return answerAnotherRetry(c, db, id, deps.now());

  // An earlier retry named the event it was storing and did not resolve the entry: if the event is
  // in its ledger, that retry stored it (or the vendor did meanwhile), and nothing is stored again.
  let outcome: RetryAnswer | null = null;
  let storing = false;
  try {
    const earlier = stored.claim;
    const jobKey = earlier?.jobKey ?? null;
    const eventId = earlier?.eventId ?? null;
    if (jobKey !== null && eventId !== null) {
      const found = await deps.ledgers.verification(jobKey, eventId);
      if (found !== null) {
        outcome = {
          jobKey,
          eventId,
          // The event's first accepted delivery is this entry's when it has the entry's receipt time.
          outcome: found.receivedAt === stored.receivedAt ? "stored" : "duplicate",
        };
      }
    }
    if (outcome === null) {
      storing = true;
      outcome = { jobKey: reparsed.jobKey, eventId: reparsed.eventId, outcome: await reparsed.store() };
    }
  } catch (error) {
    // A store that failed may still have happened (a ledger past its deadline finishes its work):
    // its claim stays until it is stale, and the retry after that asks the ledger first.
    // A store the job's ledger refused (still invalid) stored nothing: let go at once.
    const refused = error instanceof ApiError && error.code === "still_invalid";
    if (!storing || refused) await writes.release(db, id, claim.id).catch(() => undefined);
    throw error;
  }
  let resolved: boolean;
  try {
    resolved = await writes.resolve(db, id, { resolvedAt: deps.now(), ...outcome });
  } catch {
    // The event is stored; the entry does not say so yet. Let go, so that the next retry finds the
    // event in the ledger at once instead of waiting for the claim to go stale.
    await writes.release(db, id, claim.id).catch(() => undefined);
    unavailable();
  }
  if (!resolved) {
    // A retry that took this one's stale claim over resolved the entry first: its answer stands.
    const state = await readRetryState(db, id).catch(unavailable);
    if (state?.resolved) return answer(c, state.resolved);
  }
  return answer(c, outcome);
}

/** Another retry claimed the entry since it was read: its outcome if it resolved it, else 409. */
async function answerAnotherRetry(c: Context<ApiEnv>, db: D1Database, id: string, now: number) {
  const state = await readRetryState(db, id).catch(unavailable);
  if (state?.resolved) return answer(c, state.resolved);
  const claimedAt = state?.claim?.at ?? null;
  const wait = claimedAt === null ? 1 : Math.ceil((claimedAt + RETRY_CLAIM_MS - now) / 1000);
  throw new ApiError(
    "retry_in_progress",
    "Another retry of this entry is in progress; ask again later for its outcome.",
    { retryAfterSeconds: Math.min(Math.max(wait, 1), RETRY_CLAIM_MS / 1000) },
  );
}

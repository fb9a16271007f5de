/**
 * @module `GET /v1/jobs/:jobKey`, its `/stream`, `/events/:eventId` and `/events/:eventId/verification`,
 * answered from the job's Durable Object, so they reflect every event that got a 2xx (CONTRACT §3.3 "Consistency", §5).
 * The job key may appear as is (`extend:classify_run:clr_x`) or percent-encoded.
 */
import type { Context } from "hono";
import { isoTime } from "../core/vocabulary";
import { ApiError } from "../http/errors";
import type { LedgerGateway } from "../ingest/ledger-gateway";
import type { DetailPage, LedgerDetail } from "../ledger/types";
import { type AuthMaterial, settingsOf } from "../vendors/index";
import { vendorFor } from "../vendors/registry";
import type { ApiEnv } from "./auth";
import { detailFor } from "./job-view";
import { type JobIndex, jobIndex, mayHoldVisibleJob } from "./known-jobs";
import { watchRequestToken } from "./revocation";
import { jobDetailQuerySchema, parseQuery } from "./schemas";
import { streamJob } from "./stream-job";
import { streamWithinLimit } from "./stream-slots";
import { canSee } from "./tokens";

const PREFIX = "/v1/jobs/";
/** `source:kind:id`; an id may hold any character, line breaks included (percent-encoded). */
const JOB_KEY = /^[^:]+:[^:]+:.+$/s;

function notFound(what: string): ApiError {
  return new ApiError("not_found", `${what} was not found.`);
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw notFound("The job");
  }
}

type Target =
  | { kind: "detail" | "stream"; jobKey: string }
  | { kind: "event" | "verification"; jobKey: string; eventId: string };

/**
 * Splits `/v1/jobs/<key>[/events/<eventId>[/verification] | /stream]` on the raw path, before any
 * decoding: the one reading of the path for every job route, whichever of them matched.
 */
function target(c: Context<ApiEnv>): Target {
  const rest = new URL(c.req.url).pathname.slice(PREFIX.length);
  const segments = rest.split("/");
  if (segments.length >= 4 && segments.at(-1) === "verification" && segments.at(-3) === "events") {
    return {
      kind: "verification",
      jobKey: decode(segments.slice(0, -3).join("/")),
      eventId: decode(segments.at(-2) ?? ""),
    };
  }
  if (segments.length >= 3 && segments.at(-2) === "events") {
    return {
      kind: "event",
      jobKey: decode(segments.slice(0, -2).join("/")),
      eventId: decode(segments.at(-1) ?? ""),
    };
  }
  if (segments.length >= 2 && segments.at(-1) === "stream") {
    return { kind: "stream", jobKey: decode(segments.slice(0, -1).join("/")) };
  }
  return { kind: "detail", jobKey: decode(rest) };
}

/** How a job route reaches jobs: their ledgers, and what tells it a ledger is worth calling. */
interface Jobs {
  ledgers: LedgerGateway;
  index: JobIndex;
}

/**
 * The job's detail as its ledger answers it, if it exists and the token may see it; else 404
 * `not_found` — without calling the ledger when the key cannot name such a job (./known-jobs), so
 * a read creates no Durable Object. Routes that only need to know the job and its scope read one
 * history entry. What a token is shown of it is `detailFor`'s.
 */
async function visibleJob(
  c: Context<ApiEnv>,
  { ledgers, index }: Jobs,
  jobKey: string,
  page: DetailPage = { historyLimit: 1 },
): Promise<LedgerDetail> {
  if (!JOB_KEY.test(jobKey)) throw notFound("The job");
  if (!(await mayHoldVisibleJob(index, c.get("scope"), jobKey))) throw notFound("The job");
  const detail = await ledgers.detail(jobKey, page);
  if (detail === null || !canSee(c.get("scope"), detail)) throw notFound("The job");
  return detail;
}

/**
 * The handlers of the job routes, one per kind. Each reads the job key and event id from the raw
 * path with {@link target}, the one reading of it, whichever route Hono matched; `any` serves the
 * keys that hold `/` as is, which no one-segment `:jobKey` matches, by what the raw path names.
 */
export function jobRoutes(
  ledgersOf: (env: Env) => LedgerGateway,
  streams: { heartbeatMs?: number; tokenRecheckMs?: number } = {},
  indexOf: (env: Env) => JobIndex = jobIndex,
) {
  const jobsOf = (env: Env): Jobs => ({ ledgers: ledgersOf(env), index: indexOf(env) });
  /**
   * Hono matches without a trailing slash (`strict: false`): `/v1/jobs/K/stream/` reaches the stream
   * route while its raw path names the detail of a job `K/stream/`. Such a path gets what its raw path
   * names, as it always did. Typed `never`: it is no answer of the route that matched, and the typed
   * client never sends one.
   */
  const asRawPathSays = (c: Context<ApiEnv>) => any(c) as Promise<never>;

  async function detail(c: Context<ApiEnv>) {
    const found = target(c);
    if (found.kind !== "detail") return asRawPathSays(c);
    // The detail's pages (docs/API.md, "Pages of a job's detail"). Parsed here, not only by the route's
    // `validQuery`, because keys holding `/` reach this handler through the `/v1/jobs/*` route. A
    // misspelt parameter is refused, not ignored, so a walk never gets the first page for ever.
    const query = parseQuery(jobDetailQuerySchema, new URL(c.req.url));
    const page: DetailPage = {
      historyAfter: query.historyCursor,
      historyLimit: query.historyLimit,
      filesAfter: query.filesCursor,
    };
    return c.json(detailFor(c.get("scope"), await visibleJob(c, jobsOf(c.env), found.jobKey, page)));
  }

  /**
   * Its 404 is answered as JSON before any stream starts (CONTRACT §7), and before the token's
   * stream limit is looked at: a stream that cannot open takes no place (./stream-slots).
   */
  async function stream(c: Context<ApiEnv>): Promise<Response> {
    const found = target(c);
    if (found.kind !== "stream") return asRawPathSays(c);
    const jobs = jobsOf(c.env);
    await visibleJob(c, jobs, found.jobKey);
    const scope = c.get("scope");
    return streamWithinLimit(c.env, scope, () =>
      streamJob(jobs.ledgers, found.jobKey, {
        heartbeatMs: streams.heartbeatMs,
        recheckMs: streams.tokenRecheckMs,
        token: watchRequestToken(c, streams.tokenRecheckMs),
        present: (detail) => detail && detailFor(scope, detail),
      }),
    );
  }

  /** The body as received, byte for byte. */
  async function rawEvent(c: Context<ApiEnv>): Promise<Response> {
    const found = target(c);
    if (found.kind !== "event") return asRawPathSays(c);
    const jobs = jobsOf(c.env);
    await visibleJob(c, jobs, found.jobKey);
    const raw = found.eventId.length === 0 ? null : await jobs.ledgers.rawEvent(found.jobKey, found.eventId);
    if (raw === null) throw notFound("The event");
    return new Response(raw, { headers: { "content-type": "application/json" } });
  }

  /**
   * CONTRACT §9: the stored bytes checked again with what authenticated the event's first accepted
   * delivery, against today's secrets, freshness aside. An event stored before that material was
   * kept cannot be verified: `verified` is false.
   */
  async function verification(c: Context<ApiEnv>) {
    const found = target(c);
    if (found.kind !== "verification") return asRawPathSays(c);
    const jobs = jobsOf(c.env);
    const { source } = await visibleJob(c, jobs, found.jobKey);
    const stored =
      found.eventId.length === 0 ? null : await jobs.ledgers.verification(found.jobKey, found.eventId);
    const adapter = vendorFor(source);
    if (stored === null || adapter === undefined) throw notFound("The event");
    const material = stored.auth === null ? null : (JSON.parse(stored.auth) as AuthMaterial);
    const verified =
      material !== null &&
      (await adapter.verifyStored(material, new Uint8Array(stored.raw), settingsOf(adapter, c.env)));
    return c.json({ verified, scheme: adapter.scheme, receivedAt: isoTime(stored.receivedAt) });
  }

  async function any(c: Context<ApiEnv>): Promise<Response> {
    switch (target(c).kind) {
      case "detail":
        return detail(c);
      case "stream":
        return stream(c);
      case "event":
        return rawEvent(c);
      case "verification":
        return verification(c);
    }
  }

  return { detail, stream, rawEvent, verification, any };
}

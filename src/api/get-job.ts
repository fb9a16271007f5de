/**
 * @module `GET /v1/jobs/:jobKey` and `GET /v1/jobs/:jobKey/events/:eventId`, answered from the job's
 * Durable Object, so they reflect every event that got a 2xx (CONTRACT §3.3 "Consistency", §5).
 * The job key may appear as is (`extend:classify_run:clr_x`) or percent-encoded.
 */
import type { Context } from "hono";
import { readSettings } from "../config";
import { ApiError } from "../http/errors";
import type { LedgerGateway } from "../ingest/ledger-gateway";
import { isoTime, type Source } from "../ledger/types";
import type { AuthMaterial } from "../vendors/index";
import { VENDORS } from "../vendors/registry";
import type { ApiEnv } from "./auth";
import { jobDetailQuerySchema, parseQuery } from "./schemas";
import { streamJob } from "./stream-job";
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

type Target = { jobKey: string; eventId: string | null; stream: boolean; verification?: boolean };

/** Splits `/v1/jobs/<key>[/events/<eventId> | /stream]` on the raw path, before any decoding. */
function target(c: Context<ApiEnv>): Target {
  const rest = new URL(c.req.url).pathname.slice(PREFIX.length);
  const segments = rest.split("/");
  if (segments.length >= 4 && segments.at(-1) === "verification" && segments.at(-3) === "events") {
    return {
      jobKey: decode(segments.slice(0, -3).join("/")),
      eventId: decode(segments.at(-2) ?? ""),
      stream: false,
      verification: true,
    };
  }
  if (segments.length >= 3 && segments.at(-2) === "events") {
    return {
      jobKey: decode(segments.slice(0, -2).join("/")),
      eventId: decode(segments.at(-1) ?? ""),
      stream: false,
    };
  }
  if (segments.length >= 2 && segments.at(-1) === "stream") {
    return { jobKey: decode(segments.slice(0, -1).join("/")), eventId: null, stream: true };
  }
  return { jobKey: decode(rest), eventId: null, stream: false };
}

export async function getJobRoute(
  c: Context<ApiEnv>,
  ledgers: LedgerGateway,
  streamHeartbeatMs?: number,
): Promise<Response> {
  const { jobKey, eventId, stream, verification } = target(c);
  const whole = eventId === null && !stream;
  // The detail's pages (README "Read API"); a misspelt parameter is refused, not ignored, so a
  // client walking pages never gets the first page again for ever.
  const query = whole ? parseQuery(jobDetailQuerySchema, new URL(c.req.url)) : null;
  if (!JOB_KEY.test(jobKey)) throw notFound("The job");
  // Also for the stream: its 404 is answered as JSON before any stream starts (CONTRACT §7). The
  // other routes only need to know the job and its scope, so they read one history entry.
  const detail = await ledgers.detail(
    jobKey,
    query === null
      ? { historyLimit: 1 }
      : {
          historyAfter: query.historyCursor,
          historyLimit: query.historyLimit,
          filesAfter: query.filesCursor,
        },
  );
  if (detail === null || !canSee(c.get("scope"), detail)) throw notFound("The job");
  if (stream) return streamJob(ledgers, jobKey, streamHeartbeatMs);
  if (eventId === null) return c.json(detail);
  if (verification === true) return verifyEvent(c, ledgers, detail.source, jobKey, eventId);

  const raw = eventId.length === 0 ? null : await ledgers.rawEvent(jobKey, eventId);
  if (raw === null) throw notFound("The event");
  return new Response(raw, { headers: { "content-type": "application/json" } });
}

/**
 * `GET /v1/jobs/:jobKey/events/:eventId/verification` (CONTRACT §9): the stored bytes checked again
 * with what authenticated the event's first accepted delivery, against today's secrets, freshness
 * aside. An event stored before that material was kept cannot be verified: `verified` is false.
 */
async function verifyEvent(
  c: Context<ApiEnv>,
  ledgers: LedgerGateway,
  source: Source,
  jobKey: string,
  eventId: string,
): Promise<Response> {
  const stored = eventId.length === 0 ? null : await ledgers.verification(jobKey, eventId);
  const adapter = VENDORS[source];
  if (stored === null || adapter === undefined) throw notFound("The event");
  const material = stored.auth === null ? null : (JSON.parse(stored.auth) as AuthMaterial);
  const verified =
    material !== null &&
    (await adapter.verifyStored(material, new Uint8Array(stored.raw), readSettings(c.env)));
  return c.json({ verified, scheme: adapter.scheme, receivedAt: isoTime(stored.receivedAt) });
}

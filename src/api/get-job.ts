/**
 * @module `GET /v1/jobs/:jobKey` and `GET /v1/jobs/:jobKey/events/:eventId`, answered from the job's
 * Durable Object, so they reflect every event that got a 2xx (CONTRACT §3.3 "Consistency", §5).
 * The job key may appear as is (`extend:classify_run:clr_x`) or percent-encoded.
 */
import type { Context } from "hono";
import { readSettings } from "../config";
import { ApiError } from "../http/errors";
import type { LedgerGateway } from "../ingest/ledger-gateway";
import { isoTime, type JobDetail } from "../ledger/types";
import type { AuthMaterial } from "../vendors/index";
import { VENDORS } from "../vendors/registry";
import type { ApiEnv } from "./auth";
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

/** The job's detail, if it exists and the token may see it; else 404 `not_found`. */
async function visibleJob(c: Context<ApiEnv>, ledgers: LedgerGateway, jobKey: string): Promise<JobDetail> {
  if (!JOB_KEY.test(jobKey)) throw notFound("The job");
  const detail = await ledgers.detail(jobKey);
  if (detail === null || !canSee(c.get("scope"), detail)) throw notFound("The job");
  return detail;
}

/*
 * One handler per job route. Each reads the key from the raw path with `target`, which for the path
 * its route matches (`:jobKey` is one segment) is always of that route's kind; `anyJobRoute` serves
 * keys that hold `/` as is, which no one-segment parameter matches.
 */

/** `GET /v1/jobs/:jobKey`. */
export async function jobDetailRoute(c: Context<ApiEnv>, ledgers: LedgerGateway) {
  return c.json(await visibleJob(c, ledgers, target(c).jobKey));
}

/** `GET /v1/jobs/:jobKey/stream`: its 404 is answered as JSON before any stream starts (CONTRACT §7). */
export async function jobStreamRoute(c: Context<ApiEnv>, ledgers: LedgerGateway, heartbeatMs?: number) {
  const { jobKey } = target(c);
  await visibleJob(c, ledgers, jobKey);
  return streamJob(ledgers, jobKey, heartbeatMs);
}

/** `GET /v1/jobs/:jobKey/events/:eventId`: the body as received, byte for byte. */
export async function rawEventRoute(c: Context<ApiEnv>, ledgers: LedgerGateway): Promise<Response> {
  const found = target(c);
  const eventId = "eventId" in found ? found.eventId : "";
  await visibleJob(c, ledgers, found.jobKey);
  const raw = eventId.length === 0 ? null : await ledgers.rawEvent(found.jobKey, eventId);
  if (raw === null) throw notFound("The event");
  return new Response(raw, { headers: { "content-type": "application/json" } });
}

/**
 * `GET /v1/jobs/:jobKey/events/:eventId/verification` (CONTRACT §9): the stored bytes checked again
 * with what authenticated the event's first accepted delivery, against today's secrets, freshness
 * aside. An event stored before that material was kept cannot be verified: `verified` is false.
 */
export async function verificationRoute(c: Context<ApiEnv>, ledgers: LedgerGateway) {
  const found = target(c);
  const eventId = "eventId" in found ? found.eventId : "";
  const { source } = await visibleJob(c, ledgers, found.jobKey);
  const stored = eventId.length === 0 ? null : await ledgers.verification(found.jobKey, eventId);
  const adapter = VENDORS[source];
  if (stored === null || adapter === undefined) throw notFound("The event");
  const material = stored.auth === null ? null : (JSON.parse(stored.auth) as AuthMaterial);
  const verified =
    material !== null &&
    (await adapter.verifyStored(material, new Uint8Array(stored.raw), readSettings(c.env)));
  return c.json({ verified, scheme: adapter.scheme, receivedAt: isoTime(stored.receivedAt) });
}

/** `GET /v1/jobs/*`: a job key holding `/` as is spans segments; the raw path says which route it is. */
export async function anyJobRoute(
  c: Context<ApiEnv>,
  ledgers: LedgerGateway,
  heartbeatMs?: number,
): Promise<Response> {
  switch (target(c).kind) {
    case "detail":
      return jobDetailRoute(c, ledgers);
    case "stream":
      return jobStreamRoute(c, ledgers, heartbeatMs);
    case "event":
      return rawEventRoute(c, ledgers);
    case "verification":
      return verificationRoute(c, ledgers);
  }
}

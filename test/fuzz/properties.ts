/**
 * @module The fuzzing properties, shared by the bounded run in `npm test` (test/fuzz.test.ts) and
 * the long runs of `npm run fuzz`:
 * 1. the parsers — each adapter's `interpret`, then the pipeline's check of the keys it derived,
 *    which is what the Worker runs on an authenticated body — never throw, and what they return is
 *    either validation issues or a normalized event that keeps its invariants;
 * 2. the Worker never answers a signed (Extend) or tokened (Alfred) delivery with a 5xx: every
 *    answer is a 2xx of the contract's shape or a 4xx in the error envelope, and a stored event
 *    can be read back from its job.
 */
import { env, SELF } from "cloudflare:test";
import fc from "fast-check";
import { readSettings } from "../../src/config";
import { type NormalizedEvent, STATUSES } from "../../src/core/vocabulary";
import { ApiError } from "../../src/http/errors";
import { unreadableKeys } from "../../src/ingest/pipeline";
import { alfredAdapter } from "../../src/vendors/alfred/index";
import { extendAdapter } from "../../src/vendors/extend/index";
import { type Delivery, type Interpretation, settingsFor, type VendorAdapter } from "../../src/vendors/index";
import { standardAdapter } from "../../src/vendors/standard/index";
import {
  ALFRED_TOKEN,
  apiGet,
  BASE,
  extendSignatureHeaders,
  type JobDetailBody,
  nowSeconds,
  standardHeaders,
} from "../helpers";
import { DEFAULT_HORIZON_MS } from "../model";
import {
  alfredBody,
  type BodyOptions,
  extendBody,
  type FetchedAnswer,
  type FuzzBody,
  fetchedAnswer,
  nastyString,
  standardBody,
} from "./arbitraries";

/** A violated invariant: fast-check reports it with the counterexample. */
function ensure(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** RFC 3339 in UTC with milliseconds, as the API shows times (`isoTime`): years 0000–9999 only. */
const API_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** `source:kind:id`: a kind without colons, so the key reads back into its parts. */
const JOB_KEY = /^(extend|alfred|standard):([^:]+):(.+)$/s;

const isText = (value: unknown): boolean => typeof value === "string";
const isTextOrNull = (value: unknown): boolean => value === null || typeof value === "string";

/** The invariants of a normalized event the Worker would store (its keys passed the pipeline). */
export function checkEvent(event: NormalizedEvent, source: string, receivedAt: number): void {
  ensure(event.source === source, `source ${event.source} from the ${source} adapter`);
  ensure(
    event.jobKey === `${event.source}:${event.kind}:${event.id}`,
    `jobKey ${JSON.stringify(event.jobKey)} is not source:kind:id`,
  );
  const parts = JOB_KEY.exec(event.jobKey);
  ensure(
    parts !== null && parts[2] === event.kind && parts[3] === event.id,
    `jobKey ${JSON.stringify(event.jobKey)} does not read back as kind ${JSON.stringify(event.kind)}, id ${JSON.stringify(event.id)}`,
  );
  ensure(isText(event.eventId) && event.eventId.length > 0, "empty event id");
  ensure(isText(event.eventType) && event.eventType.length > 0, "empty event type");
  ensure(
    event.status === null || (STATUSES as readonly string[]).includes(event.status),
    `status ${JSON.stringify(event.status)} is not a normalized status`,
  );
  ensure(!event.terminal || event.status !== null, "terminal without a status");
  ensure(Number.isFinite(event.rank), `rank ${event.rank}`);
  ensure(Number.isFinite(event.occurredAt), `occurredAt ${event.occurredAt} is not a time`);
  const iso = new Date(event.occurredAt).toISOString();
  ensure(API_TIME.test(iso), `occurredAt ${event.occurredAt} renders as ${iso}, not an RFC 3339 time`);
  ensure(event.receivedAt === receivedAt, "receivedAt is not the receipt time");
  for (const field of ["vendorStatus", "companyId", "companyName", "name", "stage"] as const) {
    ensure(isTextOrNull(event[field]), `${field} is ${typeof event[field]}`);
  }
  ensure(event.retries === null || Number.isFinite(event.retries), `retries ${event.retries}`);
  ensure(event.failure === null || event.status === "failed", "a failure on a status other than failed");
  if (event.failure !== null) {
    ensure(isTextOrNull(event.failure.reason), "failure.reason is not text");
    ensure(
      Array.isArray(event.failure.messages) && event.failure.messages.every(isText),
      "failure.messages is not a list of text",
    );
  }
  ensure(
    typeof event.summary === "object" && event.summary !== null && !Array.isArray(event.summary),
    "summary is not an object",
  );
  ensure(
    event.linkToJob === null || /^alfred:job:.+$/s.test(event.linkToJob.jobKey),
    "linkToJob is not an Alfred job key",
  );
  ensure(event.role === "job" || event.role === "file", `role ${event.role}`);
}

/** The invariants of an adapter's answer to an authenticated body. */
export function checkInterpretation(
  interpretation: Interpretation,
  adapter: VendorAdapter,
  receivedAt: number,
): void {
  switch (interpretation.outcome) {
    case "event": {
      const unreadable = unreadableKeys(interpretation.event);
      // The pipeline quarantines an event whose keys could not be read back; any other is stored.
      if (unreadable.length === 0) checkEvent(interpretation.event, adapter.source, receivedAt);
      else
        ensure(
          unreadable.every((issue) => isText(issue.message)),
          "unreadable-key issues without text",
        );
      return;
    }
    case "quarantine":
      ensure(interpretation.issues.length > 0, "quarantined with no issue");
      for (const issue of interpretation.issues) {
        ensure(
          isText(issue.path) && isText(issue.message) && issue.message.length > 0,
          "an issue without text",
        );
      }
      return;
    case "reply":
      ensure(adapter.source === "alfred", "a reply from an adapter without a handshake");
      ensure(
        typeof interpretation.body === "object" &&
          interpretation.body !== null &&
          isText((interpretation.body as { challenge?: unknown }).challenge),
        "a handshake reply without its challenge",
      );
      return;
    case "error":
      ensure(interpretation.error instanceof ApiError, "an error that is not an ApiError");
      // The only errors an authenticated body may cause: Extend's signed URL did not answer, or
      // Alfred's company is not on the allow-list.
      ensure(
        adapter.source === "extend"
          ? interpretation.error.code === "payload_fetch_failed"
          : interpretation.error.code === "forbidden_company",
        `error ${interpretation.error.code} from the ${adapter.source} adapter for an authenticated body`,
      );
      return;
  }
}

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
const lenient = new TextDecoder();

/** The text `interpret` gets: the pipeline's strict decoding, or for invalid UTF-8 (which the pipeline quarantines itself) the lenient one, so those bytes still exercise the parser. */
function textOf(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    return lenient.decode(bytes);
  }
}

/** The adapter's outbound fetch for a signed payload URL, answering as the case says. */
function fetchFor(answer: FetchedAnswer | null): typeof fetch {
  return async () => {
    if (answer === null) throw new Error("no signed payload in this case");
    if (answer.kind === "throws") throw new Error(answer.message);
    return new Response(answer.body.bytes, { status: answer.status });
  };
}

export interface ParserCase {
  body: FuzzBody;
  fetched: FetchedAnswer | null;
  /** `ALFRED_COMPANY_IDS`: empty (any company) or a list the body's company may miss. */
  companies: string[];
  receivedAt: number;
  /** Seconds the signature timestamp is off the receipt time (within the verified window). */
  skew: number;
}

function parserCase(
  body: fc.Arbitrary<FuzzBody>,
  options: BodyOptions,
  signed: boolean,
): fc.Arbitrary<ParserCase> {
  return fc.record({
    body,
    fetched: signed ? fc.option(fetchedAnswer(options), { nil: null }) : fc.constant(null),
    companies: fc.oneof(
      { weight: 4, arbitrary: fc.constant<string[]>([]) },
      { weight: 1, arbitrary: fc.constant<string[]>(["34567890-4567-4567-4567-4567890123ef"]) },
      { weight: 1, arbitrary: fc.array(nastyString, { minLength: 1, maxLength: 2 }) },
    ),
    // Receipt times from 2001 to 2100, in milliseconds.
    receivedAt: fc.integer({ min: 978_307_200_000, max: 4_102_444_800_000 }),
    skew: fc.integer({ min: -300, max: 60 }),
  });
}

async function interpretCase(adapter: VendorAdapter, c: ParserCase): Promise<Interpretation> {
  const timestamp = String(Math.floor(c.receivedAt / 1000) + c.skew);
  const delivery: Delivery = {
    request: adapter.replayRequest({
      scheme: adapter.scheme,
      values: { id: "msg_fuzz", timestamp, signature: "0".repeat(64) },
    }),
    params: {},
    settings: settingsFor(adapter, readSettings(env), { ...env, ALFRED_COMPANY_IDS: c.companies.join(",") }),
    receivedAt: c.receivedAt,
    fetch: fetchFor(c.fetched),
  };
  return adapter.interpret(delivery, textOf(c.body.bytes));
}

function parserProperty(
  adapter: VendorAdapter,
  cases: fc.Arbitrary<ParserCase>,
): fc.IAsyncProperty<[ParserCase]> {
  return fc.asyncProperty(cases, async (c) => {
    let interpretation: Interpretation;
    try {
      interpretation = await interpretCase(adapter, c);
    } catch (error) {
      throw new Error(`interpret threw ${String(error)}`);
    }
    checkInterpretation(interpretation, adapter, c.receivedAt);
  });
}

export function extendParserProperty(options: BodyOptions): fc.IAsyncProperty<[ParserCase]> {
  return parserProperty(extendAdapter, parserCase(extendBody(options), options, true));
}

export function alfredParserProperty(options: BodyOptions): fc.IAsyncProperty<[ParserCase]> {
  return parserProperty(alfredAdapter, parserCase(alfredBody(options), options, false));
}

export function standardParserProperty(options: BodyOptions): fc.IAsyncProperty<[ParserCase]> {
  return parserProperty(standardAdapter, parserCase(standardBody(options), options, false));
}

// ---------------------------------------------------------------------------------------------
// The Worker
// ---------------------------------------------------------------------------------------------

/**
 * Whether an Extend body asks the Worker to fetch a signed payload URL: the Worker would go to the
 * network and answer 503 `payload_fetch_failed`, which is right. The parser property covers that path.
 */
function namesSignedUrl(bytes: Uint8Array): boolean {
  const text = lenient.decode(bytes);
  return /signed_data_url|"data"\s*:\s*"\s*https?:/i.test(text);
}

export interface WorkerCase {
  source: "extend" | "alfred" | "standard";
  body: FuzzBody;
  skew: number;
  /** Sent a second time, as a vendor's retry: the answer must be the same (a 200 a duplicate). */
  repeat: boolean;
}

async function deliver(c: WorkerCase): Promise<Response> {
  if (c.source === "extend") {
    const headers = await extendSignatureHeaders(c.body.bytes, { timestamp: nowSeconds() + c.skew });
    return SELF.fetch(`${BASE}/webhooks/extend`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: c.body.bytes,
    });
  }
  if (c.source === "standard") {
    // One webhook-id per body, so a repeat is the same message again (a sender's retry).
    const id = `msg_fz_${c.body.bytes.length}_${hashOf(c.body.bytes)}`;
    const headers = await standardHeaders(c.body.bytes, { id, timestamp: nowSeconds() + c.skew });
    return SELF.fetch(`${BASE}/webhooks/standard`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: c.body.bytes,
    });
  }
  return SELF.fetch(`${BASE}/webhooks/alfred/${ALFRED_TOKEN}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: c.body.bytes,
  });
}

/** A short, stable digest of bytes (FNV-1a), for ids that repeat with the body. */
function hashOf(bytes: Uint8Array): string {
  let hash = 0x811c9dc5;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193);
  return (hash >>> 0).toString(16);
}

function parsed(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * One delivery's answer must be a 2xx of the contract's shape or a 4xx in the error envelope; a
 * stored event must be in its job's history. Returns the status and the parsed answer.
 */
async function checkAnswer(
  c: WorkerCase,
  response: Response,
  readToken: string,
): Promise<{ status: number; body: Record<string, unknown> | null }> {
  const text = await response.text();
  const body = parsed(text);
  const where = `${c.source} answered ${response.status} ${text.slice(0, 300)}`;
  ensure(response.status < 500, `5xx: ${where}`);
  if (response.status >= 400) {
    const error = body?.error as { code?: unknown; message?: unknown } | undefined;
    ensure(isText(error?.code) && isText(error?.message), `a 4xx outside the error envelope: ${where}`);
    return { status: response.status, body };
  }
  ensure(response.status === 200 || response.status === 202, `unexpected status: ${where}`);
  if (response.status === 202) {
    ensure(
      body?.quarantined === true && isText(body.quarantineId),
      `a 202 that is not a quarantine: ${where}`,
    );
    return { status: response.status, body };
  }
  if (c.source === "alfred" && body !== null && "challenge" in body) return { status: response.status, body };
  ensure(
    body?.ok === true && isText(body.jobKey) && isText(body.eventId),
    `a 200 that is not a stored event: ${where}`,
  );
  const jobKey = body.jobKey as string;
  ensure(
    JOB_KEY.test(jobKey) && jobKey.startsWith(`${c.source}:`),
    `stored under ${JSON.stringify(jobKey)}: ${where}`,
  );
  // A 200 means the event is durable and readable from its job (CONTRACT §3.3).
  const detail = await apiGet(`/v1/jobs/${encodeURIComponent(jobKey)}`, readToken);
  const detailText = await detail.text();
  ensure(detail.status === 200, `stored job answers ${detail.status} ${detailText.slice(0, 200)}: ${where}`);
  const job = JSON.parse(detailText) as JobDetailBody;
  ensure(
    job.history.some((entry) => entry.eventId === body.eventId),
    `the stored event is not in its job's history: ${where}`,
  );
  for (const entry of job.history) {
    ensure(API_TIME.test(entry.occurredAt), `history time ${entry.occurredAt}: ${where}`);
  }
  // CONTRACT §4 "Clocks": whatever time a body claims, no event orders past its first receipt
  // plus the horizon (24 h by default), so neither end of the job's span can be further out.
  const cap = Date.parse(job.lastReceivedAt) + DEFAULT_HORIZON_MS;
  ensure(
    Date.parse(job.firstEventAt) <= cap && Date.parse(job.lastEventAt) <= cap,
    `the job's span ${job.firstEventAt}–${job.lastEventAt} is past its receipt ${job.lastReceivedAt} + 24 h: ${where}`,
  );
  return { status: response.status, body };
}

export function workerProperty(options: BodyOptions, readToken: string): fc.IAsyncProperty<[WorkerCase]> {
  const cases: fc.Arbitrary<WorkerCase> = fc.oneof(
    fc.record({
      source: fc.constant("extend" as const),
      body: extendBody(options),
      skew: fc.integer({ min: -290, max: 50 }),
      repeat: fc.boolean(),
    }),
    fc.record({
      source: fc.constant("alfred" as const),
      body: alfredBody(options),
      skew: fc.constant(0),
      repeat: fc.boolean(),
    }),
    fc.record({
      source: fc.constant("standard" as const),
      body: standardBody(options),
      skew: fc.integer({ min: -290, max: 50 }),
      repeat: fc.boolean(),
    }),
  );
  return fc.asyncProperty(cases, async (c) => {
    fc.pre(c.source !== "extend" || !namesSignedUrl(c.body.bytes));
    const first = await checkAnswer(c, await deliver(c), readToken);
    if (!c.repeat) return;
    const again = await checkAnswer(c, await deliver(c), readToken);
    ensure(again.status === first.status, `answered ${first.status}, then ${again.status} to the same bytes`);
    if (first.status === 200 && first.body !== null && "jobKey" in first.body) {
      ensure(
        again.body?.duplicate === true &&
          again.body.jobKey === first.body.jobKey &&
          again.body.eventId === first.body.eventId,
        `a repeat was not the duplicate of ${JSON.stringify(first.body)}: ${JSON.stringify(again.body)}`,
      );
    }
  });
}

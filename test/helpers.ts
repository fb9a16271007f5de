/** Helpers shared by the end-to-end tests: signed Extend and Standard Webhooks deliveries, tokens, reads. */
import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import { signExtendBody } from "../scripts/extend-signature.mjs";
import { signStandardBody } from "../scripts/standard-signature.mjs";
import { sha256Hex } from "../src/core/digest";
import worker from "../src/index";

export const EXTEND_SECRET = "wss_test_secret_do_not_use";
export const ALFRED_TOKEN = "alfred-test-token";
export const BASE = "https://runledger.test";

const encoder = new TextEncoder();

/** Signs a body as Extend does (vendors/extend.md §2.7); one signer for scripts and tests. */
export const signExtend = signExtendBody;

/**
 * How long a test waits for something that happens after an answer (a projection, an alarm): far
 * more than it takes on a loaded 2-core machine, so only a real failure reaches it.
 */
export const WAIT_LIMIT_MS = 20_000;

/**
 * Retries `check` until it passes or {@link WAIT_LIMIT_MS} is up: a condition, never a sleep. It
 * asks again soon, then less and less often (25 ms, growing to 250 ms): most conditions hold within
 * a few hundred ms, and a check that reads the list costs the Worker a request each time.
 */
export async function eventually<T>(check: () => Promise<T> | T): Promise<T> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  for (let wait = 25; ; wait = Math.min(wait * 1.5, 250)) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() + wait > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/**
 * Calls the Worker's own fetch handler with the test environment, without SELF's HTTP pipe: for a
 * request whose body the Worker must not read, which a pipe would report as a lost connection.
 */
export async function sendToWorker(request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(request as Parameters<typeof worker.fetch>[0], env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export interface SignedOptions {
  secret?: string;
  timestamp?: number | string;
  headers?: Record<string, string>;
}

/** Builds a POST to /webhooks/extend signed as Extend signs (vendors/extend.md §2.7). */
export async function signedExtendRequest(
  body: string | object,
  options: SignedOptions = {},
): Promise<Request> {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const timestamp = String(options.timestamp ?? nowSeconds());
  const signature = await signExtend(options.secret ?? EXTEND_SECRET, timestamp, encoder.encode(text));
  return new Request(`${BASE}/webhooks/extend`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-extend-request-timestamp": timestamp,
      "x-extend-request-signature": signature,
      ...options.headers,
    },
    body: text,
  });
}

export async function sendExtend(body: string | object, options: SignedOptions = {}): Promise<Response> {
  return SELF.fetch(await signedExtendRequest(body, options));
}

export function extendEvent(eventType: string, payload: Record<string, unknown>, eventId?: string) {
  return { eventId: eventId ?? `evt_${crypto.randomUUID()}`, eventType, payload };
}

export function sendAlfred(body: string | object, token = ALFRED_TOKEN): Promise<Response> {
  return SELF.fetch(`${BASE}/webhooks/alfred/${encodeURIComponent(token)}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Creates a read-API token straight in D1, as `npm run token -- create` does. */
export async function createToken(
  scope: { company?: string; source?: string; admin?: boolean } = {},
): Promise<string> {
  const token = `rl_test_${crypto.randomUUID()}`;
  await env.DB.prepare(
    "INSERT INTO tokens (token_hash, name, company_id, source, created_at, admin) VALUES (?, ?, ?, ?, ?, ?)",
  )
    .bind(
      await sha256Hex(token),
      "test",
      scope.company ?? null,
      scope.source ?? null,
      new Date().toISOString(),
      scope.admin ? 1 : 0,
    )
    .run();
  return token;
}

export async function apiGet(path: string, token: string): Promise<Response> {
  return SELF.fetch(`${BASE}${path}`, { headers: { authorization: `Bearer ${token}` } });
}

/**
 * Every row `GET /v1/jobs?<query>` lists for `token`, page after page. Test files may share storage
 * (vitest.config.ts, ALONE), so a test looking for its own job in a list reads all of it, never
 * only the first page.
 */
export async function listAll<T = Record<string, unknown>>(query: string, token: string): Promise<T[]> {
  const rows: T[] = [];
  let cursor: string | null = null;
  do {
    const page: string = cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`;
    const response = await apiGet(`/v1/jobs?limit=200${query ? `&${query}` : ""}${page}`, token);
    if (response.status !== 200) throw new Error(`GET /v1/jobs?${query} answered ${response.status}`);
    const body = (await response.json()) as { data: T[]; nextCursor: string | null };
    rows.push(...body.data);
    cursor = body.nextCursor;
  } while (cursor !== null);
  return rows;
}

export async function jobDetail<T = JobDetailBody>(jobKey: string, token: string): Promise<T> {
  const response = await apiGet(`/v1/jobs/${encodeURIComponent(jobKey)}`, token);
  if (response.status !== 200)
    throw new Error(`GET ${jobKey} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

export interface JobDetailBody {
  jobKey: string;
  source: string;
  kind: string;
  id: string;
  status: string | null;
  vendorStatus: string | null;
  terminal: boolean;
  companyId: string | null;
  companyName: string | null;
  name: string | null;
  stage: string | null;
  retries: number | null;
  failure: { reason: string | null; messages: string[] } | null;
  firstEventAt: string;
  lastEventAt: string;
  lastReceivedAt: string;
  eventCount: number;
  deliveryCount: number;
  version: number;
  history: {
    eventId: string;
    eventType: string;
    status: string | null;
    vendorStatus: string | null;
    occurredAt: string;
    receivedAt: string;
    deliveries: number;
    receipts: string[];
    summary: Record<string, unknown>;
  }[];
  files?: { jobKey: string; status: string | null }[];
  job?: { jobKey: string; status: string | null } | null;
}

/** The 200 answer to a stored delivery (CONTRACT §3.3). */
export interface StoredBody {
  ok: true;
  eventId: string;
  jobKey: string;
  duplicate: boolean;
}

export interface ErrorBody {
  error: { code: string; message: string };
}

export async function errorCode(response: Response): Promise<string> {
  return ((await response.json()) as ErrorBody).error.code;
}

// ---------------------------------------------------------------------------------------------
// Alfred helpers (used by test/alfred.*.test.ts). Appended block; the helpers above are shared.
// ---------------------------------------------------------------------------------------------

export const ALFRED_OTHER_TOKEN = "alfred-other-token";

export interface QuarantinedBody {
  ok: true;
  quarantined: true;
  quarantineId: string;
}

export interface QuarantineListBody {
  data: {
    id: string;
    source: string;
    receivedAt: string;
    reason: { path: string; message: string }[];
    size: number;
    resolvedAt?: string;
    jobKey?: string;
    eventId?: string;
  }[];
  nextCursor: string | null;
}

/** Sends an Alfred delivery that must be stored (200); throws with the answer otherwise. */
export async function sendAlfredStored(body: string | object, token = ALFRED_TOKEN): Promise<StoredBody> {
  const response = await sendAlfred(body, token);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`Alfred delivery answered ${response.status}: ${text}`);
  return JSON.parse(text) as StoredBody;
}

/** Any method, any body, to `/webhooks/alfred/<token>` (or `/webhooks/alfred` when token is null). */
export function alfredRequest(method: string, token: string | null, body?: string): Request {
  const path = token === null ? "/webhooks/alfred" : `/webhooks/alfred/${encodeURIComponent(token)}`;
  return new Request(`${BASE}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body,
  });
}

/** The HTTP status of `GET /v1/jobs/<jobKey>` (200 or 404, say). */
export async function jobStatusCode(jobKey: string, token: string): Promise<number> {
  const response = await apiGet(`/v1/jobs/${encodeURIComponent(jobKey)}`, token);
  await response.body?.cancel();
  return response.status;
}

/** The whole quarantine list, newest first, following cursors. */
export async function quarantineEntries(token: string): Promise<QuarantineListBody["data"]> {
  const out: QuarantineListBody["data"] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor === null ? "?limit=200" : `?limit=200&cursor=${encodeURIComponent(cursor)}`;
    const response = await apiGet(`/v1/quarantine${query}`, token);
    if (response.status !== 200) throw new Error(`GET /v1/quarantine answered ${response.status}`);
    const page = (await response.json()) as QuarantineListBody;
    out.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Extend helpers (used by test/extend.*.test.ts and test/api.security.test.ts). Appended block,
// independent of the Alfred block above.
// ---------------------------------------------------------------------------------------------

/** The two signature headers Extend sends for `body`, signed with `secret` at `timestamp`. */
export async function extendSignatureHeaders(
  body: string | Uint8Array,
  options: { secret?: string; timestamp?: number | string } = {},
): Promise<Record<string, string>> {
  const timestamp = String(options.timestamp ?? nowSeconds());
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  return {
    "x-extend-request-timestamp": timestamp,
    "x-extend-request-signature": await signExtend(options.secret ?? EXTEND_SECRET, timestamp, bytes),
  };
}

/** A request to /webhooks/extend with exactly the given headers and body (nothing is added). */
export function rawExtendRequest(
  body: BodyInit | null,
  headers: Record<string, string>,
  method = "POST",
): Request {
  return new Request(`${BASE}/webhooks/extend`, { method, headers, body });
}

/** The HTTP status of `GET path` on the read API, body discarded. */
export async function apiStatus(path: string, token: string): Promise<number> {
  const response = await apiGet(path, token);
  await response.body?.cancel();
  return response.status;
}

export interface ExtendQuarantineEntry {
  id: string;
  source: string;
  receivedAt: string;
  reason: { path: string; message: string }[];
  size: number;
}

/** Every quarantine entry, newest first, following cursors. */
export async function allQuarantine(token: string): Promise<ExtendQuarantineEntry[]> {
  const entries: ExtendQuarantineEntry[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `?limit=200${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`;
    const response = await apiGet(`/v1/quarantine${query}`, token);
    if (response.status !== 200) throw new Error(`GET /v1/quarantine answered ${response.status}`);
    const page = (await response.json()) as { data: ExtendQuarantineEntry[]; nextCursor: string | null };
    entries.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return entries;
}

/** The bytes of a response body. */
export async function bodyBytes(response: Response): Promise<Uint8Array> {
  return new Uint8Array(await response.arrayBuffer());
}

/** Throws unless `actual` and `expected` hold the same bytes (fast, unlike a deep equal on MBs). */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  let firstDifference = -1;
  const length = Math.min(actual.byteLength, expected.byteLength);
  for (let i = 0; i < length; i++) {
    if (actual[i] !== expected[i]) {
      firstDifference = i;
      break;
    }
  }
  if (firstDifference !== -1 || actual.byteLength !== expected.byteLength) {
    throw new Error(
      `bodies differ: ${actual.byteLength} bytes vs ${expected.byteLength} expected, first difference at ${firstDifference}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Standard Webhooks helpers (used by test/standard.*.test.ts). Appended block.
// ---------------------------------------------------------------------------------------------

/** The first of the tests' STANDARD_WEBHOOK_SECRETS (vitest.config.ts). */
export const STANDARD_SECRET = "whsec_cnVubGVkZ2VyLXRlc3Qtc3RhbmRhcmQta2V5";
/** The second: a delivery signed with either passes. */
export const STANDARD_OTHER_SECRET = "whsec_cnVubGVkZ2VyLW90aGVyLXN0YW5kYXJkLWtleQ==";

/** Signs a body as a Standard Webhooks sender does; one signer for scripts and tests. */
export const signStandard = signStandardBody;

export interface StandardOptions {
  /** `webhook-id` (default: a fresh `msg_…`). */
  id?: string;
  secret?: string;
  timestamp?: number | string;
  /** Replaces or adds headers after signing (`webhook-signature` to forge one, say). */
  headers?: Record<string, string>;
}

/** The three Standard Webhooks headers for `body`, signed with `secret` at `timestamp`. */
export async function standardHeaders(
  body: string | Uint8Array,
  options: StandardOptions = {},
): Promise<Record<string, string>> {
  const id = options.id ?? `msg_${crypto.randomUUID()}`;
  const timestamp = String(options.timestamp ?? nowSeconds());
  return {
    "webhook-id": id,
    "webhook-timestamp": timestamp,
    "webhook-signature": await signStandard(options.secret ?? STANDARD_SECRET, id, timestamp, body),
  };
}

/** A POST to /webhooks/standard, signed as the spec says, with `options.headers` on top. */
export async function signedStandardRequest(
  body: string | object,
  options: StandardOptions = {},
): Promise<Request> {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return new Request(`${BASE}/webhooks/standard`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(await standardHeaders(text, options)),
      ...options.headers,
    },
    body: text,
  });
}

export async function sendStandard(body: string | object, options: StandardOptions = {}): Promise<Response> {
  return SELF.fetch(await signedStandardRequest(body, options));
}

/**
 * A body of `total` spaces produced as it is read, with no content-length; `pulled` counts what the
 * reader took (an over-limit body must be refused without being read to its end).
 */
export function lazyStream(total: number) {
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  const state = { pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled >= total) {
        controller.close();
        return;
      }
      state.pulled += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  return { stream, state, total };
}

/** The bytes of `parts`, one after the other. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Revocation helpers (used by test/stream.test.ts and test/changes.test.ts). Appended block.
// ---------------------------------------------------------------------------------------------

/** Revokes a token straight in D1, as `npm run token -- revoke` does. */
export async function revokeToken(token: string): Promise<void> {
  await env.DB.prepare("UPDATE tokens SET revoked_at = ? WHERE token_hash = ?")
    .bind(new Date().toISOString(), await sha256Hex(token))
    .run();
}

/**
 * `work`, or a rejection naming `what` once {@link WAIT_LIMIT_MS} is up: for something that must
 * happen on its own (a stream that ends, a long poll that answers), with a limit only a real failure
 * reaches.
 */
export async function withinWaitLimit<T>(work: Promise<T> | T, what: string): Promise<T> {
  let timer: number | null = null;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${WAIT_LIMIT_MS} ms`)), WAIT_LIMIT_MS);
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}

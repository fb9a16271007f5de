/**
 * The hostile-input corpus: several hundred deliveries and reads that a vendor, a broken proxy or an
 * attacker could send, each with the answer CONTRACT §3 and §5 (and the README where the contract is
 * silent) give it. The cases are data (test/corpus/*.jsonl, described in test/corpus/README.md);
 * bodies too big or too deep to store — 10,000-level nesting, 4 MB strings, 100,000 keys, streams
 * past the limit, every prefix of a body — are generated here from a small spec.
 *
 * Beyond each case's own answer, two invariants hold for the whole file: every 202 left exactly one
 * quarantine entry (and nothing else did), and the jobs list holds exactly the jobs that got a 200
 * — nothing unauthenticated, refused or quarantined was stored.
 */
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import alfredCorpus from "./corpus/alfred.jsonl?raw";
import extendCorpus from "./corpus/extend.jsonl?raw";
import readCorpus from "./corpus/read-api.jsonl?raw";
import {
  ALFRED_TOKEN,
  allQuarantine,
  apiGet,
  BASE,
  bodyBytes,
  concat,
  createToken,
  EXTEND_SECRET,
  eventually,
  expectSameBytes,
  lazyStream,
  nowSeconds,
  sendToWorker,
  signExtend,
} from "./helpers";

// ---------------------------------------------------------------------------------------------
// The case format (test/corpus/README.md)
// ---------------------------------------------------------------------------------------------

type Endpoint = "extend" | "alfred" | "read";

/** One acceptable answer. */
interface Outcome {
  status: number;
  /** The error code, or the codes any one of which is right. */
  code?: string | string[];
  /** 200 stored: the job (and the raw event, byte for byte) can be read back. */
  stored?: true;
  /** 202 quarantined: the raw body, byte for byte, is in the quarantine. */
  quarantined?: true;
  /** 200 handshake: the answer is `{"challenge": <the body's challenge>}`. */
  challenge?: true;
  /** Fields the stored job's detail must have (a partial match). */
  detail?: Record<string, unknown>;
  /** The streamed body was read to its end (and thrown away). */
  drained?: true;
  /** At most this many bytes of the streamed body were read. */
  maxBytesRead?: number;
  /** Read API: `data` is empty / has at most / at least so many items / every item matches. */
  empty?: true;
  maxItems?: number;
  minItems?: number;
  every?: Record<string, unknown>;
  /** Read API: every item's `lastEventAt` is after / before this time. */
  lastEventAfter?: string;
  lastEventBefore?: string;
  /** Read API: the answer names this job. */
  jobKey?: string;
  /** Read API: the answer is the baseline event's raw body. */
  raw?: true;
}

/** Where the contract leaves a choice open, each allowed answer. */
type Expectation = Outcome | { anyOf: Outcome[] };

type Generate =
  | {
      kind: "nesting";
      shape: "array" | "object" | "mixed";
      depth: number;
      unclosed?: boolean;
      template?: unknown;
    }
  | { kind: "fill"; unit: string; count: number; totalBytes?: number; template?: unknown }
  | { kind: "keys"; count: number; value?: unknown; spread?: boolean; template: unknown }
  | { kind: "array"; count: number; item: unknown; template: unknown }
  | { kind: "prefixes"; of: unknown; step?: number }
  | { kind: "stream"; bytes: number };

type Auth = "none" | { header: string } | { company: string } | { source: string };

interface Case {
  name: string;
  family: string;
  endpoint: Endpoint;
  method?: string;
  /** Read API: the path and query, sent as written. Ingest: replaces the webhook path. */
  path?: string;
  /** Alfred: the URL token as it appears in the path (default the test token; null: no segment). */
  token?: string | null;
  /** Read API: how the request is authorised (default: a full read token). */
  auth?: Auth;
  headers?: Record<string, string>;
  /** Extend: how the request is signed (default `valid`); see {@link signatureHeaders}. */
  sign?: string;
  /** `worker`: the Worker's fetch handler called directly, for bodies SELF's pipe must not carry. */
  transport?: "self" | "worker";
  /** A string is sent as is; anything else as its JSON. */
  body?: unknown;
  bodyBase64?: string;
  generate?: Generate;
  /** The job the body names (or would have named): 404 unless the case stores it. */
  jobKey?: string;
  eventId?: string;
  expect: Expectation;
  /** The product answers otherwise although the contract is clear: skipped, and reported. */
  knownBug?: string;
  note?: string;
}

function parseCorpus(file: string, text: string): Case[] {
  return text
    .split("\n")
    .map((line, index) => ({ line: line.trim(), number: index + 1 }))
    .filter(({ line }) => line.length > 0)
    .map(({ line, number }) => {
      try {
        return JSON.parse(line) as Case;
      } catch (error) {
        throw new Error(`${file}:${number} is not JSON: ${String(error)}`);
      }
    });
}

const CORPUS: Case[] = [
  ...parseCorpus("extend.jsonl", extendCorpus),
  ...parseCorpus("alfred.jsonl", alfredCorpus),
  ...parseCorpus("read-api.jsonl", readCorpus),
];

// ---------------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------------

const encoder = new TextEncoder();
const PLACEHOLDER = "@GEN";

/** The template's JSON with its `"@GEN"` value (or, inside a string, `@GEN`) replaced by `text`. */
function intoTemplate(template: unknown, text: string, inString: boolean): string {
  if (template === undefined) return text;
  const json = JSON.stringify(template);
  const needle = inString ? PLACEHOLDER : `"${PLACEHOLDER}"`;
  const at = json.indexOf(needle);
  if (at === -1) throw new Error(`template without ${needle}: ${json.slice(0, 200)}`);
  return json.slice(0, at) + text + json.slice(at + needle.length);
}

function nested(shape: "array" | "object" | "mixed", depth: number, unclosed: boolean): string {
  const [open, close] =
    shape === "array" ? ["[", "]"] : shape === "object" ? ['{"a":', "}"] : ['[{"a":', "}]"];
  const times = shape === "mixed" ? Math.ceil(depth / 2) : depth;
  const core = shape === "array" ? "" : "null";
  return open.repeat(times) + (unclosed ? "" : core + close.repeat(times));
}

/** The text a generator spec stands for (every kind but `prefixes` and `stream`). */
function generatedText(spec: Generate): string {
  switch (spec.kind) {
    case "nesting":
      return intoTemplate(spec.template, nested(spec.shape, spec.depth, spec.unclosed === true), false);
    case "fill": {
      let count = spec.count;
      if (spec.totalBytes !== undefined) {
        const rest = encoder.encode(intoTemplate(spec.template, "", true)).byteLength;
        count = (spec.totalBytes - rest) / encoder.encode(spec.unit).byteLength;
        if (!Number.isInteger(count)) throw new Error(`cannot fill to ${spec.totalBytes} bytes`);
      }
      return intoTemplate(spec.template, spec.unit.repeat(count), true);
    }
    case "keys": {
      const value = JSON.stringify(spec.value ?? 0);
      const members = Array.from({ length: spec.count }, (_, i) => `"k${i}":${value}`).join(",");
      if (!spec.spread) return intoTemplate(spec.template, `{${members}}`, false);
      // Spread into the enclosing object: `"more":"@GEN"` becomes the members themselves.
      const json = JSON.stringify(spec.template);
      const member = /"[^"]*":"@GEN"/.exec(json);
      if (member === null) throw new Error("keys.spread needs a member whose value is @GEN");
      return json.slice(0, member.index) + members + json.slice(member.index + member[0].length);
    }
    case "array": {
      const item = JSON.stringify(spec.item);
      return intoTemplate(
        spec.template,
        `[${Array.from({ length: spec.count }, () => item).join(",")}]`,
        false,
      );
    }
    default:
      throw new Error(`generator ${spec.kind} makes no text`);
  }
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}

/** One request to make: a case, or one prefix of a `prefixes` case. */
interface Runnable {
  title: string;
  c: Case;
  /** The body's bytes, or null for none (a stream is made when the request is). */
  bytes: () => Uint8Array | null;
  /** What a `full-body` signature signs (the whole body a prefix was cut from). */
  fullBody?: Uint8Array;
  /** Whether to look the case's job up afterwards (once per `prefixes` case, not per prefix). */
  checkJob: boolean;
}

function bodyOf(c: Case): () => Uint8Array | null {
  if (c.bodyBase64 !== undefined) return () => fromBase64(c.bodyBase64 as string);
  if (c.body !== undefined) {
    const text = typeof c.body === "string" ? c.body : JSON.stringify(c.body);
    return () => encoder.encode(text);
  }
  const spec = c.generate;
  if (spec === undefined || spec.kind === "stream" || c.endpoint === "read") return () => null;
  return () => encoder.encode(generatedText(spec));
}

function runnables(c: Case): Runnable[] {
  const title = c.name;
  if (c.generate?.kind !== "prefixes") return [{ title, c, bytes: bodyOf(c), checkJob: true }];
  const of = c.generate.of;
  const full = encoder.encode(typeof of === "string" ? of : JSON.stringify(of));
  const step = c.generate.step ?? 1;
  const out: Runnable[] = [];
  for (let length = 0; length < full.byteLength; length += step) {
    out.push({
      title: `${c.name}: ${length} of ${full.byteLength} bytes`,
      c,
      bytes: () => full.slice(0, length),
      fullBody: full,
      checkJob: length + step >= full.byteLength,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Extend signatures
// ---------------------------------------------------------------------------------------------

const TS = "x-extend-request-timestamp";
const SIG = "x-extend-request-signature";
const SECOND_SECRET = "wss_second_secret";
const UNKNOWN_SECRET = "wss_not_a_configured_secret";

async function hmac(secret: string, message: Uint8Array): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, message));
}

const hex = (bytes: Uint8Array) => [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");

/**
 * The signature headers for `mode` (a case's `sign`): `valid` signs as Extend does; the others
 * are the ways a signature goes missing, wrong or stale. Names follow the corpus files.
 */
async function signatureHeaders(
  mode: string,
  body: Uint8Array,
  fullBody: Uint8Array | undefined,
): Promise<Record<string, string>> {
  const now = nowSeconds();
  const at = (seconds: number) => String(seconds);
  const signed = async (timestamp: string, secret = EXTEND_SECRET, bytes = body) => ({
    [TS]: timestamp,
    [SIG]: await signExtend(secret, timestamp, bytes),
  });
  const withSignature = async (change: (signature: string) => string, timestamp = at(now)) => {
    const headers = await signed(timestamp);
    return { ...headers, [SIG]: change(headers[SIG] ?? "") };
  };
  const raw = async (prefix: string, encode: (mac: Uint8Array) => string = hex) => ({
    [TS]: at(now),
    [SIG]: encode(await hmac(EXTEND_SECRET, concat(encoder.encode(prefix), body))),
  });
  switch (mode) {
    case "valid":
      return signed(at(now));
    case "none":
      return {};
    case "stream":
      return signed(at(now), EXTEND_SECRET, encoder.encode("{}"));
    case "full-body":
      return signed(at(now), EXTEND_SECRET, fullBody ?? body);
    case "second-secret":
      return signed(at(now), SECOND_SECRET);
    case "missing-timestamp":
      return { [SIG]: (await signed(at(now)))[SIG] ?? "" };
    case "missing-signature":
      return { [TS]: at(now) };
    case "misspelt-headers": {
      const headers = await signed(at(now));
      return { "x-extend-timestamp": headers[TS] ?? "", "x-extend-signature": headers[SIG] ?? "" };
    }
    case "empty-timestamp":
      return { ...(await signed(at(now))), [TS]: "" };
    case "empty-signature":
      return { [TS]: at(now), [SIG]: "" };
    case "empty-both":
      return { [TS]: "", [SIG]: "" };
    case "flipped":
      return withSignature((s) => (s[0] === "0" ? "1" : "0") + s.slice(1));
    case "zeros":
      return { [TS]: at(now), [SIG]: "0".repeat(64) };
    case "wrong-secret":
      return signed(at(now), UNKNOWN_SECRET);
    case "unprefixed-secret":
      return signed(at(now), EXTEND_SECRET.replace(/^wss_/, ""));
    case "uppercased-secret":
      return signed(at(now), EXTEND_SECRET.toUpperCase());
    case "joined-secrets":
      return signed(at(now), `${EXTEND_SECRET},${SECOND_SECRET}`);
    case "space-secret":
      return signed(at(now), " ");
    case "other-body":
      return signed(
        at(now),
        EXTEND_SECRET,
        encoder.encode('{"eventId":"evt_other","eventType":"x","payload":{}}'),
      );
    case "reserialised": {
      const pretty = JSON.stringify(JSON.parse(new TextDecoder().decode(body)), null, 2);
      return signed(at(now), EXTEND_SECRET, encoder.encode(pretty));
    }
    case "body-plus-newline":
      return signed(at(now), EXTEND_SECRET, concat(body, encoder.encode("\n")));
    case "no-v0":
      return raw(`${now}:`);
    case "v1":
      return raw(`v1:${now}:`);
    case "dots":
      return raw(`v0.${now}.`);
    case "base64":
      return raw(`v0:${now}:`, (mac) => btoa(String.fromCharCode(...mac)));
    case "truncated":
      return withSignature((s) => s.slice(0, 63));
    case "extended":
      return withSignature((s) => `${s}0`);
    case "doubled":
      return withSignature((s) => s + s);
    case "non-hex":
      return { [TS]: at(now), [SIG]: "g".repeat(64) };
    case "one-g":
      return withSignature((s) => `g${s.slice(1)}`);
    case "del-char":
      return withSignature((s) => `\u007f${s.slice(1)}`);
    case "v0-prefix":
      return withSignature((s) => `v0=${s}`);
    case "sha256-prefix":
      return withSignature((s) => `sha256=${s}`);
    case "inner-space":
      return withSignature((s) => `${s.slice(0, 32)} ${s.slice(32)}`);
    case "repeated-signature":
      return withSignature((s) => `${s}, ${s}`);
    case "repeated-timestamp": {
      const headers = await signed(at(now));
      return { ...headers, [TS]: `${now}, ${now}` };
    }
    case "repeated-both": {
      const headers = await signed(at(now));
      return { [TS]: `${now}, ${now}`, [SIG]: `${headers[SIG]}, ${headers[SIG]}` };
    }
    case "uppercase":
      return withSignature((s) => s.toUpperCase());
    case "mixedcase":
      return withSignature((s) =>
        [...s].map((char, i) => (i % 2 === 0 ? char.toUpperCase() : char)).join(""),
      );
    case "uppercase-headers": {
      const headers = await signed(at(now));
      return { [TS.toUpperCase()]: headers[TS] ?? "", [SIG.toUpperCase()]: headers[SIG] ?? "" };
    }
    case "padded": {
      const headers = await signed(at(now));
      return { [TS]: ` ${headers[TS]} `, [SIG]: `  ${headers[SIG]}\t` };
    }
    case "fresh-past":
      return signed(at(now - 290));
    case "fresh-future":
      return signed(at(now + 45));
    case "ts-leading-zero":
      return signed(`0${now}`);
    case "stale":
      return signed(at(now - 330));
    case "stale-day":
      return signed(at(now - 86_400));
    case "future":
      return signed(at(now + 90));
    case "ts-ms":
      return signed(String(Date.now()));
    case "ts-zero":
      return signed("0");
    case "ts-negative":
      return signed("-100");
    case "ts-huge":
      return signed("99999999999999999999");
    case "stale-wrong-secret":
      return signed(at(now - 1000), UNKNOWN_SECRET);
    case "future-wrong-secret":
      return signed(at(now + 600), UNKNOWN_SECRET);
    case "stale-truncated":
      return withSignature((s) => s.slice(0, 63), at(now - 1000));
    case "timestamp-changed": {
      const headers = await signed(at(now - 20));
      return { ...headers, [TS]: at(now - 19) };
    }
    case "ts-decimal":
      return signed(`${now}.5`);
    case "ts-iso":
      return signed(new Date().toISOString());
    case "ts-letters":
      return signed("yesterday");
    case "ts-hex":
      return signed(`0x${now.toString(16)}`);
    case "ts-exponent":
      return signed(`${(now / 1e9).toFixed(9)}e9`);
    case "ts-tab":
      return signed(`${String(now).slice(0, 5)}\t${String(now).slice(5)}`);
    case "ts-plus":
      return signed(`+${now}`);
    default:
      throw new Error(`unknown sign mode ${mode}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Sending and checking
// ---------------------------------------------------------------------------------------------

/** What the whole file saw: the invariants at the end are checked against these. */
const seen = { quarantined: 0, storedKeys: new Set<string>() };

let readToken = "";
const scopedTokens = new Map<string, Promise<string>>();

function tokenFor(scope: { company?: string; source?: string }): Promise<string> {
  const key = JSON.stringify(scope);
  let token = scopedTokens.get(key);
  if (token === undefined) {
    token = createToken(scope);
    scopedTokens.set(key, token);
  }
  return token;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const isWellFormed = (text: string) => !LONE_SURROGATE.test(text);
/** What a lone surrogate becomes once stored as UTF-8 text (U+FFFD), for comparing key sets. */
const wellFormed = (text: string) =>
  text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");

interface Sent {
  response: Response;
  bytes: Uint8Array | null;
  stream?: ReturnType<typeof lazyStream>;
}

async function sendIngest(run: Runnable): Promise<Sent> {
  const { c } = run;
  const method = c.method ?? "POST";
  const noBody = method.toUpperCase() === "GET" || method.toUpperCase() === "HEAD";
  const stream = c.generate?.kind === "stream" ? lazyStream(c.generate.bytes) : undefined;
  const bytes = run.bytes();
  const headers: Record<string, string> = {};
  if (c.endpoint === "extend") {
    Object.assign(
      headers,
      await signatureHeaders(c.sign ?? "valid", bytes ?? new Uint8Array(), run.fullBody),
    );
  }
  if (bytes !== null || stream !== undefined) headers["content-type"] = "application/json";
  Object.assign(headers, c.headers);
  let path = c.path;
  if (path === undefined) {
    const token = c.token === undefined ? ALFRED_TOKEN : c.token;
    path =
      c.endpoint === "extend"
        ? "/webhooks/extend"
        : token === null
          ? "/webhooks/alfred"
          : `/webhooks/alfred/${token}`;
  }
  const init: RequestInit & { duplex?: "half" } = { method, headers };
  if (!noBody && stream !== undefined) {
    init.body = stream.stream;
    init.duplex = "half";
  } else if (!noBody && bytes !== null) {
    init.body = bytes;
  }
  const request = new Request(`${BASE}${path}`, init);
  const response = c.transport === "worker" ? await sendToWorker(request) : await SELF.fetch(request);
  return { response, bytes, stream };
}

function parsedOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function errorCodeOf(json: unknown): string | null {
  const code = (json as { error?: { code?: unknown } } | null)?.error?.code;
  return typeof code === "string" ? code : null;
}

function outcomesOf(expectation: Expectation): Outcome[] {
  return "anyOf" in expectation ? expectation.anyOf : [expectation];
}

/** The allowed outcome with the answer's status and (for errors) code, or a failure naming both. */
function pickOutcome(expectation: Expectation, status: number, code: string | null, text: string): Outcome {
  const outcomes = outcomesOf(expectation);
  const match = outcomes.find(
    (o) =>
      o.status === status &&
      (o.code === undefined || code === null || (Array.isArray(o.code) ? o.code : [o.code]).includes(code)),
  );
  if (match === undefined) {
    const allowed = outcomes.map((o) => `${o.status}${o.code === undefined ? "" : ` ${String(o.code)}`}`);
    expect.fail(`answered ${status} ${text.slice(0, 300)}; the contract says ${allowed.join(" or ")}`);
  }
  return match;
}

function expectErrorEnvelope(response: Response, text: string, outcome: Outcome, method: string): void {
  if (method.toUpperCase() === "HEAD") return;
  expect(response.headers.get("content-type"), "an error is JSON").toMatch(/^application\/json/);
  const body = JSON.parse(text) as { error: { code: string; message: string } };
  expect(body).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
  const codes = outcome.code === undefined ? [] : Array.isArray(outcome.code) ? outcome.code : [outcome.code];
  if (codes.length > 0) expect(codes).toContain(body.error.code);
}

async function jobKeyStatus(jobKey: string): Promise<number> {
  const response = await apiGet(`/v1/jobs/${encodeURIComponent(jobKey)}`, readToken);
  await response.body?.cancel();
  return response.status;
}

/** A 200 stored answer: the job and the raw event, byte for byte, are there to read. */
async function expectStored(run: Runnable, text: string, bytes: Uint8Array | null, outcome: Outcome) {
  const answer = JSON.parse(text) as { ok: boolean; eventId: string; jobKey: string; duplicate: boolean };
  expect(answer).toEqual({
    ok: true,
    eventId: expect.any(String),
    jobKey: expect.any(String),
    duplicate: false,
  });
  if (run.c.jobKey !== undefined) expect(answer.jobKey).toBe(run.c.jobKey);
  if (run.c.eventId !== undefined) expect(answer.eventId).toBe(run.c.eventId);
  // Everything that got a 2xx can be read back (CONTRACT §3.3); a key or an event id with a lone
  // surrogate has no UTF-8 form, so no URL names it.
  expect(
    isWellFormed(answer.jobKey),
    `stored under a key no URL can name: ${JSON.stringify(answer.jobKey)}`,
  ).toBe(true);
  expect(
    isWellFormed(answer.eventId),
    `stored under an event id no URL can name: ${JSON.stringify(answer.eventId)}`,
  ).toBe(true);
  const key = encodeURIComponent(answer.jobKey);
  const detailResponse = await apiGet(`/v1/jobs/${key}`, readToken);
  const detailText = await detailResponse.text();
  expect(detailResponse.status, `GET /v1/jobs/<key> of a stored event: ${detailText.slice(0, 300)}`).toBe(
    200,
  );
  const detail = JSON.parse(detailText) as { jobKey: string; history: { eventId: string }[] };
  expect(detail.jobKey).toBe(answer.jobKey);
  expect(detail.history.map((entry) => entry.eventId)).toContain(answer.eventId);
  if (outcome.detail !== undefined) expect(detail).toMatchObject(outcome.detail);
  const raw = await apiGet(`/v1/jobs/${key}/events/${encodeURIComponent(answer.eventId)}`, readToken);
  expect(raw.status, "the raw event of a stored delivery").toBe(200);
  expect(raw.headers.get("content-type")).toMatch(/^application\/json/);
  if (bytes !== null) expectSameBytes(await bodyBytes(raw), bytes);
  else await raw.body?.cancel();
}

/**
 * A 202: the body, byte for byte, is in the quarantine. That nothing else was stored is checked once
 * for the whole file (the jobs list holds only the jobs that got a 200): looking each job up here
 * would create a Durable Object per case and double the file's time.
 */
async function expectQuarantined(text: string, bytes: Uint8Array | null) {
  const answer = JSON.parse(text) as { quarantineId: string };
  expect(answer).toEqual({ ok: true, quarantined: true, quarantineId: expect.any(String) });
  const raw = await apiGet(`/v1/quarantine/${encodeURIComponent(answer.quarantineId)}`, readToken);
  expect(raw.status, "the quarantined body").toBe(200);
  if (bytes !== null) expectSameBytes(await bodyBytes(raw), bytes);
  else await raw.body?.cancel();
}

async function runIngest(run: Runnable): Promise<void> {
  const { response, bytes, stream } = await sendIngest(run);
  const text = await response.text();
  const json = parsedOrNull(text) as { jobKey?: unknown; error?: { code?: unknown } } | null;
  // Counted before anything is checked, so the invariants at the end see every answer.
  if (response.status === 202) seen.quarantined++;
  if (response.status === 200 && typeof json?.jobKey === "string")
    seen.storedKeys.add(wellFormed(json.jobKey));
  const outcome = pickOutcome(run.c.expect, response.status, errorCodeOf(json), text);
  if (stream !== undefined) {
    if (outcome.drained)
      expect(stream.state.pulled, "the over-limit body was drained").toBeGreaterThanOrEqual(stream.total);
    if (outcome.maxBytesRead !== undefined)
      expect(stream.state.pulled).toBeLessThanOrEqual(outcome.maxBytesRead);
  }
  if (outcome.stored) return expectStored(run, text, bytes, outcome);
  if (outcome.quarantined) return expectQuarantined(text, bytes);
  if (outcome.challenge) {
    const sent = JSON.parse(new TextDecoder().decode(bytes ?? new Uint8Array())) as { challenge: unknown };
    expect(JSON.parse(text)).toEqual({ challenge: sent.challenge });
  } else {
    expectErrorEnvelope(response, text, outcome, run.c.method ?? "POST");
  }
  // Refused: whatever job the body names was not stored.
  if (run.checkJob && run.c.jobKey !== undefined) {
    expect(await jobKeyStatus(run.c.jobKey), "a refused job").toBe(404);
  }
}

async function authorization(auth: Auth | undefined): Promise<string | null> {
  if (auth === undefined) return `Bearer ${readToken}`;
  if (auth === "none") return null;
  if ("header" in auth) return auth.header;
  return `Bearer ${await tokenFor(auth)}`;
}

/** The read baseline (stored before the read cases run) that some of them look up. */
const READ_BASE = {
  extend: {
    eventId: "evt_read_base",
    eventType: "classify_run.processed",
    payload: {
      object: "classify_run",
      id: "clr_read_base",
      status: "PROCESSED",
      updatedAt: "2026-02-10T10:00:00Z",
    },
  },
  alfred: {
    event_id: "ev-read-base",
    event_type: "job_event_type",
    event_time: "1653139800.00",
    event: { event_name: "job_start_event", job_id: "read-base", company_id: "read-co" },
  },
  keys: ["extend:classify_run:clr_read_base", "alfred:job:read-base"],
};

async function runRead(run: Runnable): Promise<void> {
  const { c } = run;
  let path = c.path ?? "/";
  if (c.generate?.kind === "fill") path = path.replace(PLACEHOLDER, c.generate.unit.repeat(c.generate.count));
  const header = await authorization(c.auth);
  const response = await SELF.fetch(`${BASE}${path}`, {
    method: c.method ?? "GET",
    headers: header === null ? {} : { authorization: header },
  });
  const text = await response.text();
  const outcome = pickOutcome(c.expect, response.status, errorCodeOf(parsedOrNull(text)), text);
  if (response.status >= 400) return expectErrorEnvelope(response, text, outcome, c.method ?? "GET");
  if (outcome.raw) {
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(text).toBe(JSON.stringify(READ_BASE.extend));
    return;
  }
  const body = JSON.parse(text) as { jobKey?: string; data?: Record<string, unknown>[] };
  if (outcome.jobKey !== undefined) expect(body.jobKey).toBe(outcome.jobKey);
  const data = body.data ?? [];
  if (outcome.empty)
    expect(
      data.map((item) => item.jobKey),
      "no job matches",
    ).toEqual([]);
  if (outcome.maxItems !== undefined) expect(data.length).toBeLessThanOrEqual(outcome.maxItems);
  if (outcome.minItems !== undefined) expect(data.length).toBeGreaterThanOrEqual(outcome.minItems);
  if (outcome.every !== undefined) for (const item of data) expect(item).toMatchObject(outcome.every);
  const times = data.map((item) => ({ jobKey: item.jobKey, at: Date.parse(String(item.lastEventAt)) }));
  const after = outcome.lastEventAfter;
  if (after !== undefined) expect(times.filter((item) => !(item.at > Date.parse(after)))).toEqual([]);
  const before = outcome.lastEventBefore;
  if (before !== undefined) expect(times.filter((item) => !(item.at < Date.parse(before)))).toEqual([]);
}

/** Every job key in the list (D1), following cursors. */
async function listedJobKeys(): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `?limit=200${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`;
    const response = await apiGet(`/v1/jobs${query}`, readToken);
    if (response.status !== 200) throw new Error(`GET /v1/jobs answered ${response.status}`);
    const page = (await response.json()) as { data: { jobKey: string }[]; nextCursor: string | null };
    keys.push(...page.data.map((item) => wellFormed(item.jobKey)));
    cursor = page.nextCursor;
  } while (cursor !== null);
  return keys;
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

function checkCorpus(cases: Case[]): void {
  const names = new Set<string>();
  const keys = new Map<string, string>();
  for (const c of cases) {
    if (names.has(`${c.endpoint} ${c.name}`)) throw new Error(`two cases named ${c.name}`);
    names.add(`${c.endpoint} ${c.name}`);
    if (c.endpoint !== "read" && c.jobKey !== undefined) {
      const other = keys.get(c.jobKey);
      if (other !== undefined) throw new Error(`cases "${other}" and "${c.name}" share job ${c.jobKey}`);
      keys.set(c.jobKey, c.name);
    }
  }
}

function familiesOf(endpoint: Endpoint): Map<string, Runnable[]> {
  const families = new Map<string, Runnable[]>();
  for (const c of CORPUS.filter((item) => item.endpoint === endpoint)) {
    const list = families.get(c.family) ?? [];
    list.push(...runnables(c));
    families.set(c.family, list);
  }
  return families;
}

function caseTests(endpoint: Endpoint, run: (runnable: Runnable) => Promise<void>): void {
  for (const [family, list] of familiesOf(endpoint)) {
    // Cases are independent (each has its own job), so a family runs a few at a time.
    describe.concurrent(family, () => {
      for (const runnable of list) {
        const { knownBug } = runnable.c;
        if (knownBug !== undefined) it.skip(`${runnable.title} — KNOWN BUG: ${knownBug}`, () => {});
        else it(runnable.title, () => run(runnable));
      }
    });
  }
}

describe("hostile-input corpus", { timeout: 60_000 }, () => {
  checkCorpus(CORPUS);

  beforeAll(async () => {
    readToken = await createToken();
  });

  describe("POST /webhooks/extend", () => caseTests("extend", runIngest));
  describe("POST /webhooks/alfred/:token", () => caseTests("alfred", runIngest));

  describe("read API", () => {
    beforeAll(async () => {
      const extend = JSON.stringify(READ_BASE.extend);
      const extendResponse = await SELF.fetch(`${BASE}/webhooks/extend`, {
        method: "POST",
        headers: await signatureHeaders("valid", encoder.encode(extend), undefined),
        body: extend,
      });
      const alfredResponse = await SELF.fetch(`${BASE}/webhooks/alfred/${ALFRED_TOKEN}`, {
        method: "POST",
        body: JSON.stringify(READ_BASE.alfred),
      });
      expect([extendResponse.status, alfredResponse.status]).toEqual([200, 200]);
      for (const key of READ_BASE.keys) seen.storedKeys.add(key);
      // The list reads D1, fed after the answer: wait until both are listed.
      await eventually(async () =>
        expect(await listedJobKeys()).toEqual(expect.arrayContaining(READ_BASE.keys)),
      );
    });
    caseTests("read", runRead);
  });

  describe("afterwards", () => {
    it("every 202 left one quarantine entry, and nothing else was quarantined", async () => {
      expect((await allQuarantine(readToken)).length).toBe(seen.quarantined);
    });

    it("the jobs list holds exactly the jobs that got a 200: nothing refused or quarantined was stored", async () => {
      const expected = [...seen.storedKeys].sort();
      await eventually(async () => expect((await listedJobKeys()).sort()).toEqual(expected));
    });
  });
});

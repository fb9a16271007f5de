/**
 * @module fast-check arbitraries for fuzzing the vendor parsers: deliveries of every Extend (38)
 * and Alfred (24) event type, built from the realistic fixtures and then edited — any field (the
 * schemas' own field names, the fixture's nested ones, invented ones) set to a hostile value of any
 * type, deleted, or added — and then mutated as bytes: bits flipped, bytes inserted or deleted,
 * truncated, keys duplicated, values nested deep, a BOM in front. Every body carries fresh job and
 * event ids so that a long run spreads over many jobs instead of growing a few without bound.
 */
import fc from "fast-check";
import * as alfredSchemas from "../../src/vendors/alfred/schema";
import * as extendSchemas from "../../src/vendors/extend/schema";
import { ALL_EVENTS, alfredEvent, SPELLINGS, TYPINGS } from "../fixtures/alfred/events";
import { EXTEND_FIXTURE_LIST } from "../fixtures/extend/events";
import { concat } from "../helpers";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The field names a vendor's valibot object schemas declare (top level of each schema). */
function schemaFieldNames(module: Record<string, unknown>): string[] {
  const names = new Set<string>();
  for (const schema of Object.values(module)) {
    if (typeof schema === "object" && schema !== null && "entries" in schema) {
      const entries = (schema as { entries: unknown }).entries;
      if (typeof entries === "object" && entries !== null)
        for (const key of Object.keys(entries)) names.add(key);
    }
  }
  return [...names].sort();
}

export const EXTEND_FIELDS = schemaFieldNames(extendSchemas);
export const ALFRED_FIELDS = schemaFieldNames(alfredSchemas);

/** Text a parser could stumble on: prototype names, separators, unpaired surrogates, control characters. */
const NASTY_STRINGS = [
  "",
  " ",
  "\t\n",
  "\u0000",
  "\ud800",
  "\udc00",
  "a\ud83d",
  "\udfffz",
  "😀",
  "e\u0301",
  "\u202e",
  "\ufeff",
  "\u2028",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "valueOf",
  ":",
  "a:b",
  "/",
  "../..",
  "%2F",
  "%",
  "?x=1#y",
  ".",
  "..processed",
  ".failed",
  "null",
  "true",
  "0",
  "-0",
  "1e400",
  "NaN",
  "Infinity",
  "0x10",
  " 12 ",
  "1653139800.00",
  "253402300800",
  "signed_data_url",
  "https://example.invalid/payload.json",
  "completed",
  "failed",
  "invalid",
  "queued",
  "COMPLETED",
  "done",
  "FAILED",
  "2026-02-10T10:00:00Z",
  "2026-02-10",
  "...",
  "+275760-09-13T00:00:00Z",
  "-271821-04-20T00:00:00Z",
  "+010000-01-01T00:00:00Z",
  "-000001-01-01T00:00:00Z",
  "0000-01-01T00:00:00Z",
  "9999-12-31T23:59:59.999Z",
  "Sat, 01 Jan 20000 00:00:00 GMT",
  "1/1/-1",
  "' OR 1=1 --",
  "<script>alert(1)</script>",
];

const NASTY_NUMBERS = [
  0,
  -0,
  -1,
  0.5,
  1e-7,
  1653139800,
  1653139800.999,
  253402300799,
  253402300800,
  2 ** 31,
  2 ** 53 + 2,
  -(2 ** 53),
  1e21,
  1e308,
  -1e308,
  5e-324,
];

export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom("x", "é", "😀", "\ud800", "ab:"), fc.integer({ min: 100, max: 3000 }))
      .map(([unit, times]) => unit.repeat(times)),
  },
);

const nastyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(...NASTY_NUMBERS),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Any JSON value, leaning on the ones that break parsers. */
export const nastyValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 5, arbitrary: nastyString },
  { weight: 3, arbitrary: nastyNumber },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.array(nastyString, { maxLength: 4 }) },
  {
    weight: 1,
    arbitrary: fc.dictionary(nastyString, nastyString, { maxKeys: 3 }) as fc.Arbitrary<Json>,
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> },
);

/** A key for an added field: a schema's field name, a prototype name, or any text. */
function fieldKey(fields: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...fields) },
    { weight: 1, arbitrary: fc.constantFrom("__proto__", "constructor", "toString", "", "object", "id") },
    { weight: 1, arbitrary: nastyString },
  );
}

// ---------------------------------------------------------------------------------------------
// Field edits on a parsed body
// ---------------------------------------------------------------------------------------------

/** One edit: at `path` (object keys from the root), set a value or delete the field. */
export type Edit = { path: string[]; op: "set"; value: Json } | { path: string[]; op: "delete" };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Every path to an object member of `value`, up to `depth` levels down. */
function memberPaths(value: unknown, depth: number, prefix: string[] = []): string[][] {
  if (!isRecord(value) || depth === 0) return [];
  return Object.keys(value).flatMap((key) => [
    [...prefix, key],
    ...memberPaths(value[key], depth - 1, [...prefix, key]),
  ]);
}

/** The paths to the objects of `value` (where a new field can go), up to `depth` levels down. */
function objectPaths(value: unknown, depth: number, prefix: string[] = []): string[][] {
  if (!isRecord(value)) return [];
  if (depth === 0) return [prefix];
  return [
    prefix,
    ...Object.keys(value).flatMap((key) => objectPaths(value[key], depth - 1, [...prefix, key])),
  ];
}

/** Applies edits to a copy of `body`; an edit whose parent is no longer an object is dropped. */
export function applyEdits(body: Json, edits: readonly Edit[]): Json {
  const copy = structuredClone(body);
  for (const edit of edits) {
    let parent: unknown = copy;
    for (const key of edit.path.slice(0, -1)) parent = isRecord(parent) ? parent[key] : undefined;
    const last = edit.path.at(-1);
    if (!isRecord(parent) || last === undefined) continue;
    if (edit.op === "delete") delete parent[last];
    // An own property even for `__proto__`, as JSON.parse would make it.
    else
      Object.defineProperty(parent, last, {
        value: edit.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return copy;
}

/** 0–4 edits of `base`: existing members set or deleted, schema fields or invented ones added. */
function editsOf(base: Json, fields: readonly string[]): fc.Arbitrary<Edit[]> {
  const members = memberPaths(base, 3);
  const objects = objectPaths(base, 2);
  // A body that is not an object (a number, a list) has nothing to edit.
  if (members.length === 0 || objects.length === 0) return fc.constant([]);
  const edit: fc.Arbitrary<Edit> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.constantFrom(...members), nastyValue)
        .map(([path, value]): Edit => ({ path, op: "set", value })),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(...members).map((path): Edit => ({ path, op: "delete" })),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.constantFrom(...objects), fieldKey(fields), nastyValue)
        .map(([path, key, value]): Edit => ({ path: [...path, key], op: "set", value })),
    },
  );
  return fc.array(edit, { maxLength: 4 });
}

// ---------------------------------------------------------------------------------------------
// Byte-level mutations of a serialized body
// ---------------------------------------------------------------------------------------------

export type Mutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "insert"; at: number; bytes: readonly number[] }
  | { kind: "delete"; at: number; length: number }
  | { kind: "truncate"; at: number }
  | { kind: "duplicateKey"; at: number; key: string; value: Json; last: boolean }
  | { kind: "nest"; at: number; depth: number; shape: "array" | "object"; closed: boolean }
  | { kind: "bom" };

const encoder = new TextEncoder();

/** The `n`-th (mod count) index in `text` where `char` occurs, or -1. */
function nthIndexOf(text: string, char: string, n: number): number {
  const found: number[] = [];
  for (let i = text.indexOf(char); i !== -1; i = text.indexOf(char, i + 1)) found.push(i);
  return found.length === 0 ? -1 : (found[n % found.length] ?? -1);
}

/** Text-level mutations first (they need the JSON text), then byte-level ones, in order. */
export function applyMutations(text: string, mutations: readonly Mutation[]): Uint8Array {
  let out = text;
  for (const m of mutations) {
    if (m.kind === "duplicateKey") {
      // `{"k":v,` right after an opening brace (the original wins), or `,"k":v` before a closing one.
      const member = `${JSON.stringify(m.key)}:${JSON.stringify(m.value)}`;
      const at = nthIndexOf(out, m.last ? "}" : "{", m.at);
      if (at !== -1)
        out = m.last
          ? `${out.slice(0, at)},${member}${out.slice(at)}`
          : `${out.slice(0, at + 1)}${member},${out.slice(at + 1)}`;
    } else if (m.kind === "nest") {
      // The value after the n-th colon wrapped in `depth` arrays or objects (or only their opening half).
      const at = nthIndexOf(out, ":", m.at);
      const [open, close] = m.shape === "array" ? ["[", "]"] : ['{"a":', "}"];
      if (at !== -1) {
        const end = findValueEnd(out, at + 1);
        const inner = out.slice(at + 1, end);
        out = `${out.slice(0, at + 1)}${open.repeat(m.depth)}${inner}${m.closed ? close.repeat(m.depth) : ""}${out.slice(end)}`;
      }
    }
  }
  let bytes = encoder.encode(out);
  for (const m of mutations) {
    const length = bytes.byteLength;
    switch (m.kind) {
      case "flip": {
        if (length === 0) break;
        const copy = bytes.slice();
        const at = m.at % length;
        copy[at] = (copy[at] ?? 0) ^ (1 << m.bit);
        bytes = copy;
        break;
      }
      case "insert": {
        const at = length === 0 ? 0 : m.at % (length + 1);
        bytes = concat(bytes.subarray(0, at), Uint8Array.from(m.bytes), bytes.subarray(at));
        break;
      }
      case "delete": {
        if (length === 0) break;
        const at = m.at % length;
        bytes = concat(bytes.subarray(0, at), bytes.subarray(at + m.length));
        break;
      }
      case "truncate":
        bytes = bytes.subarray(0, length === 0 ? 0 : m.at % length);
        break;
      case "bom":
        bytes = concat(Uint8Array.of(0xef, 0xbb, 0xbf), bytes);
        break;
      default:
        break;
    }
  }
  return bytes;
}

/** Where the JSON value starting at `from` ends (a scalar, string, array or object), roughly. */
function findValueEnd(text: string, from: number): number {
  let depth = 0;
  let inString = false;
  for (let i = from; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === "\\") i++;
      else if (char === '"') {
        inString = false;
        if (depth === 0) return i + 1;
      }
    } else if (char === '"') inString = true;
    else if (char === "{" || char === "[") depth++;
    else if (char === "}" || char === "]") {
      if (depth === 0) return i;
      depth--;
      if (depth === 0) return i + 1;
    } else if (char === "," && depth === 0) return i;
  }
  return text.length;
}

function mutationOf(fields: readonly string[], maxDepth: number): fc.Arbitrary<Mutation> {
  const at = fc.nat({ max: 1_000_000 });
  return fc.oneof(
    fc.record({ kind: fc.constant("flip" as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({
      kind: fc.constant("insert" as const),
      at,
      bytes: fc.oneof(
        fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 4 }),
        fc.constantFrom([0x22], [0x5c], [0x2c], [0x7b], [0x5d], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0x00]),
      ),
    }),
    fc.record({ kind: fc.constant("delete" as const), at, length: fc.integer({ min: 1, max: 16 }) }),
    fc.record({ kind: fc.constant("truncate" as const), at }),
    fc.record({
      kind: fc.constant("duplicateKey" as const),
      at,
      key: fieldKey(fields),
      value: nastyValue,
      last: fc.boolean(),
    }),
    fc.record({
      kind: fc.constant("nest" as const),
      at,
      depth: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: maxDepth })),
      shape: fc.constantFrom("array" as const, "object" as const),
      closed: fc.boolean(),
    }),
    fc.constant({ kind: "bom" as const }),
  );
}

// ---------------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------------

export interface FuzzBody {
  /** What was built, for the counterexample: the base event type and the edits and mutations. */
  label: string;
  edits: Edit[];
  mutations: Mutation[];
  bytes: Uint8Array;
}

export interface BodyOptions {
  /** Deepest nesting a mutation adds. */
  maxDepth: number;
}

/** A fresh id (deterministic under the run's seed). */
const freshId = fc.uuid().map((uuid) => uuid.replaceAll("-", "").slice(0, 20));

/** An Extend event type: mostly the 38 known, else an unknown, a misspelt or a hostile one. */
const extendEventType = (known: string): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 12, arbitrary: fc.constant(known) },
    { weight: 1, arbitrary: fc.constant(known.toUpperCase()) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.constantFrom(
            "workflow_run",
            "workflow_run.step_run",
            "extract_run",
            "widget",
            "",
            "a:b",
            "__proto__",
          ),
          fc.constantFrom("processed", "failed", "created", "deleted", "constructor", "__proto__", "", "x.y"),
        )
        .map(([family, verb]) => `${family}.${verb}`),
    },
    { weight: 1, arbitrary: nastyString },
  );

/** A base Extend delivery of one of the 38 types, with fresh ids. */
const extendEvent: fc.Arbitrary<{ label: string; body: Json }> = fc
  .tuple(fc.constantFrom(...EXTEND_FIXTURE_LIST), freshId, freshId)
  .chain(([fixture, jobId, eventId]) =>
    extendEventType(fixture.eventType).map((eventType) => {
      const payload = structuredClone(fixture.payload) as { [key: string]: Json };
      payload[fixture.jobIdField] = `${fixture.kind}_fz_${jobId}`;
      if (fixture.jobIdField !== "id") payload.id = `sub_fz_${jobId}`;
      return {
        label: `extend ${fixture.eventType} as ${JSON.stringify(eventType)}`,
        body: { eventId: `evt_fz_${eventId}`, eventType, payload },
      };
    }),
  );

/** A large payload sent as a signed URL (vendors/extend.md §2.2): the adapter fetches it. */
const extendSignedUrl: fc.Arbitrary<{ label: string; body: Json }> = fc
  .tuple(fc.constantFrom(...EXTEND_FIXTURE_LIST), freshId, fc.boolean())
  .map(([fixture, eventId, tagged]) => ({
    label: `extend ${fixture.eventType} as a signed URL`,
    body: {
      eventId: `evt_fz_${eventId}`,
      eventType: fixture.eventType,
      payload: {
        ...(tagged ? { object: "signed_data_url" } : {}),
        data: `https://payloads.example.invalid/${eventId}.json`,
      },
    },
  }));

/** Any JSON at all as the whole body: a number, a string, a list, an object of anything. */
const anyBody: fc.Arbitrary<{ label: string; body: Json }> = nastyValue.map((body) => ({
  label: "any JSON",
  body,
}));

const extendBase = fc.oneof(
  { weight: 12, arbitrary: extendEvent },
  { weight: 1, arbitrary: extendSignedUrl },
  { weight: 1, arbitrary: anyBody },
);

/** A base Alfred delivery of one of the 24 events (any spelling and typing), or a handshake. */
const alfredBase: fc.Arbitrary<{ label: string; body: Json }> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc
      .record({
        name: fc.constantFrom(...ALL_EVENTS),
        spelling: fc.constantFrom(...SPELLINGS),
        typed: fc.constantFrom(...TYPINGS),
        jobId: freshId,
        fileId: freshId,
        eventId: freshId,
        time: fc.oneof(fc.constant(1_653_139_800), fc.integer({ min: 0, max: 4_000_000_000 })),
      })
      .map(({ name, spelling, typed, jobId, fileId, eventId, time }) => ({
        label: `alfred ${name} (${spelling}, ${typed})`,
        body: alfredEvent(name, {
          spelling,
          typed,
          time,
          jobId: `job-fz-${jobId}`,
          fileId: `file-fz-${fileId}`,
          eventId: `evt-fz-${eventId}`,
        }) as unknown as Json,
      })),
  },
  { weight: 1, arbitrary: anyBody },
  {
    weight: 1,
    arbitrary: fc.record({ challenge: nastyString, token: nastyValue }).map(({ challenge, token }) => ({
      label: "alfred url_verification",
      body: { type: "url_verification", challenge, token },
    })),
  },
);

/** The fields a Standard Webhooks body has (the open spec's envelope and the `data` we read). */
export const STANDARD_FIELDS = ["type", "timestamp", "data", "id", "status"];

/** A base Standard Webhooks body: `{type: <kind>.<verb>, timestamp?, data: {id, status?}}`. */
const standardBase: fc.Arbitrary<{ label: string; body: Json }> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc
      .record({
        kind: fc.oneof(fc.constantFrom("export", "invoice", "run", "a.b", "x:y", ""), nastyString),
        verb: fc.constantFrom(
          "created",
          "queued",
          "started",
          "processing",
          "updated",
          "completed",
          "succeeded",
          "failed",
          "cancelled",
          "canceled",
          "deleted",
          "paid",
          "",
        ),
        id: fc.oneof(freshId, fc.integer().map(String)),
        // Any time the spec's ISO string can hold (years −271821 to 275760), or none.
        timestamp: fc.option(
          fc.integer({ min: -8.64e15, max: 8.64e15 }).map((ms) => new Date(ms).toISOString()),
          { nil: undefined },
        ),
        status: fc.option(nastyString, { nil: undefined }),
      })
      .map(({ kind, verb, id, timestamp, status }) => {
        const body: Record<string, Json> = {
          type: `${kind}.${verb}`,
          data: status === undefined ? { id: `fz_${id}` } : { id: `fz_${id}`, status },
        };
        if (timestamp !== undefined) body.timestamp = timestamp;
        return { label: `standard ${kind}.${verb}`, body };
      }),
  },
  { weight: 1, arbitrary: anyBody },
);

function bodyOf(
  base: fc.Arbitrary<{ label: string; body: Json }>,
  fields: readonly string[],
  options: BodyOptions,
): fc.Arbitrary<FuzzBody> {
  return base.chain(({ label, body }) =>
    fc
      .tuple(
        editsOf(body, fields),
        fc.oneof(
          // Most bodies stay well-formed JSON, so edited values reach the normalizer and the ledger.
          { weight: 4, arbitrary: fc.constant([] as Mutation[]) },
          {
            weight: 1,
            arbitrary: fc.array(mutationOf(fields, options.maxDepth), { minLength: 1, maxLength: 3 }),
          },
        ),
      )
      .map(([edits, mutations]) => {
        const built: FuzzBody = {
          label,
          edits,
          mutations,
          bytes: applyMutations(JSON.stringify(applyEdits(body, edits)), mutations),
        };
        // fast-check prints a counterexample with this: the body as text, not a list of byte values.
        return Object.assign(built, { [fc.toStringMethod]: () => describeBody(built) });
      }),
  );
}

/** An Extend webhook body: one of the 38 types, edited, perhaps mutated as bytes. */
export function extendBody(options: BodyOptions): fc.Arbitrary<FuzzBody> {
  return bodyOf(extendBase, EXTEND_FIELDS, options);
}

/** An Alfred webhook body: one of the 24 events or a handshake, edited, perhaps mutated as bytes. */
export function alfredBody(options: BodyOptions): fc.Arbitrary<FuzzBody> {
  return bodyOf(alfredBase, ALFRED_FIELDS, options);
}

/** A Standard Webhooks body: `<kind>.<verb>` of any kind, edited, perhaps mutated as bytes. */
export function standardBody(options: BodyOptions): fc.Arbitrary<FuzzBody> {
  return bodyOf(standardBase, STANDARD_FIELDS, options);
}

/** What a signed payload URL answers in the parser property (the adapter's outbound fetch seam). */
export type FetchedAnswer =
  | { kind: "body"; status: number; body: FuzzBody }
  | { kind: "throws"; message: string };

export function fetchedAnswer(options: BodyOptions): fc.Arbitrary<FetchedAnswer> {
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.constantFrom(200, 200, 200, 404, 500), extendBody(options))
        .map(([status, body]): FetchedAnswer => ({ kind: "body", status, body })),
    },
    { weight: 1, arbitrary: nastyString.map((message): FetchedAnswer => ({ kind: "throws", message })) },
  );
}

/** A short, printable account of a body for a counterexample. */
export function describeBody(body: FuzzBody): string {
  const text = new TextDecoder().decode(body.bytes);
  const shown = text.length > 600 ? `${text.slice(0, 600)}… (${body.bytes.byteLength} bytes)` : text;
  return JSON.stringify({ label: body.label, edits: body.edits, mutations: body.mutations, text: shown });
}

/**
 * @module Standard Webhooks payloads → {@link NormalizedEvent}. The spec fixes only the common
 * shape `{ "type": "<kind>.<verb>", "timestamp": ISO 8601, "data": { … } }`, so the rule is generic:
 * the job is `standard:<kind>:<data.id>` (kind: `type` before its first dot), the event id is the
 * `webhook-id` header, and the last dot-separated word of `type` sets the status when it is a word
 * of a known lifecycle; any other type is a history entry that leaves the status as it is.
 */
import * as v from "valibot";
import type { Issue } from "../../core/vocabulary";
import { isTerminalStatus, type NormalizedEvent, type Status } from "../../core/vocabulary";
import { isShowableTime, lookup, toIssues } from "../index";

/** Ids and types longer than this are not an identifier anyone sends. */
export const MAX_ID_LENGTH = 1024;

const text = (what: string) =>
  v.pipe(
    v.string(),
    v.minLength(1, `${what} must be a non-empty string`),
    v.maxLength(MAX_ID_LENGTH, `${what} must be at most ${MAX_ID_LENGTH} characters`),
  );

export const payloadSchema = v.looseObject({
  type: v.pipe(
    text("type"),
    // The kind is the middle part of a job key (`source:kind:id`), so it cannot hold a colon.
    v.check((type) => !(type.split(".")[0] ?? "").includes(":"), "type's first part cannot hold a colon"),
    v.check((type) => !type.startsWith("."), "type must start with its kind, before any dot"),
  ),
  /**
   * When the event happened: an ISO 8601 string in the spec. Any other value, or a string that does
   * not parse, is kept in the body and ignored for ordering (the header's timestamp is used), as
   * Extend's times are: the payload still has the contract's shape, and the event still counts.
   */
  timestamp: v.optional(v.unknown()),
  data: v.looseObject({
    // Ids are opaque: a number is taken as its decimal text.
    id: v.union(
      [text("data.id"), v.pipe(v.number(), v.safeInteger(), v.transform(String))],
      "data.id must be a non-empty string or an integer",
    ),
    name: v.optional(v.unknown()),
    status: v.optional(v.unknown()),
  }),
});

/** What a verb means for its job: the status it sets and its lifecycle step (ties, CONTRACT §4). */
interface Outcome {
  status: Status;
  rank: number;
}

const PENDING: Outcome = { status: "pending", rank: 0 };
const PROCESSING: Outcome = { status: "processing", rank: 1 };
const SUCCEEDED: Outcome = { status: "succeeded", rank: 4 };
const FAILED: Outcome = { status: "failed", rank: 4 };
const CANCELLED: Outcome = { status: "cancelled", rank: 4 };
const DELETED: Outcome = { status: "deleted", rank: 4 };

/** The last word of `type` → its outcome; a word not listed leaves the status as it is. */
const OUTCOME_BY_VERB: Readonly<Record<string, Outcome>> = {
  created: PENDING,
  queued: PENDING,
  started: PROCESSING,
  processing: PROCESSING,
  running: PROCESSING,
  updated: PROCESSING,
  succeeded: SUCCEEDED,
  completed: SUCCEEDED,
  processed: SUCCEEDED,
  failed: FAILED,
  cancelled: CANCELLED,
  canceled: CANCELLED,
  deleted: DELETED,
};

export interface StandardContext {
  /** `webhook-id`: the event's id, the same on every retry of it. */
  eventId: string;
  /** `webhook-timestamp`, seconds since the epoch. */
  signedAt: number;
  receivedAt: number;
}

export type StandardNormalized = { ok: true; event: NormalizedEvent } | { ok: false; issues: Issue[] };

function optionalText(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 ? value : null;
}

/** Validates the common shape and normalizes it. */
export function normalizeStandardEvent(payload: unknown, context: StandardContext): StandardNormalized {
  const parsed = v.safeParse(payloadSchema, payload);
  if (!parsed.success) return { ok: false, issues: toIssues(parsed.issues) };
  const { type, timestamp, data } = parsed.output;
  const kind = type.split(".")[0] ?? type;
  const verb = (type.split(".").at(-1) ?? "").toLowerCase();
  const outcome = lookup(OUTCOME_BY_VERB, verb);
  const status = outcome?.status ?? null;
  // occurredAt: the payload's `timestamp`, else the signature's (CONTRACT §4, as for Extend).
  const stated = typeof timestamp === "string" ? Date.parse(timestamp) : Number.NaN;
  const occurredAt = isShowableTime(stated) ? stated : context.signedAt * 1000;
  const vendorStatus = optionalText(data.status);
  return {
    ok: true,
    event: {
      source: "standard",
      kind,
      id: data.id,
      jobKey: `standard:${kind}:${data.id}`,
      eventId: context.eventId,
      eventType: type,
      status,
      vendorStatus: vendorStatus ?? (status === null ? null : type),
      terminal: status !== null && isTerminalStatus(status),
      rank: outcome?.rank ?? 0,
      occurredAt,
      receivedAt: context.receivedAt,
      companyId: null,
      companyName: null,
      name: optionalText(data.name),
      stage: null,
      retries: null,
      failure: null,
      summary: {},
      linkToJob: null,
      role: "job",
    },
  };
}

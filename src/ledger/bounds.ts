/**
 * @module Size bounds on what the ledger derives from an event. The raw body is kept whole (in
 * chunks); the derived fields — name, failure messages, the history summary — go into one SQLite
 * row, which holds at most 2 MB, and into D1. A vendor message of a megabyte must not make an
 * authentic delivery fail forever, so derived text is cut to these sizes, marked with "…".
 */
import type { Failure, NormalizedEvent } from "../core/vocabulary";
import type { StoredEvent } from "./types";

export const MAX_TEXT = 1024;
export const MAX_MESSAGE = 2048;
export const MAX_ITEMS = 20;
export const MAX_DEPTH = 4;
/** A summary still larger than this once its parts are cut is replaced by `{ truncated: true }`. */
export const MAX_SUMMARY_JSON = 16 * 1024;
/**
 * The failure's messages together, in UTF-8 bytes. Characters are not bytes: 20 messages of 2048
 * CJK characters are 120 KB, more than a queue message (128 KB with the rest of the summary) or a
 * D1 statement (100 KB) takes, and such a job would never reach D1. So messages are also kept only
 * while they fit this many bytes.
 */
export const MAX_FAILURE_BYTES = 24 * 1024;

function clipText(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max)}…`;
}

function clipOptional(value: string | null, max = MAX_TEXT): string | null {
  return value === null ? null : clipText(value, max);
}

function clipValue(value: unknown, depth: number): unknown {
  if (typeof value === "string") return clipText(value, MAX_TEXT);
  if (value === null || typeof value !== "object") return value;
  if (depth >= MAX_DEPTH) return "…";
  if (Array.isArray(value)) return value.slice(0, MAX_ITEMS).map((item) => clipValue(item, depth + 1));
  const entries = Object.entries(value).slice(0, MAX_ITEMS);
  return Object.fromEntries(
    entries.map(([key, item]) => [clipText(key, MAX_TEXT), clipValue(item, depth + 1)]),
  );
}

function clipFailure(failure: Failure | null): Failure | null {
  if (failure === null) return null;
  const encoder = new TextEncoder();
  const messages: string[] = [];
  let bytes = 0;
  for (const message of failure.messages.slice(0, MAX_ITEMS).map((text) => clipText(text, MAX_MESSAGE))) {
    bytes += encoder.encode(message).byteLength;
    if (bytes > MAX_FAILURE_BYTES && messages.length > 0) break;
    messages.push(bytes > MAX_FAILURE_BYTES ? clipText(message, MAX_FAILURE_BYTES / 4) : message);
  }
  return { reason: clipOptional(failure.reason), messages };
}

/**
 * What a ledger stores of an event: every derived field within bounds (ids and times as they
 * are), its history summary as JSON text — serialised once, here, both to measure it and to store
 * it — and the time it orders by (`orderTime` in ./order).
 */
export function storedEvent(event: NormalizedEvent, orderAt: number): StoredEvent {
  const clipped = JSON.stringify(clipValue(event.summary, 0));
  return {
    jobKey: event.jobKey,
    source: event.source,
    kind: event.kind,
    id: event.id,
    role: event.role,
    eventId: event.eventId,
    eventType: event.eventType,
    status: event.status,
    vendorStatus: clipOptional(event.vendorStatus),
    terminal: event.terminal,
    rank: event.rank,
    occurredAt: event.occurredAt,
    receivedAt: event.receivedAt,
    orderAt,
    companyId: clipOptional(event.companyId),
    companyName: clipOptional(event.companyName),
    name: clipOptional(event.name),
    stage: clipOptional(event.stage),
    retries: event.retries,
    failure: clipFailure(event.failure),
    summaryJson: clipped.length <= MAX_SUMMARY_JSON ? clipped : TRUNCATED_SUMMARY,
    linkTo: event.linkToJob?.jobKey ?? null,
  };
}

const TRUNCATED_SUMMARY = JSON.stringify({ truncated: true });

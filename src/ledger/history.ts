/**
 * @module A job's history as its ledger reads it back: entries in the one order of CONTRACT §4
 * (`compareEvents` in ./order, over `order_at`), a page at a time from a keyset cursor (./pages),
 * and one event's raw body and what re-verifying it needs (CONTRACT §9).
 */
import type { HistoryEntry } from "../core/summary";
import { isoTime, type Status } from "../core/vocabulary";
import { ANSWER_BYTES, CURSOR_BYTES, HISTORY_PAGE, HISTORY_WHOLE, type Page, takePage } from "./pages";

/** History order, oldest first: `compareEvents` in ./order, over `order_at` (`orderTime`). */
const IN_ORDER = "order_at, terminal, rank, arrival";
/** The history order's columns: a history page's cursor is the last entry's values of these. */
const ORDER_COLUMNS = IN_ORDER.split(", ");
/** What a history entry is made of. */
const HISTORY_COLUMNS =
  "event_id, event_type, status, vendor_status, occurred_at, received_at, deliveries, summary, receipts";

interface HistoryRow extends Record<string, SqlStorageValue> {
  event_id: string;
  event_type: string;
  status: string | null;
  vendor_status: string | null;
  occurred_at: number;
  received_at: number;
  deliveries: number;
  summary: string;
  /** JSON: the last few receipt times, ms since the epoch, oldest first (./schema, RECEIPTS_KEPT). */
  receipts: string;
}

export function historyEntry(row: HistoryRow): HistoryEntry {
  return {
    eventId: row.event_id,
    eventType: row.event_type,
    status: row.status as Status | null,
    vendorStatus: row.vendor_status,
    occurredAt: isoTime(row.occurred_at),
    receivedAt: isoTime(row.received_at),
    deliveries: row.deliveries,
    receipts: (JSON.parse(row.receipts) as number[]).map(isoTime),
    summary: JSON.parse(row.summary) as Record<string, unknown>,
  };
}

/** One stored event's history entry, as of now, or null if the job has no such event. */
export function entryOf(sql: SqlStorage, eventId: string): HistoryEntry | null {
  const [row] = sql.exec<HistoryRow>(`SELECT ${HISTORY_COLUMNS} FROM events WHERE event_id = ?`, eventId);
  return row === undefined ? null : historyEntry(row);
}

/**
 * One page of the history after `after` (an entry's order values; from the start without), at
 * most `limit` entries and — for a job of more than {@link HISTORY_WHOLE} entries, whose answer
 * must stay ≤ 1 MB (CONTRACT §5) — what `otherBytes` of summary and links leave of the answer.
 * `next` is where the following page starts, when there is one.
 */
export function historyPage(
  sql: SqlStorage,
  eventCount: number,
  options: { after?: number[]; limit?: number; otherBytes: number },
): { entries: HistoryEntry[]; next: number[] | null } {
  const { after } = options;
  const rows = sql.exec<HistoryRow>(
    `SELECT ${HISTORY_COLUMNS}, ${IN_ORDER} FROM events
     ${after === undefined ? "" : `WHERE (${IN_ORDER}) > (${ORDER_COLUMNS.map(() => "?").join(", ")})`}
     ORDER BY ${IN_ORDER}`,
    ...(after ?? []),
  );
  const maxBytes =
    eventCount <= HISTORY_WHOLE ? Number.POSITIVE_INFINITY : ANSWER_BYTES - CURSOR_BYTES - options.otherBytes;
  const page: Page<HistoryRow, HistoryEntry> = takePage(
    rows,
    historyEntry,
    options.limit ?? HISTORY_PAGE,
    maxBytes,
  );
  const last = page.last;
  return {
    entries: page.items,
    next: page.more && last !== null ? ORDER_COLUMNS.map((column) => Number(last[column])) : null,
  };
}

/** The event's raw body, byte for byte, or null if this job has no such event. */
export function rawBody(sql: SqlStorage, eventId: string): ArrayBuffer | null {
  const [found] = sql.exec<{ raw_size: number; raw: ArrayBuffer | null }>(
    "SELECT raw_size, raw FROM events WHERE event_id = ?",
    eventId,
  );
  if (found === undefined) return null;
  if (found.raw !== null) return found.raw;
  const body = new Uint8Array(found.raw_size);
  let offset = 0;
  for (const row of sql.exec<{ data: ArrayBuffer }>(
    "SELECT data FROM raw_chunks WHERE event_id = ? ORDER BY idx",
    eventId,
  )) {
    body.set(new Uint8Array(row.data), offset);
    offset += row.data.byteLength;
  }
  return body.buffer;
}

/** What re-verifying a stored event needs (CONTRACT §9). */
export interface StoredVerification {
  /** The material kept at its first accepted delivery (null for events stored before it was kept). */
  auth: string | null;
  /** That delivery's time. */
  receivedAt: number;
  raw: ArrayBuffer;
}

export function storedVerification(sql: SqlStorage, eventId: string): StoredVerification | null {
  const [row] = sql.exec<{ auth: string | null; received_at: number }>(
    "SELECT auth, received_at FROM events WHERE event_id = ?",
    eventId,
  );
  const raw = rawBody(sql, eventId);
  if (row === undefined || raw === null) return null;
  return { auth: row.auth, receivedAt: row.received_at, raw };
}

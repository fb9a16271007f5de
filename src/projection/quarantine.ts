/**
 * @module Quarantine in D1: authentic deliveries that could not be parsed, kept byte for byte with
 * the validation issues (CONTRACT §5). Written before the 202; if D1 cannot take it the delivery is
 * answered 503 so the vendor retries — nothing authentic is dropped.
 */
import type { Issue } from "../core/vocabulary";

/** Below D1's 2 MB row limit. */
export const QUARANTINE_CHUNK_BYTES = 1_000_000;

export interface QuarantineEntry {
  id: string;
  source: string;
  receivedAt: string;
  reason: Issue[];
  size: number;
  /** Set once a retry stored it (CONTRACT §9); the entry stays listed. */
  resolvedAt?: string;
  jobKey?: string;
  eventId?: string;
}

interface QuarantineRow {
  id: string;
  source: string;
  received_at: number;
  reason: string;
  size: number;
  resolved_at: number | null;
  job_key: string | null;
  event_id: string | null;
}

function toEntry(row: QuarantineRow): QuarantineEntry {
  const entry: QuarantineEntry = {
    id: row.id,
    source: row.source,
    receivedAt: new Date(row.received_at).toISOString(),
    reason: JSON.parse(row.reason) as Issue[],
    size: row.size,
  };
  if (row.resolved_at !== null && row.job_key !== null && row.event_id !== null) {
    entry.resolvedAt = new Date(row.resolved_at).toISOString();
    entry.jobKey = row.job_key;
    entry.eventId = row.event_id;
  }
  return entry;
}

/** Stores a quarantined body and its issues in one D1 batch (all or nothing); returns its id. */
export async function quarantineDelivery(
  db: D1Database,
  entry: { source: string; receivedAt: number; issues: Issue[]; body: Uint8Array; auth: string | null },
): Promise<string> {
  const id = `q_${entry.receivedAt.toString(36)}_${crypto.randomUUID().replaceAll("-", "")}`;
  const chunks: D1PreparedStatement[] = [];
  for (let idx = 0, offset = 0; offset < entry.body.byteLength; idx++, offset += QUARANTINE_CHUNK_BYTES) {
    chunks.push(
      db
        .prepare("INSERT INTO quarantine_chunks (quarantine_id, idx, data) VALUES (?, ?, ?)")
        .bind(id, idx, entry.body.slice(offset, offset + QUARANTINE_CHUNK_BYTES).buffer),
    );
  }
  await db.batch([
    db
      .prepare(
        "INSERT INTO quarantine (id, source, received_at, reason, size, chunks, auth) VALUES (?, ?, ?, ?, ?, ?, ?)",
      )
      .bind(
        id,
        entry.source,
        entry.receivedAt,
        JSON.stringify(entry.issues),
        entry.body.byteLength,
        chunks.length,
        entry.auth,
      ),
    ...chunks,
  ]);
  return id;
}

export interface QuarantineQuery {
  sources: string[] | null;
  limit: number;
  after: { receivedAt: number; id: string } | null;
}

/** Lists quarantine entries newest first, keyset-paginated on `(received_at, id)`. */
export async function listQuarantine(
  db: D1Database,
  query: QuarantineQuery,
): Promise<(QuarantineEntry & { receivedAtMs: number })[]> {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (query.sources !== null) {
    where.push(`source IN (${query.sources.map(() => "?").join(", ")})`);
    params.push(...query.sources);
  }
  if (query.after !== null) {
    where.push("(received_at < ? OR (received_at = ? AND id < ?))");
    params.push(query.after.receivedAt, query.after.receivedAt, query.after.id);
  }
  const result = await db
    .prepare(
      `SELECT id, source, received_at, reason, size, resolved_at, job_key, event_id FROM quarantine
       ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY received_at DESC, id DESC LIMIT ?`,
    )
    .bind(...params, query.limit)
    .all<QuarantineRow>();
  return result.results.map((row) => ({ ...toEntry(row), receivedAtMs: row.received_at }));
}

/** The quarantined body, byte for byte, its source and what authenticated it; null if no such entry. */
export async function readQuarantined(
  db: D1Database,
  id: string,
): Promise<{
  source: string;
  body: Uint8Array;
  receivedAt: number;
  auth: string | null;
  resolved: { jobKey: string; eventId: string } | null;
} | null> {
  const entry = await db
    .prepare("SELECT source, size, received_at, auth, job_key, event_id FROM quarantine WHERE id = ?")
    .bind(id)
    .first<{
      source: string;
      size: number;
      received_at: number;
      auth: string | null;
      job_key: string | null;
      event_id: string | null;
    }>();
  if (entry === null) return null;
  const chunks = await db
    .prepare("SELECT data FROM quarantine_chunks WHERE quarantine_id = ? ORDER BY idx")
    .bind(id)
    .all<{ data: ArrayBuffer | number[] }>();
  const body = new Uint8Array(entry.size);
  let offset = 0;
  for (const row of chunks.results) {
    const bytes = row.data instanceof ArrayBuffer ? new Uint8Array(row.data) : Uint8Array.from(row.data);
    body.set(bytes, offset);
    offset += bytes.byteLength;
  }
  const resolved =
    entry.job_key !== null && entry.event_id !== null
      ? { jobKey: entry.job_key, eventId: entry.event_id }
      : null;
  return { source: entry.source, body, receivedAt: entry.received_at, auth: entry.auth, resolved };
}

/** Records that a retry stored the quarantined delivery as `eventId` on `jobKey`. */
export async function resolveQuarantined(
  db: D1Database,
  id: string,
  outcome: { resolvedAt: number; jobKey: string; eventId: string },
): Promise<void> {
  await db
    .prepare("UPDATE quarantine SET resolved_at = ?, job_key = ?, event_id = ? WHERE id = ?")
    .bind(outcome.resolvedAt, outcome.jobKey, outcome.eventId, id)
    .run();
}

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

/** Where a retry of a quarantine entry stands (CONTRACT §9; migrations/0006_quarantine_retry_claim.sql). */
export interface RetryState {
  /** Set once a retry stored the entry's event: where, and what that retry answered. */
  resolved: { jobKey: string; eventId: string; outcome: "stored" | "duplicate" } | null;
  /**
   * The retry that claimed the entry last: `at` while it may still be running (null once it let
   * go), and the event it was about to store (null for a claim made before it parsed the body).
   */
  claim: { id: string; at: number | null; jobKey: string | null; eventId: string | null } | null;
}

interface RetryStateRow {
  job_key: string | null;
  event_id: string | null;
  retry_outcome: string | null;
  retry_claim: string | null;
  retry_claimed_at: number | null;
  retry_job_key: string | null;
  retry_event_id: string | null;
}

const RETRY_STATE_COLUMNS =
  "job_key, event_id, retry_outcome, retry_claim, retry_claimed_at, retry_job_key, retry_event_id";

function toRetryState(row: RetryStateRow): RetryState {
  return {
    resolved:
      row.job_key !== null && row.event_id !== null
        ? {
            jobKey: row.job_key,
            eventId: row.event_id,
            // Entries resolved before their outcome was kept answer as they did then.
            outcome: row.retry_outcome === "stored" ? "stored" : "duplicate",
          }
        : null,
    claim:
      row.retry_claim === null
        ? null
        : {
            id: row.retry_claim,
            at: row.retry_claimed_at,
            jobKey: row.retry_job_key,
            eventId: row.retry_event_id,
          },
  };
}

/** The quarantined body, byte for byte, its source, what authenticated it and its retry state; null if no such entry. */
export async function readQuarantined(
  db: D1Database,
  id: string,
): Promise<
  | ({
      source: string;
      body: Uint8Array;
      receivedAt: number;
      auth: string | null;
    } & RetryState)
  | null
> {
  const entry = await db
    .prepare(`SELECT source, size, received_at, auth, ${RETRY_STATE_COLUMNS} FROM quarantine WHERE id = ?`)
    .bind(id)
    .first<{ source: string; size: number; received_at: number; auth: string | null } & RetryStateRow>();
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
  return {
    source: entry.source,
    body,
    receivedAt: entry.received_at,
    auth: entry.auth,
    ...toRetryState(entry),
  };
}

/** Where a retry of the entry stands, without its body; null if no such entry. */
export async function readRetryState(db: D1Database, id: string): Promise<RetryState | null> {
  const row = await db
    .prepare(`SELECT ${RETRY_STATE_COLUMNS} FROM quarantine WHERE id = ?`)
    .bind(id)
    .first<RetryStateRow>();
  return row === null ? null : toRetryState(row);
}

export interface RetryClaim {
  /** This retry's own id. */
  id: string;
  at: number;
  /** The event this retry is about to store. */
  jobKey: string;
  eventId: string;
  /** The claim this retry read on the entry (null: none): it takes the entry only if that is still there… */
  previous: string | null;
  /** …and was let go, or made before this time (it is taken over). */
  staleBefore: number;
}

/**
 * Claims an unresolved entry for one retry, in one conditional write: true if this retry holds it
 * now; false if another retry claimed it since it was read, holds it still, or resolved it.
 */
export async function claimQuarantined(db: D1Database, id: string, claim: RetryClaim): Promise<boolean> {
  const result = await db
    .prepare(
      `UPDATE quarantine SET retry_claim = ?, retry_claimed_at = ?, retry_job_key = ?, retry_event_id = ?
       WHERE id = ? AND resolved_at IS NULL AND job_key IS NULL AND retry_claim IS ?
         AND (retry_claimed_at IS NULL OR retry_claimed_at < ?)
       RETURNING id`,
    )
    .bind(claim.id, claim.at, claim.jobKey, claim.eventId, id, claim.previous, claim.staleBefore)
    .all();
  // Not `meta.changes`: D1 counts there what the quarantine's triggers write too (migration 0007).
  return result.results.length === 1;
}

/**
 * Lets go of a claim whose retry is known to have finished with the ledger (or never called it),
 * keeping the event it named: the next retry need not wait for the claim to go stale.
 */
export async function releaseQuarantined(db: D1Database, id: string, claimId: string): Promise<void> {
  await db
    .prepare("UPDATE quarantine SET retry_claimed_at = NULL WHERE id = ? AND retry_claim = ?")
    .bind(id, claimId)
    .run();
}

/**
 * Records that a retry stored the quarantined delivery as `eventId` on `jobKey`, and what it
 * answered. The first resolution stands: false if the entry was already resolved.
 */
export async function resolveQuarantined(
  db: D1Database,
  id: string,
  outcome: { resolvedAt: number; jobKey: string; eventId: string; outcome: "stored" | "duplicate" },
): Promise<boolean> {
  const result = await db
    .prepare(
      `UPDATE quarantine SET resolved_at = ?, job_key = ?, event_id = ?, retry_outcome = ?, retry_claimed_at = NULL
       WHERE id = ? AND resolved_at IS NULL AND job_key IS NULL
       RETURNING id`,
    )
    .bind(outcome.resolvedAt, outcome.jobKey, outcome.eventId, outcome.outcome, id)
    .all();
  // Not `meta.changes`: it counts the open-items trigger's write too (migrations/0007_stats_counters.sql).
  return result.results.length === 1;
}

/** The D1 writes of a quarantine retry; tests replace one with a failing one (`AppSeams.quarantineWrites`). */
export interface QuarantineRetryWrites {
  claim: typeof claimQuarantined;
  release: typeof releaseQuarantined;
  resolve: typeof resolveQuarantined;
}

export const D1_QUARANTINE_WRITES: QuarantineRetryWrites = {
  claim: claimQuarantined,
  release: releaseQuarantined,
  resolve: resolveQuarantined,
};

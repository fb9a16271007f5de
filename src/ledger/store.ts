/**
 * @module Storing one delivery in a ledger (CONTRACT §3.3, §4): dedup on the event id in one
 * statement (a repeat also appends its receipt time to the event's bounded list, in that same
 * statement), the raw body byte for byte (inline, or in chunks below the 2 MB row limit), the job
 * row's counters and derived state, and the links to push. Runs inside one storage transaction.
 */
import { type JobRecord, writeJob } from "./job-record";
import { applyEvent, EMPTY_STATE } from "./order";
import { RECEIPTS_KEPT } from "./schema";
import type { StoredEvent } from "./types";

/** Raw bodies up to this size are stored inline; larger ones in chunks below the 2 MB row limit. */
export const RAW_CHUNK_BYTES = 1_000_000;

export interface Stored {
  /** The job row after this delivery. */
  job: JobRecord;
  duplicate: boolean;
  /** Whether outbox rows now wait to be delivered to other ledgers (a link, a file's new status). */
  linksQueued: boolean;
}

/** Stores one delivery of `event` on top of `job` (null: the object's first write). */
export function storeDelivery(
  sql: SqlStorage,
  job: JobRecord | null,
  event: StoredEvent,
  raw: ArrayBuffer,
  auth: string | null,
): Stored {
  const now = event.receivedAt;
  const arrival = (job?.event_count ?? 0) + 1;
  const at = event.orderAt;
  const inline = raw.byteLength <= RAW_CHUNK_BYTES;
  // Dedup in one statement: the event id is the primary key; a repeat only counts the delivery.
  const { deliveries } = sql
    .exec<{ deliveries: number }>(
      `INSERT INTO events (event_id, arrival, event_type, status, vendor_status, terminal, rank, occurred_at,
         received_at, deliveries, company_id, company_name, name, stage, retries, failure, summary, raw_size, raw,
         auth, order_at, receipts)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, json_array(?9))
       ON CONFLICT (event_id) DO UPDATE SET deliveries = deliveries + 1,
         receipts = json_insert(
           CASE WHEN json_array_length(receipts) >= ${RECEIPTS_KEPT} THEN json_remove(receipts, '$[0]') ELSE receipts END,
           '$[#]', excluded.received_at)
       RETURNING deliveries`,
      event.eventId,
      arrival,
      event.eventType,
      event.status,
      event.vendorStatus,
      event.terminal ? 1 : 0,
      event.rank,
      event.occurredAt,
      now,
      event.companyId,
      event.companyName,
      event.name,
      event.stage,
      event.retries,
      event.failure === null ? null : JSON.stringify(event.failure),
      event.summaryJson,
      raw.byteLength,
      inline ? raw : null,
      auth,
      at,
    )
    .one();

  if (deliveries > 1 && job !== null) {
    const next: JobRecord = {
      ...job,
      delivery_count: job.delivery_count + 1,
      last_received_at: Math.max(job.last_received_at, now),
      version: job.version + 1,
    };
    sql.exec(
      "UPDATE job SET delivery_count = ?, last_received_at = ?, version = ?",
      next.delivery_count,
      next.last_received_at,
      next.version,
    );
    return { job: next, duplicate: true, linksQueued: false };
  }

  if (!inline) {
    for (let idx = 0, offset = 0; offset < raw.byteLength; idx++, offset += RAW_CHUNK_BYTES) {
      sql.exec(
        "INSERT INTO raw_chunks (event_id, idx, data) VALUES (?, ?, ?)",
        event.eventId,
        idx,
        raw.slice(offset, offset + RAW_CHUNK_BYTES),
      );
    }
  }
  const state = applyEvent(job?.state ?? EMPTY_STATE, event, arrival);
  // A job known so far only from a link has a row but no event: its times start with this one.
  const known = job !== null && job.event_count > 0 ? job : null;
  const next: JobRecord = {
    job_key: job?.job_key ?? event.jobKey,
    source: job?.source ?? event.source,
    kind: job?.kind ?? event.kind,
    id: job?.id ?? event.id,
    role: job?.role ?? event.role,
    event_count: arrival,
    delivery_count: (job?.delivery_count ?? 0) + 1,
    first_event_at: Math.min(known?.first_event_at ?? at, at),
    last_event_at: Math.max(known?.last_event_at ?? at, at),
    last_received_at: Math.max(known?.last_received_at ?? now, now),
    version: (job?.version ?? 0) + 1,
    flush_attempts: job?.flush_attempts ?? 0,
    projected_version: job?.projected_version ?? 0,
    // Fixed by the first event that names a company (./tenancy refused any other before this).
    company_id: job?.company_id ?? event.companyId,
    state,
  };
  writeJob(sql, next);
  let linksQueued = false;
  if (event.linkTo !== null) {
    sql.exec(
      `INSERT INTO links (rel, job_key, occurred_at) VALUES ('job', ?, ?)
       ON CONFLICT (rel, job_key) DO UPDATE SET occurred_at = max(occurred_at, excluded.occurred_at)`,
      event.linkTo,
      event.occurredAt,
    );
    sql.exec("INSERT INTO outbox (kind, target, created_at) VALUES ('link', ?, ?)", event.linkTo, now);
    linksQueued = true;
  } else if (
    next.role === "file" &&
    (state.status?.value.status !== job?.state.status?.value.status || next.company_id !== job?.company_id)
  ) {
    // The file's status (or its company, fixed once) changed: its jobs' details show them from what
    // this file pushes them, so queue a push to each (sent at once by ingest, retried by the alarm
    // until delivered).
    const queued = sql.exec(
      `INSERT INTO outbox (kind, target, created_at)
       SELECT 'link', job_key, ? FROM links WHERE rel = 'job' RETURNING seq`,
      now,
    );
    linksQueued = queued.toArray().length > 0;
  }
  return { job: next, duplicate: false, linksQueued };
}

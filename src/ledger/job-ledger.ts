/**
 * @module JobLedger — the Durable Object that holds one job's exact, ordered history
 * (CONTRACT §3.3, §4). One object per job key. It stores each vendor event once (the event id is
 * the primary key), counts repeat deliveries, keeps the raw body byte for byte, derives the current
 * status by the ordering rule, and projects its summary into D1 after answering, from an outbox in
 * its own storage that an alarm flushes and retries until D1 has it.
 */
import { DurableObject } from "cloudflare:workers";
import { withDeadline } from "../deadline";
import type { Env } from "../env";
import { d1Projector, type JobProjector } from "../projection/jobs";
import { boundEvent } from "./bounds";
import {
  type Failure,
  type HistoryEntry,
  type IngestResult,
  isoTime,
  type JobDetail,
  type JobSummary,
  type LinkedJob,
  type NormalizedEvent,
  type Source,
  type Status,
} from "./types";

/** Raw bodies are split below the 2 MB limit of a Durable Object SQLite row. */
export const RAW_CHUNK_BYTES = 1_000_000;
/**
 * Retry delays of the outbox flush: doubling from the first, capped — our choice (README,
 * "Consistency and failure"); CONTRACT §3.3 asks only that D1 gets every event once reachable.
 */
export const FLUSH_RETRY_FIRST_MS = 250;
export const FLUSH_RETRY_MAX_MS = 5_000;
/** How long one outbox call (a D1 upsert, a link) may take before the flush counts it failed. */
export const FLUSH_CALL_MS = 10_000;
/** How long a detail waits for a linked job's status before showing the last one it knows. */
export const LINK_READ_MS = 2_000;
/** How long a delivery waits to link a file into its job before leaving it to the outbox. */
export const INLINE_LINK_MS = 1_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  event_id TEXT PRIMARY KEY,
  arrival INTEGER NOT NULL,
  event_type TEXT NOT NULL,
  status TEXT,
  vendor_status TEXT,
  terminal INTEGER NOT NULL,
  rank INTEGER NOT NULL,
  occurred_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  deliveries INTEGER NOT NULL,
  company_id TEXT,
  company_name TEXT,
  name TEXT,
  stage TEXT,
  retries INTEGER,
  failure TEXT,
  summary TEXT NOT NULL,
  raw_size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_in_order ON events (occurred_at, rank, terminal, arrival);
CREATE INDEX IF NOT EXISTS events_by_status ON events (occurred_at, terminal, rank, arrival) WHERE status IS NOT NULL;
CREATE TABLE IF NOT EXISTS raw_chunks (
  event_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (event_id, idx)
);
CREATE TABLE IF NOT EXISTS job (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  job_key TEXT NOT NULL,
  source TEXT NOT NULL,
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  role TEXT NOT NULL,
  event_count INTEGER NOT NULL,
  delivery_count INTEGER NOT NULL,
  first_event_at INTEGER NOT NULL,
  last_event_at INTEGER NOT NULL,
  last_received_at INTEGER NOT NULL,
  version INTEGER NOT NULL,
  flush_attempts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS links (
  rel TEXT NOT NULL,
  job_key TEXT NOT NULL,
  occurred_at INTEGER NOT NULL,
  last_status TEXT,
  PRIMARY KEY (rel, job_key)
);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  target TEXT,
  created_at INTEGER NOT NULL
);
`;

/**
 * The status of a job that no status-bearing event has reached yet (only history-only events such
 * as an Alfred tag change, or a job known only from a link): known, not yet started.
 */
const DEFAULT_STATUS: Status = "pending";

/** History order, oldest first: occurredAt, then lifecycle step, terminal last, then arrival. */
const IN_ORDER = "occurred_at, rank, terminal, arrival";
const LATEST_FIRST = "occurred_at DESC, rank DESC, terminal DESC, arrival DESC";
/**
 * The status-deciding order (CONTRACT §4): the latest occurredAt; on a tie a terminal event beats
 * a non-terminal one, then the later lifecycle step, then the later arrival.
 */
const STATUS_FIRST = "occurred_at DESC, terminal DESC, rank DESC, arrival DESC";

type LinkRel = "file" | "job";

/** What one ledger asks of another about links. */
export interface LinkedLedger {
  linkFile(fileKey: string, occurredAt: number): Promise<void>;
  brief(jobKey: string): Promise<LinkedJob>;
}

interface JobRow extends Record<string, SqlStorageValue> {
  job_key: string;
  source: string;
  kind: string;
  id: string;
  role: string;
  event_count: number;
  delivery_count: number;
  first_event_at: number;
  last_event_at: number;
  last_received_at: number;
  version: number;
  flush_attempts: number;
}

interface StatusRow extends Record<string, SqlStorageValue> {
  status: string;
  vendor_status: string | null;
  event_type: string;
  terminal: number;
  failure: string | null;
}

interface HistoryRow extends Record<string, SqlStorageValue> {
  event_id: string;
  event_type: string;
  status: string | null;
  vendor_status: string | null;
  occurred_at: number;
  received_at: number;
  deliveries: number;
  summary: string;
}

export class JobLedger extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** Where summaries are projected: the seam through which tests inject a D1 outage. */
  projector: JobProjector;
  /** Reaches another job's ledger for links: the seam through which tests make one slow or down. */
  linkedLedger: (jobKey: string) => LinkedLedger;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
    this.projector = d1Projector(env.DB);
    this.linkedLedger = (jobKey) => env.JOBS.get(env.JOBS.idFromName(jobKey));
    // An outbox entry whose alarm was never set (the object stopped between the two writes) gets
    // one now, before the first request is served.
    void ctx.blockConcurrencyWhile(async () => {
      const pending = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n;
      if (pending > 0 && (await ctx.storage.getAlarm()) === null) await ctx.storage.setAlarm(Date.now());
    });
  }

  /**
   * Stores one delivery. The first delivery of an event id adds it to the history; a repeat only
   * counts the delivery. The answer is released only once storage has the write (output gate).
   */
  async ingest(event: NormalizedEvent, raw: ArrayBuffer): Promise<IngestResult> {
    const result = this.ctx.storage.transactionSync(() => this.store(boundEvent(event), raw));
    await this.scheduleFlush(Date.now());
    if (!result.duplicate && event.linkToJob !== null) {
      // Link at once so the job's detail shows the file as soon as this delivery is answered. The
      // event is already stored: if the other ledger is slow or unreachable, answer anyway and let
      // the outbox entry written above retry the link by alarm.
      await withDeadline(this.deliverLinks(), INLINE_LINK_MS, "linking").catch(() => undefined);
    }
    return result;
  }

  /** The job's summary, history and links, or null if this job has no event. */
  async detail(): Promise<JobDetail | null> {
    const summary = this.summary();
    if (summary === null) return null;
    const history = this.sql
      .exec<HistoryRow>(
        `SELECT event_id, event_type, status, vendor_status, occurred_at, received_at, deliveries, summary
         FROM events ORDER BY ${IN_ORDER}`,
      )
      .toArray()
      .map(
        (row): HistoryEntry => ({
          eventId: row.event_id,
          eventType: row.event_type,
          status: row.status as Status | null,
          vendorStatus: row.vendor_status,
          occurredAt: isoTime(row.occurred_at),
          receivedAt: isoTime(row.received_at),
          deliveries: row.deliveries,
          summary: JSON.parse(row.summary) as Record<string, unknown>,
        }),
      );
    const detail: JobDetail = { ...summary, history };
    // Links of CONTRACT §4/§5: a file names its job; every other job lists its files.
    if (this.jobRow()?.role === "file") {
      const [jobKey] = this.linked("job");
      detail.job = jobKey === undefined ? null : await this.briefOf("job", jobKey);
    } else {
      detail.files = await Promise.all(this.linked("file").map((key) => this.briefOf("file", key)));
    }
    return detail;
  }

  /** The current status of this job, for the detail of a linked job. */
  async brief(jobKey: string): Promise<LinkedJob> {
    return { jobKey, status: this.currentStatus()?.status ?? DEFAULT_STATUS };
  }

  /** The event's raw body, byte for byte, or null if this job has no such event. */
  async rawEvent(eventId: string): Promise<ArrayBuffer | null> {
    const found = this.sql
      .exec<{ raw_size: number }>("SELECT raw_size FROM events WHERE event_id = ?", eventId)
      .toArray()[0];
    if (found === undefined) return null;
    const body = new Uint8Array(found.raw_size);
    let offset = 0;
    for (const row of this.sql.exec<{ data: ArrayBuffer }>(
      "SELECT data FROM raw_chunks WHERE event_id = ? ORDER BY idx",
      eventId,
    )) {
      body.set(new Uint8Array(row.data), offset);
      offset += row.data.byteLength;
    }
    return body.buffer;
  }

  /** Records that `fileKey` belongs to this job (called by the file's own ledger). */
  async linkFile(fileKey: string, occurredAt: number): Promise<void> {
    this.sql.exec(
      `INSERT INTO links (rel, job_key, occurred_at) VALUES ('file', ?, ?)
       ON CONFLICT (rel, job_key) DO UPDATE SET occurred_at = max(occurred_at, excluded.occurred_at)`,
      fileKey,
      occurredAt,
    );
  }

  /** Flushes the outbox: the summary to D1, links to other ledgers. Reschedules itself on failure. */
  override async alarm(): Promise<void> {
    const job = this.jobRow();
    try {
      await this.flushProjection();
      await this.deliverLinks();
    } catch (error) {
      const attempts = (job?.flush_attempts ?? 0) + 1;
      this.sql.exec("UPDATE job SET flush_attempts = ?", attempts);
      const delay = Math.min(FLUSH_RETRY_FIRST_MS * 2 ** (attempts - 1), FLUSH_RETRY_MAX_MS);
      console.log(
        JSON.stringify({
          level: "warn",
          msg: "projection flush failed; retrying",
          jobKey: job?.job_key ?? null,
          attempt: attempts,
          retryInMs: delay,
          error: error instanceof Error ? error.message : String(error),
        }),
      );
      await this.ctx.storage.setAlarm(Date.now() + delay);
      return;
    }
    this.sql.exec("UPDATE job SET flush_attempts = 0");
    const left = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n;
    if (left > 0) await this.ctx.storage.setAlarm(Date.now());
  }

  /** Pending outbox entries and the age of the oldest, for operators and tests. */
  async projectionState(): Promise<{ pending: number; oldestAgeMs: number | null }> {
    const row = this.sql
      .exec<{ n: number; oldest: number | null }>(
        "SELECT count(*) AS n, min(created_at) AS oldest FROM outbox",
      )
      .one();
    return { pending: row.n, oldestAgeMs: row.oldest === null ? null : Date.now() - row.oldest };
  }

  private store(event: NormalizedEvent, raw: ArrayBuffer): IngestResult {
    const now = event.receivedAt;
    // A repeat of a stored event id (the primary key): count the delivery, change nothing else.
    const repeat = this.sql.exec(
      "UPDATE events SET deliveries = deliveries + 1 WHERE event_id = ?",
      event.eventId,
    );
    if (repeat.rowsWritten > 0) {
      this.sql.exec(
        `UPDATE job SET delivery_count = delivery_count + 1,
           last_received_at = max(last_received_at, ?), version = version + 1`,
        now,
      );
      this.enqueue("project", null, now);
      return { duplicate: true };
    }

    const job = this.jobRow();
    const arrival = (job?.event_count ?? 0) + 1;
    this.sql.exec(
      `INSERT INTO events (event_id, arrival, event_type, status, vendor_status, terminal, rank, occurred_at,
         received_at, deliveries, company_id, company_name, name, stage, retries, failure, summary, raw_size)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
      JSON.stringify(event.summary),
      raw.byteLength,
    );
    for (let idx = 0, offset = 0; offset < raw.byteLength || idx === 0; idx++, offset += RAW_CHUNK_BYTES) {
      this.sql.exec(
        "INSERT INTO raw_chunks (event_id, idx, data) VALUES (?, ?, ?)",
        event.eventId,
        idx,
        raw.slice(offset, offset + RAW_CHUNK_BYTES),
      );
    }
    if (job === null) {
      this.sql.exec(
        `INSERT INTO job (singleton, job_key, source, kind, id, role, event_count, delivery_count, first_event_at,
           last_event_at, last_received_at, version) VALUES (1, ?, ?, ?, ?, ?, 1, 1, ?, ?, ?, 1)`,
        event.jobKey,
        event.source,
        event.kind,
        event.id,
        event.role,
        event.occurredAt,
        event.occurredAt,
        now,
      );
    } else {
      this.sql.exec(
        `UPDATE job SET event_count = event_count + 1, delivery_count = delivery_count + 1,
           first_event_at = min(first_event_at, ?1), last_event_at = max(last_event_at, ?1),
           last_received_at = max(last_received_at, ?2), version = version + 1`,
        event.occurredAt,
        now,
      );
    }
    this.enqueue("project", null, now);
    if (event.linkToJob !== null) {
      this.sql.exec(
        `INSERT INTO links (rel, job_key, occurred_at) VALUES ('job', ?, ?)
         ON CONFLICT (rel, job_key) DO UPDATE SET occurred_at = max(occurred_at, excluded.occurred_at)`,
        event.linkToJob.jobKey,
        event.occurredAt,
      );
      this.enqueue("link", event.linkToJob.jobKey, now);
    }
    return { duplicate: false };
  }

  private enqueue(kind: "project" | "link", target: string | null, now: number): void {
    this.sql.exec("INSERT INTO outbox (kind, target, created_at) VALUES (?, ?, ?)", kind, target, now);
  }

  /**
   * Sets the flush alarm unless one is pending. A pending alarm is either imminent (normal
   * operation) or a retry after a D1 failure, whose backoff new events must not cut short.
   */
  private async scheduleFlush(at: number): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(at);
  }

  /** Writes the current summary to D1 and clears the projection entries it covers. */
  private async flushProjection(): Promise<void> {
    const pending = this.sql
      .exec<{ last: number | null }>("SELECT max(seq) AS last FROM outbox WHERE kind = 'project'")
      .one().last;
    if (pending === null) return;
    const summary = this.summary();
    const job = this.jobRow();
    if (summary !== null && job !== null) {
      await withDeadline(this.projector.upsert(summary, job.version), FLUSH_CALL_MS, "the D1 projection");
    }
    this.sql.exec("DELETE FROM outbox WHERE kind = 'project' AND seq <= ?", pending);
  }

  /** Tells each linked job about this file; an entry leaves the outbox only once delivered. */
  private async deliverLinks(): Promise<void> {
    const job = this.jobRow();
    if (job === null) return;
    const links = this.sql
      .exec<{ seq: number; target: string }>(
        "SELECT seq, target FROM outbox WHERE kind = 'link' ORDER BY seq",
      )
      .toArray();
    for (const link of links) {
      const occurredAt =
        this.sql
          .exec<{ occurred_at: number }>(
            "SELECT occurred_at FROM links WHERE rel = 'job' AND job_key = ?",
            link.target,
          )
          .toArray()[0]?.occurred_at ?? 0;
      await withDeadline(
        this.linkedLedger(link.target).linkFile(job.job_key, occurredAt),
        FLUSH_CALL_MS,
        "linking",
      );
      this.sql.exec("DELETE FROM outbox WHERE seq = ?", link.seq);
    }
  }

  /**
   * A linked job's current status, asked of its ledger under a deadline. If that ledger is slow or
   * down, the last status it gave is shown (or the default), so one unreachable file does not fail
   * its job's whole detail.
   */
  private async briefOf(rel: LinkRel, jobKey: string): Promise<LinkedJob> {
    try {
      const brief = await withDeadline(
        this.linkedLedger(jobKey).brief(jobKey),
        LINK_READ_MS,
        "a linked ledger",
      );
      this.sql.exec(
        "UPDATE links SET last_status = ? WHERE rel = ? AND job_key = ?",
        brief.status,
        rel,
        jobKey,
      );
      return brief;
    } catch (error) {
      const cached = this.sql
        .exec<{ last_status: string | null }>(
          "SELECT last_status FROM links WHERE rel = ? AND job_key = ?",
          rel,
          jobKey,
        )
        .toArray()[0]?.last_status;
      console.log(
        JSON.stringify({
          level: "warn",
          msg: "linked ledger unavailable; showing its last status",
          jobKey,
          error: String(error),
        }),
      );
      return { jobKey, status: (cached as Status | null | undefined) ?? DEFAULT_STATUS };
    }
  }

  /** Linked job keys, the most recent link first. */
  private linked(rel: LinkRel): string[] {
    return this.sql
      .exec<{ job_key: string }>(
        "SELECT job_key FROM links WHERE rel = ? ORDER BY occurred_at DESC, job_key",
        rel,
      )
      .toArray()
      .map((row) => row.job_key);
  }

  private jobRow(): JobRow | null {
    return this.sql.exec<JobRow>("SELECT * FROM job").toArray()[0] ?? null;
  }

  /** The status-bearing event that is latest in history order decides the status (CONTRACT §4). */
  private currentStatus(): {
    status: Status;
    vendorStatus: string;
    terminal: boolean;
    failure: Failure | null;
  } | null {
    const row = this.sql
      .exec<StatusRow>(
        `SELECT status, vendor_status, event_type, terminal, failure FROM events WHERE status IS NOT NULL
         ORDER BY ${STATUS_FIRST} LIMIT 1`,
      )
      .toArray()[0];
    if (row === undefined) return null;
    return {
      status: row.status as Status,
      vendorStatus: row.vendor_status ?? row.event_type,
      terminal: row.terminal === 1,
      failure: row.failure === null ? null : (JSON.parse(row.failure) as Failure),
    };
  }

  /** The type of the latest event in history order: the vendor status of a job no event has set. */
  private latestEventType(): string {
    return this.sql
      .exec<{ event_type: string }>(`SELECT event_type FROM events ORDER BY ${LATEST_FIRST} LIMIT 1`)
      .one().event_type;
  }

  /** The latest non-null value of a job-level fact, in history order. */
  private latest<T extends SqlStorageValue>(
    column: "company_id" | "company_name" | "name" | "stage" | "retries",
  ): T | null {
    const row = this.sql
      .exec<{ value: T }>(
        `SELECT ${column} AS value FROM events WHERE ${column} IS NOT NULL ORDER BY ${LATEST_FIRST} LIMIT 1`,
      )
      .toArray()[0];
    return row === undefined ? null : row.value;
  }

  private summary(): JobSummary | null {
    const job = this.jobRow();
    if (job === null) return null;
    const current = this.currentStatus() ?? {
      status: DEFAULT_STATUS,
      vendorStatus: this.latestEventType(),
      terminal: false,
      failure: null,
    };
    return {
      jobKey: job.job_key,
      source: job.source as Source,
      kind: job.kind,
      id: job.id,
      status: current.status,
      vendorStatus: current.vendorStatus,
      terminal: current.terminal,
      companyId: this.latest<string>("company_id"),
      companyName: this.latest<string>("company_name"),
      name: this.latest<string>("name"),
      stage: this.latest<string>("stage"),
      retries: this.latest<number>("retries"),
      failure: current.failure,
      firstEventAt: isoTime(job.first_event_at),
      lastEventAt: isoTime(job.last_event_at),
      lastReceivedAt: isoTime(job.last_received_at),
      eventCount: job.event_count,
      deliveryCount: job.delivery_count,
    };
  }
}

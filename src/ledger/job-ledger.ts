/**
 * @module JobLedger — the Durable Object that holds one job's exact, ordered history
 * (CONTRACT §3.3, §4). One object per job key. It stores each vendor event once (dedup on the event
 * id in one statement), counts repeat deliveries, keeps the raw body byte for byte, and keeps the
 * job's summary on its job row, updated by the ordering rule as each event is stored. Each answer
 * carries the summary as of that delivery; the Worker forwards it to the projection queue. A
 * safety alarm checks later that D1 holds the latest version and re-sends it if not.
 */
import { DurableObject } from "cloudflare:workers";
import { encodeFilesCursor, encodeHistoryCursor } from "../api/cursor";
import type { HistoryEntry, JobDetail, JobSummary, LinkedJob, ProjectionMessage } from "../core/summary";
import { isoTime, type Source, type Status } from "../core/vocabulary";
import { withDeadline } from "../deadline";
import { d1ProjectionReader, type ProjectionReader } from "../projection/jobs";
import type { ProjectionQueue } from "../projection/queue";
import { shardedRegistrar } from "../registry/key-registry";
import { applyEvent, EMPTY_STATE, type JobState } from "./order";
import {
  ANSWER_BYTES,
  CURSOR_BYTES,
  FILES_PAGE,
  FILES_PAGE_BYTES,
  HISTORY_PAGE,
  HISTORY_WHOLE,
  jsonBytes,
  takePage,
} from "./pages";
import { LedgerRegistration } from "./registration";
import { migrateLedger } from "./schema";
import type { DetailPage, IngestResult, OrderedEvent } from "./types";

/** Raw bodies up to this size are stored inline; larger ones in chunks below the 2 MB row limit. */
export const RAW_CHUNK_BYTES = 1_000_000;
/**
 * How long after a change the ledger checks that D1 holds it. The Worker normally sends it within
 * milliseconds; this check is the safety net for a lost send, a dead-lettered batch or a D1 outage.
 */
export const PROJECTION_CHECK_MS = 30_000;
/** Retry delays of a failed check or link: doubling from the first, capped. */
export const RETRY_FIRST_MS = 1_000;
export const RETRY_MAX_MS = 60_000;
/** How long one call from the alarm (a D1 read, a queue send, a link) may take. */
export const ALARM_CALL_MS = 10_000;
/**
 * How long a detail waits for a linked job's status before showing the last one it knows: a file's
 * job, or a file linked before files pushed their status (schema v5), asked once.
 */
export const LINK_READ_MS = 2_000;
/** How long a delivery waits to link a file into its job before leaving it to the alarm. */
export const INLINE_LINK_MS = 1_000;

/**
 * The status of a job that no status-bearing event has reached yet (only history-only events such
 * as an Alfred tag change, or a job known only from a link): known, not yet started.
 */
const DEFAULT_STATUS: Status = "pending";

/** History order, oldest first: `compareEvents` in ./order, over `order_at` (`orderTime`). */
const IN_ORDER = "order_at, terminal, rank, arrival";
/** The history order's columns: a history page's cursor is the last entry's values of these. */
const ORDER_COLUMNS = IN_ORDER.split(", ");
/** What a history entry is made of. */
const HISTORY_COLUMNS =
  "event_id, event_type, status, vendor_status, occurred_at, received_at, deliveries, summary";

type LinkRel = "file" | "job";

/** A file's status as its own ledger pushes it to its job's ledger, with the file's version. */
export interface PushedStatus {
  status: Status;
  version: number;
}

/** What one ledger asks of another about links. */
export interface LinkedLedger {
  linkFile(fileKey: string, occurredAt: number, jobKey?: string, pushed?: PushedStatus): Promise<void>;
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
  state: string;
  projected_version: number;
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

/** A file linked to this job, with the status its ledger last pushed (null: never pushed). */
interface FileLinkRow extends Record<string, SqlStorageValue> {
  job_key: string;
  last_status: string | null;
  status_version: number | null;
}

/** What the ledger sends its watchers (CONTRACT §7). */
export type StreamMessage =
  | { type: "snapshot"; detail: JobDetail | null }
  | { type: "change"; summary: JobSummary; entry: HistoryEntry };

/** Where the projection stands, for operators and tests. */
export interface ProjectionState {
  version: number;
  /** The highest version D1 is known to hold (0 until the safety check has seen it there). */
  projectedVersion: number;
  /** Links to other ledgers not yet delivered. */
  pendingLinks: number;
}

export class JobLedger extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** Where the safety check reads D1: the seam through which tests inject a D1 outage. */
  projector: ProjectionReader;
  /** Where the safety check re-sends a summary: the seam through which tests make sends fail. */
  projectionQueue: ProjectionQueue;
  /** Reaches another job's ledger for links: the seam through which tests make one slow or down. */
  linkedLedger: (jobKey: string) => LinkedLedger;
  /** This job's key in the key registry, for reprojection; `registration.registrar` is a test seam. */
  readonly registration: LedgerRegistration;
  /** The pending alarm's time as this object last set or read it (undefined: not read yet). */
  private alarmAt: number | null | undefined;
  /**
   * The job row as storage holds it (undefined: not read yet). This object is the row's only
   * writer, so it is kept in memory and replaced after every committed write rather than read
   * back for each delivery; a write that fails forgets it.
   */
  private job: JobRow | null | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    migrateLedger(ctx.storage);
    this.projector = d1ProjectionReader(env.DB);
    this.projectionQueue = env.PROJECTION;
    this.linkedLedger = (jobKey) => env.JOBS.get(env.JOBS.idFromName(jobKey));
    this.registration = new LedgerRegistration(this.sql, shardedRegistrar(env));
    // An object that stopped between a write and arming its check (a crash, a deploy) would leave
    // D1 behind until the next delivery: on start, anything not yet known in D1 gets its check.
    void ctx.blockConcurrencyWhile(() => this.resumeOnStart());
  }

  /**
   * Arms the safety check if this job has a change D1 is not known to hold and no sooner alarm is
   * set (`armAlarm` keeps a sooner one).
   */
  private async resumeOnStart(): Promise<void> {
    // Read, not cached: the job row cache is filled by the first request that needs it.
    const [row] = this.sql.exec<{ event_count: number }>("SELECT event_count FROM job").toArray();
    if (row === undefined) return;
    const { projectedVersion, version, pendingLinks } = await this.projectionState();
    // A job known only from a link has no event, so nothing to register (as in `alarm`).
    const unregistered = row.event_count > 0 && this.registration.pending();
    // The usual delay, not a retry's: an object restarts mostly because it was idle and a delivery
    // woke it, with D1 only a queue batch behind; a check 1 s later would find D1 lagging by that
    // batch and re-send every woken job's summary (measured by npm run bench: twice the D1 writes).
    if (projectedVersion < version || pendingLinks > 0 || unregistered) {
      await this.armAlarm(Date.now() + PROJECTION_CHECK_MS);
    }
  }

  /**
   * Stores one delivery. The first delivery of an event id adds it to the history; a repeat only
   * counts the delivery. The answer is released only once storage has the write (output gate).
   */
  async ingest(event: OrderedEvent, raw: ArrayBuffer, auth: string | null = null): Promise<IngestResult> {
    let result: IngestResult;
    let linksQueued: boolean;
    try {
      const stored = this.ctx.storage.transactionSync(() => this.store(event, raw, auth));
      this.job = stored.job;
      result = stored.result;
      linksQueued = stored.linksQueued;
    } catch (error) {
      this.job = undefined;
      throw error;
    }
    this.broadcast({ type: "change", summary: result.summary, entry: result.entry });
    await this.armAlarm(Date.now() + PROJECTION_CHECK_MS);
    if (linksQueued) {
      // Link (or push the file's new status) at once, so the job's detail shows it as soon as this
      // delivery is answered. The event is already stored: if the other ledger is slow or
      // unreachable, answer anyway and let the alarm retry from the outbox rows written above.
      await withDeadline(this.deliverLinks(), INLINE_LINK_MS, "linking").catch(() =>
        this.armAlarm(Date.now() + RETRY_FIRST_MS),
      );
    }
    return result;
  }

  /**
   * The job's summary, one page of its history and of its files, and its links, or null if this
   * job has no event. Pages seek on the history order and the file key (./pages), never offsets:
   * an event inserted before the cursor cannot shift the entries after it.
   */
  async detail(page: DetailPage = {}): Promise<JobDetail | null> {
    const role = this.jobRow()?.role;
    if (role === undefined) return null;
    // Links of CONTRACT §4/§5: a file names its job; every other job lists its files. Read first,
    // as they may wait on another ledger; the summary and history are then read together.
    const links: Pick<JobDetail, "files" | "filesNextCursor" | "job"> = {};
    if (role === "file") {
      const [jobKey] = this.linked("job");
      links.job = jobKey === undefined ? null : await this.briefOf("job", jobKey);
    } else {
      const files = await this.filesPage(page.filesAfter);
      links.files = files.items;
      if (files.next !== undefined) links.filesNextCursor = files.next;
    }
    const job = this.jobRow();
    if (job === null) return null;
    const summary = summaryOf(job);
    const after = page.historyAfter;
    const rows = this.sql.exec<HistoryRow>(
      `SELECT ${HISTORY_COLUMNS}, ${IN_ORDER} FROM events
       ${after === undefined ? "" : `WHERE (${IN_ORDER}) > (${ORDER_COLUMNS.map(() => "?").join(", ")})`}
       ORDER BY ${IN_ORDER}`,
      ...(after ?? []),
    );
    // CONTRACT §5: a job of up to 100 entries gets them all; a bigger one's answer stays ≤ 1 MB.
    const maxBytes =
      job.event_count <= HISTORY_WHOLE
        ? Number.POSITIVE_INFINITY
        : ANSWER_BYTES - CURSOR_BYTES - jsonBytes({ ...summary, history: [], ...links });
    const history = takePage(rows, historyEntry, page.historyLimit ?? HISTORY_PAGE, maxBytes);
    const detail: JobDetail = { ...summary, history: history.items };
    if (history.more && history.last !== null) {
      const last = history.last;
      detail.historyNextCursor = encodeHistoryCursor({
        h: ORDER_COLUMNS.map((column) => Number(last[column])),
      });
    }
    return { ...detail, ...links };
  }

  /**
   * One page of this job's files, in key order, with the statuses the files' ledgers pushed: no
   * call per file. A file linked before pushes existed (schema v5) has none yet; it is asked once,
   * and its answer kept.
   */
  private async filesPage(after?: string): Promise<{ items: LinkedJob[]; next?: string }> {
    const rows = this.sql.exec<FileLinkRow>(
      `SELECT job_key, last_status, status_version FROM links
       WHERE rel = 'file' ${after === undefined ? "" : "AND job_key > ?"} ORDER BY job_key`,
      ...(after === undefined ? [] : [after]),
    );
    const unpushed = new Set<string>();
    const page = takePage(
      rows,
      (row): LinkedJob => {
        if (row.status_version === null) unpushed.add(row.job_key);
        return { jobKey: row.job_key, status: (row.last_status as Status | null) ?? DEFAULT_STATUS };
      },
      FILES_PAGE,
      FILES_PAGE_BYTES,
    );
    const items = await Promise.all(
      page.items.map((file) => (unpushed.has(file.jobKey) ? this.briefOf("file", file.jobKey) : file)),
    );
    return page.more && page.last !== null
      ? { items, next: encodeFilesCursor({ f: page.last.job_key }) }
      : { items };
  }

  /**
   * A live view of this job (CONTRACT §7), as a WebSocket the Worker turns into Server-Sent Events.
   * The socket is accepted with the Hibernation API, so an idle watcher does not keep this object
   * awake: the object is only woken by a delivery, which it then sends to every watcher. The
   * snapshot is sent after the socket is accepted, so no change can fall between the two: a change
   * the snapshot already holds arrives with a version the Worker skips.
   */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Expected a WebSocket upgrade.", { status: 426 });
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    const detail = await this.detail();
    server.send(JSON.stringify({ type: "snapshot", detail } satisfies StreamMessage));
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(): Promise<void> {
    // Watchers only listen.
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    ws.close(code === 1005 || code === 1006 ? 1000 : code, "closed");
  }

  /** How many watchers this job has, for tests and operators. */
  async watchers(): Promise<number> {
    return this.ctx.getWebSockets().length;
  }

  private broadcast(message: StreamMessage): void {
    const text = JSON.stringify(message);
    for (const socket of this.ctx.getWebSockets()) {
      try {
        socket.send(text);
      } catch {
        // A watcher that went away; its close handler finishes it.
      }
    }
  }

  /**
   * The job's summary as this ledger holds it — the truth reprojection writes to D1 — or null if
   * the job has no event (known only from a link).
   */
  async summary(): Promise<JobSummary | null> {
    const job = this.jobRow();
    return job === null || job.event_count === 0 ? null : summaryOf(job);
  }

  /** The current status of this job, for the detail of a linked job. */
  async brief(jobKey: string): Promise<LinkedJob> {
    const job = this.jobRow();
    const state = job === null ? EMPTY_STATE : parseState(job.state);
    return { jobKey, status: state.status?.value.status ?? DEFAULT_STATUS };
  }

  /** The event's raw body, byte for byte, or null if this job has no such event. */
  async rawEvent(eventId: string): Promise<ArrayBuffer | null> {
    const found = this.sql
      .exec<{ raw_size: number; raw: ArrayBuffer | null }>(
        "SELECT raw_size, raw FROM events WHERE event_id = ?",
        eventId,
      )
      .toArray()[0];
    if (found === undefined) return null;
    if (found.raw !== null) return found.raw;
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

  /**
   * What re-verifying a stored event needs (CONTRACT §9): the material kept at its first accepted
   * delivery (null for events stored before it was kept), that delivery's time, and the raw bytes.
   */
  async verification(
    eventId: string,
  ): Promise<{ auth: string | null; receivedAt: number; raw: ArrayBuffer } | null> {
    const row = this.sql
      .exec<{ auth: string | null; received_at: number }>(
        "SELECT auth, received_at FROM events WHERE event_id = ?",
        eventId,
      )
      .toArray()[0];
    const raw = await this.rawEvent(eventId);
    if (row === undefined || raw === null) return null;
    return { auth: row.auth, receivedAt: row.received_at, raw };
  }

  /**
   * Records that `fileKey` belongs to this job, with the file's current status (called by the
   * file's own ledger when it is linked and whenever its status changes). A push older than the
   * one kept (a lower file version) changes nothing. A job known only from such a link gets a row
   * with no event, so its detail answers (`pending`, its files) instead of 404.
   */
  async linkFile(fileKey: string, occurredAt: number, jobKey?: string, pushed?: PushedStatus): Promise<void> {
    if (jobKey !== undefined && this.jobRow() === null) {
      const [source = "", kind = "", ...rest] = jobKey.split(":");
      this.sql.exec(
        `INSERT INTO job (singleton, job_key, source, kind, id, role, event_count, delivery_count, first_event_at,
           last_event_at, last_received_at, version, state) VALUES (1, ?, ?, ?, ?, 'job', 0, 0, ?, ?, ?, 0, '{}')`,
        jobKey,
        source,
        kind,
        rest.join(":"),
        occurredAt,
        occurredAt,
        Date.now(),
      );
      this.job = undefined;
    }
    this.sql.exec(
      `INSERT INTO links (rel, job_key, occurred_at, last_status, status_version) VALUES ('file', ?, ?, ?, ?)
       ON CONFLICT (rel, job_key) DO UPDATE SET occurred_at = max(occurred_at, excluded.occurred_at),
         last_status = iif(excluded.status_version >= coalesce(status_version, -1), excluded.last_status, last_status),
         status_version = iif(excluded.status_version >= coalesce(status_version, -1), excluded.status_version, status_version)`,
      fileKey,
      occurredAt,
      pushed?.status ?? null,
      pushed?.version ?? null,
    );
  }

  /**
   * The safety net: makes sure D1 holds this job's latest version (re-sending it to the projection
   * queue when it does not) and delivers pending links. Reschedules itself, with backoff on failure,
   * until both are done.
   */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const job = this.jobRow();
    if (job === null) return;
    let failure: unknown = null;
    try {
      await this.checkProjection(job);
    } catch (error) {
      failure = error;
    }
    try {
      await this.deliverLinks();
    } catch (error) {
      failure ??= error;
    }
    try {
      if (job.event_count > 0) await this.registration.ensure(job.job_key);
    } catch (error) {
      failure ??= error;
    }
    if (failure !== null) {
      const attempts = job.flush_attempts + 1;
      this.sql.exec("UPDATE job SET flush_attempts = ?", attempts);
      this.job = undefined;
      const delay = Math.min(RETRY_FIRST_MS * 2 ** (attempts - 1), RETRY_MAX_MS);
      console.log(
        JSON.stringify({
          level: "warn",
          msg: "projection check, link or key registration failed; retrying",
          jobKey: job.job_key,
          attempt: attempts,
          retryInMs: delay,
          error: failure instanceof Error ? failure.message : String(failure),
        }),
      );
      await this.armAlarm(Date.now() + delay);
      return;
    }
    if (job.flush_attempts !== 0) {
      this.sql.exec("UPDATE job SET flush_attempts = 0");
      this.job = undefined;
    }
    const state = await this.projectionState();
    const unregistered = job.event_count > 0 && this.registration.pending();
    if (state.projectedVersion < state.version || state.pendingLinks > 0 || unregistered) {
      await this.armAlarm(Date.now() + PROJECTION_CHECK_MS);
    }
  }

  /** Where this job's projection stands. */
  async projectionState(): Promise<ProjectionState> {
    const job = this.jobRow();
    const pendingLinks = this.sql
      .exec<{ n: number }>("SELECT count(*) AS n FROM outbox WHERE kind = 'link'")
      .one().n;
    return { version: job?.version ?? 0, projectedVersion: job?.projected_version ?? 0, pendingLinks };
  }

  private store(
    event: OrderedEvent,
    raw: ArrayBuffer,
    auth: string | null,
  ): { result: IngestResult; job: JobRow; linksQueued: boolean } {
    const now = event.receivedAt;
    const job = this.jobRow();
    const arrival = (job?.event_count ?? 0) + 1;
    const at = event.orderAt;
    const inline = raw.byteLength <= RAW_CHUNK_BYTES;
    // Dedup in one statement: the event id is the primary key; a repeat only counts the delivery.
    const stored = this.sql
      .exec<HistoryRow>(
        `INSERT INTO events (event_id, arrival, event_type, status, vendor_status, terminal, rank, occurred_at,
           received_at, deliveries, company_id, company_name, name, stage, retries, failure, summary, raw_size, raw,
           auth, order_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (event_id) DO UPDATE SET deliveries = deliveries + 1
         RETURNING ${HISTORY_COLUMNS}`,
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
        inline ? raw : null,
        auth,
        at,
      )
      .one();
    const duplicate = stored.deliveries > 1;
    const entry = historyEntry(stored);

    if (duplicate && job !== null) {
      const next: JobRow = {
        ...job,
        delivery_count: job.delivery_count + 1,
        last_received_at: Math.max(job.last_received_at, now),
        version: job.version + 1,
      };
      this.sql.exec(
        "UPDATE job SET delivery_count = ?, last_received_at = ?, version = ?",
        next.delivery_count,
        next.last_received_at,
        next.version,
      );
      return { result: { duplicate, summary: summaryOf(next), entry }, job: next, linksQueued: false };
    }

    if (!inline) {
      for (let idx = 0, offset = 0; offset < raw.byteLength; idx++, offset += RAW_CHUNK_BYTES) {
        this.sql.exec(
          "INSERT INTO raw_chunks (event_id, idx, data) VALUES (?, ?, ?)",
          event.eventId,
          idx,
          raw.slice(offset, offset + RAW_CHUNK_BYTES),
        );
      }
    }
    const previous = job === null ? EMPTY_STATE : parseState(job.state);
    const state = applyEvent(previous, event, arrival);
    // A job known so far only from a link has a row but no event: its times start with this one.
    const known = job !== null && job.event_count > 0 ? job : null;
    const next: JobRow = {
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
      state: JSON.stringify(state),
      projected_version: job?.projected_version ?? 0,
    };
    this.sql.exec(
      `INSERT INTO job (singleton, job_key, source, kind, id, role, event_count, delivery_count, first_event_at,
         last_event_at, last_received_at, version, flush_attempts, state, projected_version)
       VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (singleton) DO UPDATE SET job_key = excluded.job_key, source = excluded.source,
         kind = excluded.kind, id = excluded.id, role = excluded.role, event_count = excluded.event_count,
         delivery_count = excluded.delivery_count, first_event_at = excluded.first_event_at,
         last_event_at = excluded.last_event_at, last_received_at = excluded.last_received_at,
         version = excluded.version, state = excluded.state`,
      next.job_key,
      next.source,
      next.kind,
      next.id,
      next.role,
      next.event_count,
      next.delivery_count,
      next.first_event_at,
      next.last_event_at,
      next.last_received_at,
      next.version,
      next.flush_attempts,
      next.state,
      next.projected_version,
    );
    let linksQueued = false;
    if (event.linkToJob !== null) {
      this.sql.exec(
        `INSERT INTO links (rel, job_key, occurred_at) VALUES ('job', ?, ?)
         ON CONFLICT (rel, job_key) DO UPDATE SET occurred_at = max(occurred_at, excluded.occurred_at)`,
        event.linkToJob.jobKey,
        event.occurredAt,
      );
      this.sql.exec(
        "INSERT INTO outbox (kind, target, created_at) VALUES ('link', ?, ?)",
        event.linkToJob.jobKey,
        now,
      );
      linksQueued = true;
    } else if (next.role === "file" && state.status?.value.status !== previous.status?.value.status) {
      // The file's status changed: its jobs' details show it from what this file pushes them, so
      // queue a push to each (sent at once by ingest, retried by the alarm until delivered).
      const queued = this.sql.exec(
        `INSERT INTO outbox (kind, target, created_at)
         SELECT 'link', job_key, ? FROM links WHERE rel = 'job' RETURNING seq`,
        now,
      );
      linksQueued = queued.toArray().length > 0;
    }
    return { result: { duplicate, summary: summaryOf(next), entry }, job: next, linksQueued };
  }

  /**
   * Sets the alarm for `at` unless one is pending sooner. A later pending alarm is brought forward;
   * a sooner one (a retry in progress) is left alone, so new events never cut a backoff short.
   */
  private async armAlarm(at: number): Promise<void> {
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  /** Confirms that D1 holds this job's latest version, or sends it to the projection queue again. */
  private async checkProjection(job: JobRow): Promise<void> {
    if (job.projected_version >= job.version) return;
    const inD1 = await withDeadline(this.projector.versionOf(job.job_key), ALARM_CALL_MS, "the D1 check");
    if (inD1 !== null && inD1 >= job.version) {
      this.sql.exec("UPDATE job SET projected_version = max(projected_version, ?)", inD1);
      this.job = undefined;
      return;
    }
    const message: ProjectionMessage = { jobKey: job.job_key, version: job.version, summary: summaryOf(job) };
    await withDeadline(
      this.projectionQueue.sendBatch([{ body: message }]),
      ALARM_CALL_MS,
      "the projection send",
    );
    console.log(
      JSON.stringify({
        level: "info",
        msg: "projection re-sent by the safety check",
        jobKey: job.job_key,
        version: job.version,
        inD1,
      }),
    );
  }

  /**
   * Tells each linked job about this file and its current status (read when sent, with the file's
   * version, so a later push always wins). Outbox rows leave only once delivered, and only those
   * read here: a status change stored while a push is on its way queues a row of its own.
   */
  private async deliverLinks(): Promise<void> {
    const links = this.sql
      .exec<{ seq: number; target: string }>(
        "SELECT max(seq) AS seq, target FROM outbox WHERE kind = 'link' GROUP BY target ORDER BY min(seq)",
      )
      .toArray();
    for (const link of links) {
      const job = this.jobRow();
      if (job === null) return;
      const occurredAt =
        this.sql
          .exec<{ occurred_at: number }>(
            "SELECT occurred_at FROM links WHERE rel = 'job' AND job_key = ?",
            link.target,
          )
          .toArray()[0]?.occurred_at ?? 0;
      const pushed: PushedStatus = {
        status: parseState(job.state).status?.value.status ?? DEFAULT_STATUS,
        version: job.version,
      };
      await withDeadline(
        this.linkedLedger(link.target).linkFile(job.job_key, occurredAt, link.target, pushed),
        ALARM_CALL_MS,
        "linking",
      );
      this.sql.exec(
        "DELETE FROM outbox WHERE kind = 'link' AND target = ? AND seq <= ?",
        link.target,
        link.seq,
      );
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
      // A file's answer is kept only while its ledger has pushed nothing: a push is newer.
      this.sql.exec(
        `UPDATE links SET last_status = ?, status_version = coalesce(status_version, 0)
         WHERE rel = ? AND job_key = ? AND (rel = 'job' OR status_version IS NULL)`,
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
    if (this.job === undefined) this.job = this.sql.exec<JobRow>("SELECT * FROM job").toArray()[0] ?? null;
    return this.job;
  }
}

function historyEntry(row: HistoryRow): HistoryEntry {
  return {
    eventId: row.event_id,
    eventType: row.event_type,
    status: row.status as Status | null,
    vendorStatus: row.vendor_status,
    occurredAt: isoTime(row.occurred_at),
    receivedAt: isoTime(row.received_at),
    deliveries: row.deliveries,
    summary: JSON.parse(row.summary) as Record<string, unknown>,
  };
}

function parseState(text: string): JobState {
  return { ...EMPTY_STATE, ...(JSON.parse(text) as Partial<JobState>) };
}

/** The summary of CONTRACT §5 from the job row alone: its counters and its derived state. */
function summaryOf(job: JobRow): JobSummary {
  const state = parseState(job.state);
  const current = state.status?.value ?? {
    status: DEFAULT_STATUS,
    vendorStatus: state.latestType?.value ?? DEFAULT_STATUS,
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
    companyId: state.companyId?.value ?? null,
    companyName: state.companyName?.value ?? null,
    name: state.name?.value ?? null,
    stage: state.stage?.value ?? null,
    retries: state.retries?.value ?? null,
    failure: current.failure,
    firstEventAt: isoTime(job.first_event_at),
    lastEventAt: isoTime(job.last_event_at),
    lastReceivedAt: isoTime(job.last_received_at),
    eventCount: job.event_count,
    deliveryCount: job.delivery_count,
    version: job.version,
  };
}

/**
 * @module JobLedger — the Durable Object that holds one job's exact, ordered history (CONTRACT
 * §3.3, §4), one object per job key. The class only binds the object's storage, alarm and sockets
 * to the modules beside it: storing a delivery (./store), the job row and its summary
 * (./job-record), the detail (./detail) and raw bodies (./history), links (./links), the safety
 * check (./safety), key registration (./registration), the live view (./live) and tenancy
 * (./tenancy).
 */
import { DurableObject } from "cloudflare:workers";
import type { JobSummary, ProjectionQueue } from "../core/summary";
import { withDeadline } from "../deadline";
import { shardedRegistrar } from "../registry/key-registry";
import { readDetail } from "./detail";
import { entryOf, rawBody, type StoredVerification, storedVerification } from "./history";
import { JobRow, statusOf, summaryOf } from "./job-record";
import * as links from "./links";
import { firstEntry, Watchers } from "./live";
import { LedgerRegistration } from "./registration";
import * as safety from "./safety";
import { migrateLedger } from "./schema";
import { storeDelivery } from "./store";
import * as tenancy from "./tenancy";
import type {
  CompanyMismatch,
  DetailPage,
  IngestResult,
  KnownLink,
  LedgerDetail,
  StoredEvent,
} from "./types";

export type { LinkedLedger, PushedStatus } from "./links";
export type { StreamMessage } from "./live";
export { type ProjectionState, RETRY_FIRST_MS } from "./safety";

export class JobLedger extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** Where the safety check reads D1: the seam through which tests inject a D1 outage. */
  projector: safety.ProjectionReader;
  /** Where the safety check re-sends a summary: the seam through which tests make sends fail. */
  projectionQueue: ProjectionQueue;
  /** Reaches another job's ledger for links: the seam through which tests make one slow or down. */
  linkedLedger: (jobKey: string) => links.LinkedLedger;
  /** This job's key in the key registry, for reprojection; `registration.registrar` is a test seam. */
  readonly registration: LedgerRegistration;
  private readonly alarmClock: ReturnType<typeof safety.alarmClock>;
  private readonly row: JobRow;
  private readonly live: Watchers;
  private readonly projection = safety.projectionCheck();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.projector = safety.d1ProjectionReader(env.DB);
    this.projectionQueue = env.PROJECTION;
    this.linkedLedger = (jobKey) => env.JOBS.get(env.JOBS.idFromName(jobKey));
    this.registration = new LedgerRegistration(this.sql, shardedRegistrar(env));
    this.live = new Watchers(ctx);
    const created = migrateLedger(ctx.storage) === "created";
    // A new object has no row, no alarm and no registration: nothing to read back.
    this.alarmClock = safety.alarmClock(ctx.storage, created ? null : undefined);
    this.row = new JobRow(this.sql, created ? null : undefined);
    if (created) this.registration.known(false);
    // An object that stopped between a write and arming its check (a crash, a deploy) would leave
    // D1 behind until the next delivery: on start, anything not known to be in D1 gets its check.
    else void ctx.blockConcurrencyWhile(() => this.armIfBehind());
  }

  /**
   * Stores one delivery. The first delivery of an event id adds it to the history; a repeat only
   * counts the delivery; one of another company than the job's is refused (./tenancy). The answer
   * is released only once storage has the write (output gate).
   */
  async ingest(event: StoredEvent, raw: ArrayBuffer, auth: string | null = null): Promise<IngestResult> {
    const refused = await tenancy.admitDelivery(() => this.row.current(), event, this.linkedLedger);
    if (refused !== null) return { refused };
    await this.registerBeforeFirstWrite(event.jobKey);
    const before = this.row.current();
    let stored: ReturnType<typeof storeDelivery>;
    try {
      stored = this.ctx.storage.transactionSync(() => storeDelivery(this.sql, before, event, raw, auth));
    } catch (error) {
      this.row.forget();
      throw error;
    }
    this.row.set(stored.job);
    const summary = summaryOf(stored.job);
    this.live.broadcast(() => {
      const entry = stored.duplicate ? entryOf(this.sql, event.eventId) : firstEntry(event);
      return entry === null ? null : { type: "change", summary, entry };
    });
    await this.alarmClock.arm(Date.now() + safety.PROJECTION_CHECK_MS);
    if (stored.linksQueued) {
      // Link (or push the file's new status) at once, so the job's detail shows it as soon as this
      // delivery is answered. The event is stored: if the other ledger is slow or unreachable,
      // answer anyway and let the alarm retry from the outbox rows written above.
      await withDeadline(this.deliverLinks(), links.INLINE_LINK_MS, "linking").catch(() =>
        this.alarmClock.arm(Date.now() + safety.RETRY_FIRST_MS),
      );
    }
    return { duplicate: stored.duplicate, summary };
  }

  /** The job's detail (./detail), or null if this job has no row. */
  async detail(page: DetailPage = {}): Promise<LedgerDetail | null> {
    return readDetail(this.sql, () => this.row.current(), this.linkedLedger, page);
  }

  /** A live view of this job (CONTRACT §7), as a WebSocket the Worker turns into Server-Sent Events. */
  override async fetch(request: Request): Promise<Response> {
    return this.live.accept(request, () => this.detail());
  }

  /** Watchers only listen. */
  override async webSocketMessage(): Promise<void> {}

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    ws.close(code === 1005 || code === 1006 ? 1000 : code, "closed");
  }

  /** How many watchers this job has, for tests and operators. */
  async watchers(): Promise<number> {
    return this.live.count();
  }

  /** The job's summary — the truth reprojection writes to D1 — or null if it has no event. */
  async summary(): Promise<JobSummary | null> {
    const job = this.row.current();
    return job === null || job.event_count === 0 ? null : summaryOf(job);
  }

  /** The current status and company of this job, for the detail of a linked job. */
  async brief(jobKey: string): Promise<KnownLink> {
    const job = this.row.current();
    return { jobKey, status: statusOf(job), companyId: job?.company_id ?? null };
  }

  /** The event's raw body, byte for byte, or null if this job has no such event. */
  async rawEvent(eventId: string): Promise<ArrayBuffer | null> {
    return rawBody(this.sql, eventId);
  }

  /** What re-verifying a stored event needs (CONTRACT §9), or null if this job has no such event. */
  async verification(eventId: string): Promise<StoredVerification | null> {
    return storedVerification(this.sql, eventId);
  }

  /**
   * Has the safety check run within a second: the Worker could not send this job's summary itself
   * (its send failed or ran out of time), and the list must show the change within 2 s.
   */
  async checkSoon(): Promise<void> {
    await this.alarmClock.arm(Date.now() + safety.CHECK_SOON_MS);
  }

  /** Admits a file of `companyId` into this job before its link is stored, or refuses it (./tenancy). */
  async admitFile(jobKey: string, companyId: string | null, at: number): Promise<CompanyMismatch | null> {
    await this.registerBeforeFirstWrite(jobKey);
    const admitted = tenancy.admitFileLink(this.sql, this.row.current(), { jobKey, companyId, at });
    this.row.set(admitted.written);
    return admitted.mismatch;
  }

  /** Records that `fileKey` belongs to this job, with its status (`recordFileLink`, ./links). */
  async linkFile(fileKey: string, occurredAt: number, jobKey?: string, pushed?: links.PushedStatus) {
    if (jobKey !== undefined) await this.registerBeforeFirstWrite(jobKey);
    const link = { fileKey, occurredAt, jobKey, pushed };
    this.row.set(links.recordFileLink(this.sql, this.row.current(), link));
  }

  /**
   * The safety net: makes sure D1 holds this job's latest version, delivers pending links and
   * registers the key; reschedules itself, with backoff on failure, until all are done.
   */
  override async alarm(): Promise<void> {
    this.alarmClock.fired();
    const job = this.row.current();
    if (job === null) return;
    const failure = await safety.runSteps([
      async () => {
        const held = await this.projection.run(job, this.projector, this.projectionQueue);
        if (held !== null) this.row.update("projected_version", held);
      },
      () => this.deliverLinks(),
      () => this.registration.ensure(job.job_key),
    ]);
    if (failure !== null) {
      const attempts = job.flush_attempts + 1;
      this.row.update("flush_attempts", attempts);
      await this.alarmClock.arm(Date.now() + safety.retryAfterFailure(job.job_key, attempts, failure));
      return;
    }
    if (job.flush_attempts !== 0) this.row.update("flush_attempts", 0);
    await this.armIfBehind();
  }

  /** Where this job's projection stands. */
  async projectionState(): Promise<safety.ProjectionState> {
    const { version = 0, projected_version: projectedVersion = 0 } = this.row.current() ?? {};
    return { version, projectedVersion, pendingLinks: links.pendingLinks(this.sql) };
  }

  /**
   * Arms the usual check (not a retry's: a woken object's D1 is mostly one queue batch behind) if D1
   * may lack a change, a link waits or the key is unregistered.
   */
  private async armIfBehind(): Promise<void> {
    const job = this.row.current();
    if (job === null) return;
    const unregistered = this.registration.pending();
    const behind = job.projected_version < job.version && !this.projection.givenUp(job);
    if (behind || links.pendingLinks(this.sql) > 0 || unregistered) {
      await this.alarmClock.arm(Date.now() + safety.PROJECTION_CHECK_MS);
    }
  }

  /** A key is in the registry before its ledger writes anything (./registration). */
  private async registerBeforeFirstWrite(jobKey: string): Promise<void> {
    if (this.row.current() === null) await this.registration.ensure(jobKey);
  }

  private deliverLinks(): Promise<void> {
    return links.deliverLinks(this.sql, () => this.row.current(), this.linkedLedger);
  }
}

/**
 * @module The job row of a ledger — its counters and its derived state (./order) — and the
 * summary of CONTRACT §5 made from it alone. The ledger keeps the row in memory with its state
 * parsed: it is the row's only writer, so the row is read once per object, not per delivery.
 */
import type { JobSummary } from "../core/summary";
import { isoTime, type Source, type Status } from "../core/vocabulary";
import { EMPTY_STATE, type JobState } from "./order";

/**
 * The status of a job that no status-bearing event has reached yet (only history-only events such
 * as an Alfred tag change, or a job known only from a link): known, not yet started.
 */
export const DEFAULT_STATUS: Status = "pending";

/** The job row, its `state` parsed. */
export interface JobRecord {
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
  projected_version: number;
  /** The job's company, fixed by the first event (or file link) that named one (./tenancy). */
  company_id: string | null;
  state: JobState;
}

type StoredJobRow = Omit<JobRecord, "state"> & { state: string } & Record<string, SqlStorageValue>;

/** The job row, or null for an object that has stored nothing and been linked to by nothing. */
export function readJob(sql: SqlStorage): JobRecord | null {
  const [row] = sql.exec<StoredJobRow>("SELECT * FROM job").toArray();
  return row === undefined ? null : { ...row, state: parseState(row.state) };
}

/**
 * The job row as this object last wrote or read it: the object is the row's only writer, so it is
 * read once per object, not per delivery. `forget` makes the next read go to storage again (after a
 * failed write).
 */
export class JobRow {
  private job: JobRecord | null | undefined;
  private readonly sql: SqlStorage;

  /** `known`: null for a new object (no row), undefined to read it when first asked. */
  constructor(sql: SqlStorage, known?: null) {
    this.sql = sql;
    this.job = known;
  }

  current(): JobRecord | null {
    if (this.job === undefined) this.job = readJob(this.sql);
    return this.job;
  }

  /** Keeps the row just written (null: nothing written; the row kept stays). */
  set(job: JobRecord | null): void {
    if (job !== null) this.job = job;
  }

  forget(): void {
    this.job = undefined;
  }

  /** Writes one of the alarm's bookkeeping columns, keeping the row in memory in step. */
  update(column: "projected_version" | "flush_attempts", value: number): void {
    this.sql.exec(`UPDATE job SET ${column} = ?`, value);
    const job = this.current();
    if (job !== null) this.job = { ...job, [column]: value };
  }
}

/** Writes the whole row (the state serialised once, here). */
export function writeJob(sql: SqlStorage, job: JobRecord): void {
  sql.exec(
    `INSERT INTO job (singleton, job_key, source, kind, id, role, event_count, delivery_count, first_event_at,
       last_event_at, last_received_at, version, flush_attempts, state, projected_version, company_id)
     VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (singleton) DO UPDATE SET job_key = excluded.job_key, source = excluded.source,
       kind = excluded.kind, id = excluded.id, role = excluded.role, event_count = excluded.event_count,
       delivery_count = excluded.delivery_count, first_event_at = excluded.first_event_at,
       last_event_at = excluded.last_event_at, last_received_at = excluded.last_received_at,
       version = excluded.version, state = excluded.state, company_id = excluded.company_id`,
    job.job_key,
    job.source,
    job.kind,
    job.id,
    job.role,
    job.event_count,
    job.delivery_count,
    job.first_event_at,
    job.last_event_at,
    job.last_received_at,
    job.version,
    job.flush_attempts,
    JSON.stringify(job.state),
    job.projected_version,
    job.company_id,
  );
}

/**
 * The row of a job known so far only from a link: no event, version 0, `pending`, and the company
 * of the file that named it, if that file has one (./tenancy).
 */
export function linkedOnlyJob(
  jobKey: string,
  at: number,
  now: number,
  companyId: string | null = null,
): JobRecord {
  const [source = "", kind = "", ...rest] = jobKey.split(":");
  return {
    job_key: jobKey,
    source,
    kind,
    id: rest.join(":"),
    role: "job",
    event_count: 0,
    delivery_count: 0,
    first_event_at: at,
    last_event_at: at,
    last_received_at: now,
    version: 0,
    flush_attempts: 0,
    projected_version: 0,
    company_id: companyId,
    state: EMPTY_STATE,
  };
}

function parseState(text: string): JobState {
  return { ...EMPTY_STATE, ...(JSON.parse(text) as Partial<JobState>) };
}

export function statusOf(job: JobRecord | null): Status {
  return job?.state.status?.value.status ?? DEFAULT_STATUS;
}

/** The summary of CONTRACT §5 from the job row alone: its counters and its derived state. */
export function summaryOf(job: JobRecord): JobSummary {
  const { state } = job;
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
    companyId: job.company_id,
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

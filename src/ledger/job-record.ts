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
  state: JobState;
}

type JobRow = Omit<JobRecord, "state"> & { state: string } & Record<string, SqlStorageValue>;

/** The job row, or null for an object that has stored nothing and been linked to by nothing. */
export function readJob(sql: SqlStorage): JobRecord | null {
  const [row] = sql.exec<JobRow>("SELECT * FROM job").toArray();
  return row === undefined ? null : { ...row, state: parseState(row.state) };
}

/** Writes the whole row (the state serialised once, here). */
export function writeJob(sql: SqlStorage, job: JobRecord): void {
  sql.exec(
    `INSERT INTO job (singleton, job_key, source, kind, id, role, event_count, delivery_count, first_event_at,
       last_event_at, last_received_at, version, flush_attempts, state, projected_version)
     VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (singleton) DO UPDATE SET job_key = excluded.job_key, source = excluded.source,
       kind = excluded.kind, id = excluded.id, role = excluded.role, event_count = excluded.event_count,
       delivery_count = excluded.delivery_count, first_event_at = excluded.first_event_at,
       last_event_at = excluded.last_event_at, last_received_at = excluded.last_received_at,
       version = excluded.version, state = excluded.state`,
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
  );
}

/** The row of a job known so far only from a link: no event, version 0, `pending`. */
export function linkedOnlyJob(jobKey: string, at: number, now: number): JobRecord {
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

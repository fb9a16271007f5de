/**
 * @module The D1 projection of job summaries: the idempotent upsert the ledger's outbox flush
 * writes, and the keyset query `GET /v1/jobs` reads (CONTRACT §3.3 "Consistency", §5).
 */
import { type Failure, isoTime, type JobSummary, type Source, type Status } from "../ledger/types";

/** The seam through which the ledger writes to D1; tests can put a failing one in its place. */
export interface JobProjector {
  upsert(summary: JobSummary, version: number): Promise<void>;
}

const UPSERT_SQL = `INSERT INTO jobs (job_key, source, kind, id, status, vendor_status, terminal, company_id,
  company_name, name, stage, retries, failure, first_event_at, last_event_at, last_received_at, event_count,
  delivery_count, version)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
ON CONFLICT (job_key) DO UPDATE SET
  status = excluded.status, vendor_status = excluded.vendor_status, terminal = excluded.terminal,
  company_id = excluded.company_id, company_name = excluded.company_name, name = excluded.name,
  stage = excluded.stage, retries = excluded.retries, failure = excluded.failure,
  first_event_at = excluded.first_event_at, last_event_at = excluded.last_event_at,
  last_received_at = excluded.last_received_at, event_count = excluded.event_count,
  delivery_count = excluded.delivery_count, version = excluded.version
WHERE excluded.version > jobs.version`;

/** Writes summaries to D1. Only a newer `version` replaces a row, so replays change nothing. */
export function d1Projector(db: D1Database): JobProjector {
  return {
    async upsert(summary, version) {
      await db
        .prepare(UPSERT_SQL)
        .bind(
          summary.jobKey,
          summary.source,
          summary.kind,
          summary.id,
          summary.status,
          summary.vendorStatus,
          summary.terminal ? 1 : 0,
          summary.companyId,
          summary.companyName,
          summary.name,
          summary.stage,
          summary.retries,
          summary.failure === null ? null : JSON.stringify(summary.failure),
          Date.parse(summary.firstEventAt),
          Date.parse(summary.lastEventAt),
          Date.parse(summary.lastReceivedAt),
          summary.eventCount,
          summary.deliveryCount,
          version,
        )
        .run();
    },
  };
}

export interface JobRow {
  job_key: string;
  source: string;
  kind: string;
  id: string;
  status: string;
  vendor_status: string;
  terminal: number;
  company_id: string | null;
  company_name: string | null;
  name: string | null;
  stage: string | null;
  retries: number | null;
  failure: string | null;
  first_event_at: number;
  last_event_at: number;
  last_received_at: number;
  event_count: number;
  delivery_count: number;
}

export function rowToSummary(row: JobRow): JobSummary {
  return {
    jobKey: row.job_key,
    source: row.source as Source,
    kind: row.kind,
    id: row.id,
    status: row.status as Status,
    vendorStatus: row.vendor_status,
    terminal: row.terminal === 1,
    companyId: row.company_id,
    companyName: row.company_name,
    name: row.name,
    stage: row.stage,
    retries: row.retries,
    failure: row.failure === null ? null : (JSON.parse(row.failure) as Failure),
    firstEventAt: isoTime(row.first_event_at),
    lastEventAt: isoTime(row.last_event_at),
    lastReceivedAt: isoTime(row.last_received_at),
    eventCount: row.event_count,
    deliveryCount: row.delivery_count,
  };
}

export interface JobQuery {
  sources: Source[] | null;
  kinds: string[] | null;
  statuses: Status[] | null;
  companies: string[] | null;
  updatedAfter: number | null;
  updatedBefore: number | null;
  limit: number;
  /** Keyset position: the last row of the previous page. */
  after: { lastEventAt: number; jobKey: string } | null;
}

/** Lists jobs newest first, keyset-paginated on `(last_event_at DESC, job_key ASC)`. */
export async function listJobs(db: D1Database, query: JobQuery): Promise<JobRow[]> {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const inList = (column: string, values: string[] | null) => {
    if (values === null) return;
    where.push(`${column} IN (${values.map(() => "?").join(", ")})`);
    params.push(...values);
  };
  inList("source", query.sources);
  inList("kind", query.kinds);
  inList("status", query.statuses);
  inList("company_id", query.companies);
  if (query.updatedAfter !== null) {
    where.push("last_event_at > ?");
    params.push(query.updatedAfter);
  }
  if (query.updatedBefore !== null) {
    where.push("last_event_at < ?");
    params.push(query.updatedBefore);
  }
  if (query.after !== null) {
    where.push("(last_event_at < ? OR (last_event_at = ? AND job_key > ?))");
    params.push(query.after.lastEventAt, query.after.lastEventAt, query.after.jobKey);
  }
  const sql = `SELECT * FROM jobs ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY last_event_at DESC, job_key ASC LIMIT ?`;
  params.push(query.limit);
  const result = await db
    .prepare(sql)
    .bind(...params)
    .all<JobRow>();
  return result.results;
}

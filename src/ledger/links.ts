/**
 * @module Links between ledgers (CONTRACT §4/§5): an Alfred file names the job it was added to,
 * and that job lists its files with the status each file's own ledger pushed it. A link or a push
 * waits in the outbox until the other ledger has it (sent at once by a delivery, retried by the
 * alarm), and a linked job's status is read under a deadline, so one slow ledger fails nobody's
 * detail.
 */
import type { Status } from "../core/vocabulary";
import { withDeadline } from "../deadline";
import { DEFAULT_STATUS, type JobRecord, linkedOnlyJob, statusOf, writeJob } from "./job-record";
import { FILES_PAGE, FILES_PAGE_BYTES, takePage } from "./pages";
import type { AdmittingLedger } from "./tenancy";
import type { KnownLink } from "./types";

/**
 * How long a detail waits for a linked job's status before showing the last one it knows: a file's
 * job, or a file linked before files pushed their status (schema v5), asked once.
 */
export const LINK_READ_MS = 2_000;
/** How long a delivery waits to link a file into its job before leaving it to the alarm. */
export const INLINE_LINK_MS = 1_000;
/** How long one link delivery from the alarm may take. */
export const LINK_CALL_MS = 10_000;

export type LinkRel = "file" | "job";

/**
 * A file's status as its own ledger pushes it to its job's ledger, with the file's version and
 * company (undefined: a push of a release before companies were pushed; kept as none).
 */
export interface PushedStatus {
  status: Status;
  version: number;
  companyId?: string | null;
}

/** What one ledger asks of another about links (and, before storing one, its admission: ./tenancy). */
export interface LinkedLedger extends AdmittingLedger {
  linkFile(fileKey: string, occurredAt: number, jobKey?: string, pushed?: PushedStatus): Promise<void>;
  brief(jobKey: string): Promise<KnownLink>;
}

/** A file linked to this job, with the status and company its ledger last pushed (null: never pushed). */
interface FileLinkRow extends Record<string, SqlStorageValue> {
  job_key: string;
  last_status: string | null;
  status_version: number | null;
  company_id: string | null;
}

/**
 * Records on a job's ledger that `fileKey` belongs to it, with the file's status; a push older than
 * the one kept (a lower file version) changes nothing. A job known only from such a link gets a
 * row with no event, so its detail answers (`pending`, its files) instead of 404: that row is
 * returned, else null.
 */
export function recordFileLink(
  sql: SqlStorage,
  job: JobRecord | null,
  link: { fileKey: string; occurredAt: number; jobKey?: string; pushed?: PushedStatus },
): JobRecord | null {
  let created: JobRecord | null = null;
  if (link.jobKey !== undefined && job === null) {
    created = linkedOnlyJob(link.jobKey, link.occurredAt, Date.now());
    writeJob(sql, created);
  }
  sql.exec(
    `INSERT INTO links (rel, job_key, occurred_at, last_status, status_version, company_id) VALUES ('file', ?, ?, ?, ?, ?)
     ON CONFLICT (rel, job_key) DO UPDATE SET occurred_at = max(occurred_at, excluded.occurred_at),
       last_status = iif(excluded.status_version >= coalesce(status_version, -1), excluded.last_status, last_status),
       company_id = iif(excluded.status_version >= coalesce(status_version, -1), excluded.company_id, company_id),
       status_version = iif(excluded.status_version >= coalesce(status_version, -1), excluded.status_version, status_version)`,
    link.fileKey,
    link.occurredAt,
    link.pushed?.status ?? null,
    link.pushed?.version ?? null,
    link.pushed?.companyId ?? null,
  );
  return created;
}

/** Linked job keys, the most recent link first. */
export function linkedKeys(sql: SqlStorage, rel: LinkRel): string[] {
  return sql
    .exec<{ job_key: string }>(
      "SELECT job_key FROM links WHERE rel = ? ORDER BY occurred_at DESC, job_key",
      rel,
    )
    .toArray()
    .map((row) => row.job_key);
}

/**
 * A linked job's current status and company, asked of its ledger under a deadline. If that ledger
 * is slow or down, the last ones it gave are shown (or the default status), so one unreachable file
 * does not fail its job's whole detail.
 */
export async function briefOf(
  sql: SqlStorage,
  ledgerOf: (jobKey: string) => LinkedLedger,
  rel: LinkRel,
  jobKey: string,
): Promise<KnownLink> {
  try {
    const brief = await withDeadline(ledgerOf(jobKey).brief(jobKey), LINK_READ_MS, "a linked ledger");
    // A file's answer is kept only while its ledger has pushed nothing: a push is newer.
    sql.exec(
      `UPDATE links SET last_status = ?, company_id = ?, status_version = coalesce(status_version, 0)
       WHERE rel = ? AND job_key = ? AND (rel = 'job' OR status_version IS NULL)`,
      brief.status,
      brief.companyId ?? null,
      rel,
      jobKey,
    );
    return { jobKey, status: brief.status, companyId: brief.companyId ?? null };
  } catch (error) {
    const [cached] = sql.exec<{ last_status: string | null; company_id: string | null }>(
      "SELECT last_status, company_id FROM links WHERE rel = ? AND job_key = ?",
      rel,
      jobKey,
    );
    console.log(
      JSON.stringify({
        level: "warn",
        msg: "linked ledger unavailable; showing its last status",
        jobKey,
        error: String(error),
      }),
    );
    return {
      jobKey,
      status: (cached?.last_status as Status | null | undefined) ?? DEFAULT_STATUS,
      companyId: cached?.company_id ?? null,
    };
  }
}

/**
 * One page of a job's files, in key order, with the statuses the files' ledgers pushed: no call per
 * file. A file linked before pushes existed (schema v5) has none yet; it is asked once, and its
 * answer kept. `next` is the last file's key when more follow.
 */
export async function filesPage(
  sql: SqlStorage,
  ledgerOf: (jobKey: string) => LinkedLedger,
  after?: string,
): Promise<{ items: KnownLink[]; next: string | null }> {
  const rows = sql.exec<FileLinkRow>(
    `SELECT job_key, last_status, status_version, company_id FROM links
     WHERE rel = 'file' ${after === undefined ? "" : "AND job_key > ?"} ORDER BY job_key`,
    ...(after === undefined ? [] : [after]),
  );
  const unpushed = new Set<string>();
  const page = takePage(
    rows,
    (row): KnownLink => {
      if (row.status_version === null) unpushed.add(row.job_key);
      const status = (row.last_status as Status | null) ?? DEFAULT_STATUS;
      return { jobKey: row.job_key, status, companyId: row.company_id };
    },
    FILES_PAGE,
    FILES_PAGE_BYTES,
  );
  const items = await Promise.all(
    page.items.map((file) =>
      unpushed.has(file.jobKey) ? briefOf(sql, ledgerOf, "file", file.jobKey) : file,
    ),
  );
  return { items, next: page.more && page.last !== null ? page.last.job_key : null };
}

/** Outbox rows waiting: links and status pushes not yet delivered to other ledgers. */
export function pendingLinks(sql: SqlStorage): number {
  return sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox WHERE kind = 'link'").one().n;
}

/**
 * Tells each linked job about this file and its current status (read when sent, with the file's
 * version, so a later push always wins). Outbox rows leave only once delivered, and only those
 * read here: a status change stored while a push is on its way queues a row of its own.
 */
export async function deliverLinks(
  sql: SqlStorage,
  currentJob: () => JobRecord | null,
  ledgerOf: (jobKey: string) => LinkedLedger,
): Promise<void> {
  const links = sql
    .exec<{ seq: number; target: string }>(
      "SELECT max(seq) AS seq, target FROM outbox WHERE kind = 'link' GROUP BY target ORDER BY min(seq)",
    )
    .toArray();
  for (const link of links) {
    const job = currentJob();
    if (job === null) return;
    const [linked] = sql.exec<{ occurred_at: number }>(
      "SELECT occurred_at FROM links WHERE rel = 'job' AND job_key = ?",
      link.target,
    );
    const pushed: PushedStatus = { status: statusOf(job), version: job.version, companyId: job.company_id };
    await withDeadline(
      ledgerOf(link.target).linkFile(job.job_key, linked?.occurred_at ?? 0, link.target, pushed),
      LINK_CALL_MS,
      "linking",
    );
    sql.exec("DELETE FROM outbox WHERE kind = 'link' AND target = ? AND seq <= ?", link.target, link.seq);
  }
}

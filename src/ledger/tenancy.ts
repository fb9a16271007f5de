/**
 * @module Tenancy (CONTRACT §4): a job's company is fixed by its first event that names one and
 * never changes, so a company-scoped token that can read a job can trust what it reads. A later
 * event of the job naming another company is refused before anything is stored, and so is a file
 * link (Alfred `file_add_to_job`) between a file and a job of two companies; the Worker then
 * quarantines the delivery (src/ingest/pipeline.ts) — all before its answer.
 *
 * A link involves two ledgers, and the refusal must come before the 2xx, while the link itself is
 * delivered to the job's ledger after it (./links). So the file's ledger asks the job's ledger to
 * **admit** the file first, before storing the event ({@link admitDelivery}): the job's ledger
 * compares companies, and fixes its own company from the file's if it has none and no event yet —
 * a job known only from links belongs to its files' company, so a company token can read it, and a
 * later event of that job naming another company is refused like any other. It also writes the job's
 * row then, so the job exists (pending, with its files to come) from the link's 2xx on.
 */
import { withDeadline } from "../deadline";
import { type JobRecord, linkedOnlyJob, writeJob } from "./job-record";
import type { CompanyMismatch, StoredEvent } from "./types";

/** How long a file's delivery waits for its job's ledger to admit the link before it fails (503). */
export const ADMIT_MS = 5_000;

/** What a file's ledger asks of its job's ledger before storing a link. */
export interface AdmittingLedger {
  admitFile(jobKey: string, companyId: string | null, occurredAt: number): Promise<CompanyMismatch | null>;
}

/** The refusal, if `job` is fixed to a company and `companyId` names another. */
export function companyMismatch(job: JobRecord | null, companyId: string | null): CompanyMismatch | null {
  if (job === null || job.company_id === null || companyId === null || job.company_id === companyId) {
    return null;
  }
  return { jobKey: job.job_key, companyId: job.company_id, named: companyId };
}

/**
 * Whether a delivery may be stored on the job `current()` answers: its company must be the job's
 * (or either unknown), and a link's file must be admitted by its job's ledger. The job is read again
 * after that call: another delivery may have fixed the company while it was on its way.
 */
export async function admitDelivery(
  current: () => JobRecord | null,
  event: StoredEvent,
  ledgerOf: (jobKey: string) => AdmittingLedger,
): Promise<CompanyMismatch | null> {
  const own = companyMismatch(current(), event.companyId);
  if (own !== null || event.linkTo === null) return own;
  const company = event.companyId ?? current()?.company_id ?? null;
  const theirs = await withDeadline(
    ledgerOf(event.linkTo).admitFile(event.linkTo, company, event.occurredAt),
    ADMIT_MS,
    "the linked job's admission",
  );
  return theirs ?? companyMismatch(current(), company);
}

/**
 * The job's side of {@link admitDelivery}: refuses a file of another company; writes the row of a
 * job not known yet (`linkedOnlyJob`), with the file's company; fixes the company of a job that has
 * none and no event. Answers the refusal, and the row when it wrote one.
 */
export function admitFileLink(
  sql: SqlStorage,
  job: JobRecord | null,
  link: { jobKey: string; companyId: string | null; at: number },
): { mismatch: CompanyMismatch | null; written: JobRecord | null } {
  if (job === null) {
    const created = linkedOnlyJob(link.jobKey, link.at, Date.now(), link.companyId);
    writeJob(sql, created);
    return { mismatch: null, written: created };
  }
  const mismatch = companyMismatch(job, link.companyId);
  if (mismatch !== null || job.company_id !== null || link.companyId === null || job.event_count > 0) {
    return { mismatch, written: null };
  }
  sql.exec("UPDATE job SET company_id = ?", link.companyId);
  return { mismatch: null, written: { ...job, company_id: link.companyId } };
}

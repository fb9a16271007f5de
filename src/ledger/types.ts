/**
 * @module What a ledger takes and answers, besides the neutral vocabulary (src/core): the event
 * as it is stored, which page of a detail to read, and what storing a delivery answers.
 */
import type { JobDetail, JobSummary, LinkedJob } from "../core/summary";
import type { NormalizedEvent } from "../core/vocabulary";

/**
 * One event as its ledger stores it — only what it stores, so the call into the ledger carries no
 * more (made by `storedEvent`, ./bounds): the normalized event's fields cut to size, its history
 * summary as JSON text, the key of the job it links a file into, and the time it orders by
 * (`orderTime` in ./order — the vendor's time unless the operator's future horizon capped it).
 */
export type StoredEvent = Omit<NormalizedEvent, "summary" | "linkToJob"> & {
  /** The time it orders by (`orderTime` in ./order). */
  orderAt: number;
  /** The history entry's facts, as JSON text (at most 16 KB). */
  summaryJson: string;
  /** On a file event that puts the file into a job (Alfred `file_add_to_job`): that job's key. */
  linkTo: string | null;
};

/**
 * A linked job as a ledger knows it: the API's `{ jobKey, status }` and that job's company, so the
 * read API shows a link only to a token that may read the job it names (CONTRACT §5).
 */
export interface KnownLink extends LinkedJob {
  companyId: string | null;
}

/** A job's detail as its ledger answers it: the API's, with each link's company (KnownLink). */
export type LedgerDetail = Omit<JobDetail, "files" | "job"> & {
  files?: KnownLink[];
  job?: KnownLink | null;
};

/** Which page of a job's detail to read (docs/API.md); absent fields mean the first page. */
export interface DetailPage {
  /** The history-order key of the last entry already read. */
  historyAfter?: number[];
  historyLimit?: number;
  /** The key of the last file already read. */
  filesAfter?: string;
}

/**
 * Why a delivery was not applied (CONTRACT §4 "Tenancy"): `jobKey` is fixed to `companyId`, and the
 * delivery is of company `named` — the event names it, or it links a file of it into that job.
 */
export interface CompanyMismatch {
  jobKey: string;
  companyId: string;
  named: string;
}

/**
 * What storing a delivery answers: all the Worker uses of it — the job as of this delivery, or
 * why it was refused (nothing stored, nothing counted: the Worker quarantines the delivery).
 */
export type IngestResult =
  | {
      /** True when the event id was already stored: only the delivery was counted. */
      duplicate: boolean;
      /** The job as of this delivery, for the D1 projection (its `version` orders the copies). */
      summary: JobSummary;
    }
  | { refused: CompanyMismatch };

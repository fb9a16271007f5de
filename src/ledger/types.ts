/**
 * @module What the ledger takes and answers besides the neutral vocabulary (src/core): the event
 * as it enters a ledger, which page of a detail to read, and what storing a delivery answers.
 */
import type { HistoryEntry, JobSummary } from "../core/summary";
import type { NormalizedEvent } from "../core/vocabulary";

/**
 * An event on its way into its ledger: normalized, plus the time it orders by (`orderTime` in
 * ./order — the vendor's time unless the operator's future horizon capped it).
 */
export interface OrderedEvent extends NormalizedEvent {
  orderAt: number;
}

/** Which page of a job's detail to read (README "Read API"); absent fields mean the first page. */
export interface DetailPage {
  /** The history-order key of the last entry already read. */
  historyAfter?: number[];
  historyLimit?: number;
  /** The key of the last file already read. */
  filesAfter?: string;
}

export interface IngestResult {
  /** True when the event id was already stored: only the delivery was counted. */
  duplicate: boolean;
  /** The job as of this delivery, for the D1 projection. */
  summary: JobSummary;
  /** The history entry of the event this delivery was for, as of this delivery. */
  entry: HistoryEntry;
}

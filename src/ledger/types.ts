/**
 * @module The one type that crosses from the vendor adapters to the ledger ({@link NormalizedEvent}),
 * and the shapes the ledger answers with. Nothing below the adapters knows a vendor's field names.
 */
import type { Source } from "../vendors/registry";

/** A job's source: a registered vendor's name (the registry, `vendors/registry.ts`, derives it). */
export type { Source };

/** Normalized status (CONTRACT §4); the vendor's own value is kept beside it as `vendorStatus`. */
export const STATUSES = [
  "pending",
  "processing",
  "needs_review",
  "succeeded",
  "failed",
  "cancelled",
  "rejected",
  "active",
  "deleted",
] as const;
export type Status = (typeof STATUSES)[number];

export interface Failure {
  reason: string | null;
  messages: string[];
}

export type JobRole = "job" | "file";

/** A link from one job to another (an Alfred file to the job it was added to). */
export interface JobLink {
  jobKey: string;
}

/**
 * One vendor event, normalized. `rank` is the event's lifecycle step: on an `occurredAt` tie the
 * higher rank is the later step (CONTRACT §4 "Order"). `status` is null for events that are history
 * entries only (an Alfred tag change, say) and leave the job's status as it is.
 */
export interface NormalizedEvent {
  source: Source;
  kind: string;
  id: string;
  jobKey: string;
  eventId: string;
  eventType: string;
  status: Status | null;
  vendorStatus: string | null;
  /** Whether this event's status ends the job (Alfred `failed` only once retries are exceeded). */
  terminal: boolean;
  rank: number;
  /** Milliseconds since the epoch. */
  occurredAt: number;
  receivedAt: number;
  companyId: string | null;
  companyName: string | null;
  name: string | null;
  stage: string | null;
  retries: number | null;
  failure: Failure | null;
  /** Small per-event facts shown in the history entry (stage, error messages, tag …). */
  summary: Record<string, unknown>;
  /** Set on a file event that puts the file into a job (Alfred `file_add_to_job`). */
  linkToJob: JobLink | null;
  /**
   * What the job key names, for the links of CONTRACT §4/§5: a `file` belongs to a job (its detail
   * names that job); a `job` lists the files added to it.
   */
  role: JobRole;
}

/**
 * An event on its way into its ledger: normalized, plus the time it orders by (`orderTime` in
 * ./order — the vendor's time unless the operator's future horizon capped it).
 */
export interface OrderedEvent extends NormalizedEvent {
  orderAt: number;
}

export interface JobSummary {
  jobKey: string;
  source: Source;
  kind: string;
  id: string;
  /** `pending` until an event sets a status. */
  status: Status;
  /** The vendor's own status, else the type of the deciding (or latest) event. */
  vendorStatus: string;
  terminal: boolean;
  companyId: string | null;
  companyName: string | null;
  name: string | null;
  stage: string | null;
  retries: number | null;
  failure: Failure | null;
  firstEventAt: string;
  lastEventAt: string;
  lastReceivedAt: string;
  eventCount: number;
  deliveryCount: number;
  /**
   * The ledger's change counter: grows with every accepted delivery of the job, repeats included,
   * so of two copies of one job the higher version is the newer (CONTRACT §5).
   */
  version: number;
}

export interface HistoryEntry {
  eventId: string;
  eventType: string;
  status: Status | null;
  vendorStatus: string | null;
  occurredAt: string;
  receivedAt: string;
  deliveries: number;
  summary: Record<string, unknown>;
}

export interface LinkedJob {
  jobKey: string;
  status: Status;
}

export interface JobDetail extends JobSummary {
  /** One page of the history, in history order (the whole history for a job of ≤ 100 entries). */
  history: HistoryEntry[];
  /**
   * Where the history continues (`historyCursor=`); absent when this page ends it, so the detail of
   * a job that fits one page has exactly the fields it always had.
   */
  historyNextCursor?: string;
  /** On a job: one page of the files linked to it (Alfred), in key order. */
  files?: LinkedJob[];
  /** On a job: where its files continue (`filesCursor=`); absent when this page ends them. */
  filesNextCursor?: string;
  /** On a file: the job it belongs to, if known. */
  job?: LinkedJob | null;
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

/** Terminal statuses: a terminal job is done, whatever arrives later with an older `occurredAt`. */
export function isTerminalStatus(status: Status): boolean {
  return (
    status === "succeeded" ||
    status === "failed" ||
    status === "cancelled" ||
    status === "rejected" ||
    status === "deleted"
  );
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

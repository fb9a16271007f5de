/**
 * @module The neutral vocabulary every layer speaks: sources, statuses, a failure, a validation
 * issue, and the one event shape that crosses from the vendor adapters to the ledger
 * ({@link NormalizedEvent}). It imports nothing of the product: vendors, the ledger, the
 * projection and the API all depend on it, it on none of them. Nothing here knows a vendor's
 * field names.
 */

/**
 * A job's source: the first part of its key, a registered vendor's name. The vendor registry
 * (`vendors/registry.ts`) is checked at compile time to hold exactly these, each under its name.
 */
export const SOURCES = ["extend", "alfred", "standard"] as const;
export type Source = (typeof SOURCES)[number];

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

export interface Failure {
  reason: string | null;
  messages: string[];
}

/** One validation issue, as the quarantine API shows it. */
export interface Issue {
  path: string;
  message: string;
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

/** Milliseconds since the epoch as the API shows a time: ISO 8601 UTC with milliseconds. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

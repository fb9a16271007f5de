/**
 * @module Alfred events → {@link NormalizedEvent} (CONTRACT §4). Event names arrive in three
 * spellings (vendors/alfred.md §1.5) and are reduced to one canonical name; the name decides the
 * status and the lifecycle step. Alfred rounds `event_time` to seconds, so create, start and stage
 * updates often share one second: the lifecycle rank orders them.
 */
import * as v from "valibot";
import type { Failure, Issue, NormalizedEvent, Status } from "../../core/vocabulary";
import { lookup, toIssues } from "../index";
import {
  type AlfredEnvelope,
  type AlfredEvent,
  addToJobSchema,
  eventSchema,
  fileEventSchema,
  jobEventSchema,
} from "./schema";

export const JOB_EVENTS = [
  "job_create",
  "job_start",
  "job_stage_update",
  "job_retry",
  "job_failed",
  "job_exceeded_retries",
  "job_invalid",
  "job_finished",
] as const;

export const FILE_EVENTS = [
  "file_add_to_job",
  "file_category_create",
  "file_category_delete",
  "file_change_tag",
  "file_done",
  "file_extracted_data_create",
  "file_extracted_data_delete",
  "file_failed",
  "file_move",
  "file_move_to_pending",
  "file_move_to_recycle_bin",
  "file_property_create",
  "file_property_delete",
  "file_remove_tag",
  "file_status_update",
  "file_update",
] as const;

type JobEventName = (typeof JOB_EVENTS)[number];
type FileEventName = (typeof FILE_EVENTS)[number];

/**
 * `job_failed_event`, `job_failed` and `alfred_event_job_failed` are one event; so are
 * `file_added_to_job_event` and `file_add_to_job_event` (vendors/alfred.md §1.5).
 */
export function canonicalEventName(name: string): string {
  let canonical = name.trim().toLowerCase();
  if (canonical.startsWith("alfred_event_")) canonical = canonical.slice("alfred_event_".length);
  if (canonical.endsWith("_event")) canonical = canonical.slice(0, -"_event".length);
  if (canonical === "file_added_to_job") canonical = "file_add_to_job";
  return canonical;
}

function isJobEvent(name: string): name is JobEventName {
  return (JOB_EVENTS as readonly string[]).includes(name);
}

function isFileEvent(name: string): name is FileEventName {
  return (FILE_EVENTS as readonly string[]).includes(name);
}

/** Lifecycle steps of a job (CONTRACT §4): create < start < stage update < retry < failed < the ends. */
const JOB_RANK: Readonly<Record<JobEventName, number>> = {
  job_create: 0,
  job_start: 1,
  job_stage_update: 2,
  job_retry: 3,
  job_failed: 4,
  job_exceeded_retries: 5,
  job_invalid: 5,
  job_finished: 5,
};

interface Outcome {
  status: Status | null;
  terminal: boolean;
  vendorStatus: string | null;
  failure: Failure | null;
}

const HISTORY_ONLY: Outcome = { status: null, terminal: false, vendorStatus: null, failure: null };

function failureOf(event: AlfredEvent, reason: string | null): Failure {
  return { reason, messages: event.error_messages ?? [] };
}

/** A stage update moves the job by its stage (CONTRACT §4); other stages mean it is processing. */
function stageOutcome(event: AlfredEvent): Outcome {
  const stage = event.stage ?? null;
  const outcome = (status: Status, terminal: boolean, failure: Failure | null = null): Outcome => ({
    status,
    terminal,
    vendorStatus: stage,
    failure,
  });
  switch (stage?.trim().toLowerCase()) {
    case "completed":
      return outcome("succeeded", true);
    case "failed":
      return outcome("failed", false, failureOf(event, "stage_failed"));
    case "invalid":
      return outcome("failed", true, failureOf(event, "stage_invalid"));
    case "cancelled":
      return outcome("cancelled", true);
    case "queued":
      return outcome("pending", false);
    default:
      return outcome("processing", false);
  }
}

function jobOutcome(name: JobEventName, event: AlfredEvent): Outcome {
  const simple = (status: Status, terminal: boolean, failure: Failure | null = null): Outcome => ({
    status,
    terminal,
    vendorStatus: name,
    failure,
  });
  switch (name) {
    case "job_create":
      return simple("pending", false);
    case "job_start":
    case "job_retry":
      return simple("processing", false);
    case "job_stage_update":
      return stageOutcome(event);
    case "job_failed":
      // A failure is final only once retries are exceeded (CONTRACT §4).
      return simple("failed", event.exceeded_retries === true, failureOf(event, null));
    case "job_exceeded_retries":
      return simple("failed", true, failureOf(event, "exceeded_retries"));
    case "job_invalid":
      return simple("failed", true, failureOf(event, "invalid"));
    case "job_finished":
      return simple("succeeded", true);
  }
}

const FILE_STATUS: Readonly<Record<string, Status>> = {
  completed: "succeeded",
  complete: "succeeded",
  finished: "succeeded",
  done: "succeeded",
  failed: "failed",
  uploaded: "pending",
  pending: "pending",
  queued: "pending",
};

function fileOutcome(name: FileEventName, event: AlfredEvent): Outcome {
  const fileStatus = event.file_status ?? null;
  switch (name) {
    case "file_done":
      return { status: "succeeded", terminal: true, vendorStatus: fileStatus ?? name, failure: null };
    case "file_failed":
      return {
        status: "failed",
        terminal: true,
        vendorStatus: fileStatus ?? name,
        failure: failureOf(event, event.classification_status ?? null),
      };
    case "file_move_to_recycle_bin":
      return { status: "deleted", terminal: true, vendorStatus: name, failure: null };
    case "file_status_update": {
      // Follows `file_status`; an unknown value means the file is still being worked on.
      const status = lookup(FILE_STATUS, fileStatus?.trim().toLowerCase() ?? "") ?? "processing";
      return {
        status,
        terminal: status === "succeeded" || status === "failed",
        vendorStatus: fileStatus,
        failure: status === "failed" ? failureOf(event, event.classification_status ?? null) : null,
      };
    }
    default:
      // Tags, categories, properties, extracted data, moves, updates, links: history only.
      return HISTORY_ONLY;
  }
}

const FILE_RANK: Readonly<Partial<Record<FileEventName, number>>> = {
  file_status_update: 1,
  file_done: 2,
  file_failed: 2,
  file_move_to_recycle_bin: 2,
};

function compact(entries: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(entries).filter(([, value]) => value !== null && value !== undefined),
  );
}

/** The per-event facts shown in a history entry. */
function summaryOf(event: AlfredEvent): Record<string, unknown> {
  return compact({
    stage: event.stage,
    retries: event.retries,
    exceededRetries: event.exceeded_retries,
    errorMessages: event.error_messages,
    fileCount: event.file_count,
    userName: event.user_name,
    merge: event.merge,
    jobId: event.job_id,
    fileStatus: event.file_status,
    classificationStatus: event.classification_status,
    classificationScore: event.classification_score,
    manualClassification: event.manual_classification,
    tag: event.tag_name ?? event.new_tag_name,
    previousTag: event.previous_tag_name,
    removedTag: event.tag_being_removed_name,
    category: event.description,
    confidence: event.confidence,
    property:
      event.name === undefined || event.name === null ? undefined : { name: event.name, value: event.value },
    provider: event.provider,
    fileName: event.file_name,
    fromDirectory: event.previous_file_directory,
    toDirectory: event.new_file_directory,
  });
}

export type AlfredNormalized = { ok: true; event: NormalizedEvent } | { ok: false; issues: Issue[] };

interface Keyed {
  kind: "job" | "file" | "file_log";
  id: string;
}

function fileKey(event: AlfredEvent): Keyed | null {
  if (event.file_id) return { kind: "file", id: event.file_id };
  if (event.file_log_id) return { kind: "file_log", id: event.file_log_id };
  return null;
}

/** Validates the inner event against its name's schema and normalizes it. */
export function normalizeAlfredEvent(envelope: AlfredEnvelope, receivedAt: number): AlfredNormalized {
  const name = canonicalEventName(envelope.event.event_name);
  // `" "`, `"_event"`, `"alfred_event_"` name no event once spelt canonically (found by fuzzing).
  if (name.length === 0)
    return { ok: false, issues: [{ path: "event.event_name", message: "names no event" }] };
  const family = isJobEvent(name) ? "job" : isFileEvent(name) ? "file" : null;
  const schema =
    name === "file_add_to_job"
      ? addToJobSchema
      : family === "job"
        ? jobEventSchema
        : family === "file"
          ? fileEventSchema
          : eventSchema;
  const parsed = v.safeParse(schema, envelope.event);
  if (!parsed.success) return { ok: false, issues: toIssues(parsed.issues, "event") };
  const event: AlfredEvent = parsed.output;

  let keyed: Keyed | null;
  let outcome: Outcome;
  let rank: number;
  if (isJobEvent(name)) {
    keyed = event.job_id ? { kind: "job", id: event.job_id } : null;
    outcome = jobOutcome(name, event);
    rank = JOB_RANK[name];
  } else if (isFileEvent(name)) {
    keyed = fileKey(event);
    outcome = fileOutcome(name, event);
    rank = FILE_RANK[name] ?? 0;
  } else {
    // An unknown event is kept on the job or file it names, as a history entry (CONTRACT §3.3).
    keyed = event.job_id && !event.file_id ? { kind: "job", id: event.job_id } : fileKey(event);
    outcome = HISTORY_ONLY;
    rank = 0;
  }
  if (keyed === null) {
    return {
      ok: false,
      issues: [{ path: "event", message: "an unknown event needs job_id, file_id or file_log_id" }],
    };
  }

  const occurredAt =
    envelope.event_time === undefined || envelope.event_time === null
      ? receivedAt
      : Math.round(envelope.event_time * 1000);
  return {
    ok: true,
    event: {
      source: "alfred",
      kind: keyed.kind,
      id: keyed.id,
      jobKey: `alfred:${keyed.kind}:${keyed.id}`,
      eventId: envelope.event_id,
      eventType: name,
      status: outcome.status,
      vendorStatus: outcome.vendorStatus,
      terminal: outcome.terminal,
      rank,
      occurredAt,
      receivedAt,
      companyId: event.company_id ?? null,
      companyName: event.company_name ?? null,
      name: event.file_name ?? null,
      stage: event.stage ?? null,
      retries: event.retries ?? null,
      failure: outcome.status === "failed" ? outcome.failure : null,
      summary: summaryOf(event),
      linkToJob: name === "file_add_to_job" && event.job_id ? { jobKey: `alfred:job:${event.job_id}` } : null,
      // Both `alfred:file:` and `alfred:file_log:` keys name a file.
      role: keyed.kind === "job" ? "job" : "file",
    },
  };
}

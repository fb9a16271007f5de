/**
 * @module Extend events → {@link NormalizedEvent} (CONTRACT §4). The event type decides the status,
 * not `payload.status` (the docs' `*.failed` examples say `"PROCESSING"`, vendors/extend.md §2.5).
 * Job keys: runs on `extend:<kind>:<payload.id>`, a workflow step on its workflow run, a published
 * version on its parent resource.
 */
import * as v from "valibot";
import type { Issue } from "../../core/vocabulary";
import { type Failure, isTerminalStatus, type NormalizedEvent, type Status } from "../../core/vocabulary";
import { isShowableTime, lookup, toIssues } from "../index";
import {
  batchRunSchema,
  classifierSchema,
  classifierVersionSchema,
  classifyRunSchema,
  editRunSchema,
  extractorSchema,
  extractorVersionSchema,
  extractRunSchema,
  MAX_ID_LENGTH,
  parseRunStatusSchema,
  splitRunSchema,
  splitterSchema,
  splitterVersionSchema,
  stepRunSchema,
  unknownPayloadSchema,
  workflowRunSchema,
  workflowSchema,
} from "./schema";

/** What an event type means for its job: the status it sets and its lifecycle step. */
interface Outcome {
  status: Status | null;
  rank: number;
}

const SUCCEEDED: Outcome = { status: "succeeded", rank: 4 };
const FAILED: Outcome = { status: "failed", rank: 4 };
const CANCELLED: Outcome = { status: "cancelled", rank: 4 };
const REJECTED: Outcome = { status: "rejected", rank: 4 };
const NEEDS_REVIEW: Outcome = { status: "needs_review", rank: 2 };
const STEP_PROCESSED: Outcome = { status: "processing", rank: 1 };
const CREATED: Outcome = { status: "active", rank: 1 };
const CHANGED: Outcome = { status: "active", rank: 2 };
const DELETED: Outcome = { status: "deleted", rank: 4 };

/** Facts read from a parsed payload. */
interface PayloadFacts {
  jobId: string;
  vendorStatus: string | null;
  updatedAt: string | null;
  name: string | null;
  failure: Failure | null;
  summary: Record<string, unknown>;
}

type ParsedPayload = { ok: true; facts: PayloadFacts } | { ok: false; issues: Issue[] };

interface EventSpec {
  kind: string;
  outcome: Outcome;
  parse(payload: unknown): ParsedPayload;
}

function spec<S extends v.GenericSchema>(
  kind: string,
  outcome: Outcome,
  schema: S,
  facts: (payload: v.InferOutput<S>) => PayloadFacts,
): EventSpec {
  return {
    kind,
    outcome,
    parse(payload) {
      const result = v.safeParse(schema, payload);
      return result.success
        ? { ok: true, facts: facts(result.output) }
        : { ok: false, issues: toIssues(result.issues, "payload") };
    },
  };
}

function compact(entries: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(entries).filter(([, value]) => value !== null && value !== undefined),
  );
}

function failureOf(reason: string | null | undefined, message: string | null | undefined): Failure | null {
  if ((reason ?? null) === null && (message ?? null) === null) return null;
  return { reason: reason ?? null, messages: message ? [message] : [] };
}

interface RunLike {
  id: string;
  status?: string | null;
  failureReason?: string | null;
  failureMessage?: string | null;
  updatedAt?: string | null;
}

function runFacts(
  run: RunLike,
  name: string | null | undefined,
  extra: Record<string, unknown> = {},
): PayloadFacts {
  return {
    jobId: run.id,
    vendorStatus: run.status ?? null,
    updatedAt: run.updatedAt ?? null,
    name: name ?? null,
    failure: failureOf(run.failureReason, run.failureMessage),
    summary: compact({ failureReason: run.failureReason, failureMessage: run.failureMessage, ...extra }),
  };
}

interface ResourceLike {
  id: string;
  name?: string | null;
  updatedAt?: string | null;
}

function resourceFacts(resource: ResourceLike): PayloadFacts {
  return {
    jobId: resource.id,
    vendorStatus: null,
    updatedAt: resource.updatedAt ?? null,
    name: resource.name ?? null,
    failure: null,
    summary: compact({ name: resource.name }),
  };
}

function versionFacts(parentId: string, version: { id: string; version?: string | null }): PayloadFacts {
  return {
    jobId: parentId,
    vendorStatus: null,
    updatedAt: null,
    name: null,
    failure: null,
    summary: compact({ versionId: version.id, version: version.version }),
  };
}

function runSpecs<S extends v.GenericSchema>(
  kind: string,
  schema: S,
  facts: (payload: v.InferOutput<S>) => PayloadFacts,
): Record<string, EventSpec> {
  return {
    [`${kind}.processed`]: spec(kind, SUCCEEDED, schema, facts),
    [`${kind}.failed`]: spec(kind, FAILED, schema, facts),
  };
}

function resourceSpecs<S extends v.GenericSchema, V extends v.GenericSchema>(
  kind: string,
  schema: S,
  facts: (payload: v.InferOutput<S>) => PayloadFacts,
  versionSchema: V,
  version: (payload: v.InferOutput<V>) => PayloadFacts,
): Record<string, EventSpec> {
  return {
    [`${kind}.created`]: spec(kind, CREATED, schema, facts),
    [`${kind}.updated`]: spec(kind, CHANGED, schema, facts),
    [`${kind}.draft.updated`]: spec(kind, CHANGED, schema, facts),
    [`${kind}.deleted`]: spec(kind, DELETED, schema, facts),
    [`${kind}.version.published`]: spec(kind, CHANGED, versionSchema, version),
  };
}

const workflowRunFacts = (run: v.InferOutput<typeof workflowRunSchema>) =>
  runFacts(run, run.workflow?.name, { rejectionNote: run.rejectionNote, reviewedByUser: run.reviewedByUser });

/**
 * The configuration resources among Extend's job kinds (vendors/extend.md §2.3: the resource
 * lifecycle events), as against runs: a classifier, extractor, splitter or workflow is `active` or
 * `deleted`, never done. The console lists them apart from runs (`category=resource`).
 */
export const EXTEND_RESOURCE_KINDS = ["workflow", "extractor", "classifier", "splitter"] as const;

/** All 38 event types of API version 2026-02-09 (vendors/extend.md §2.3). */
export const EXTEND_EVENTS: Readonly<Record<string, EventSpec>> = {
  "workflow_run.completed": spec("workflow_run", SUCCEEDED, workflowRunSchema, workflowRunFacts),
  "workflow_run.failed": spec("workflow_run", FAILED, workflowRunSchema, workflowRunFacts),
  "workflow_run.needs_review": spec("workflow_run", NEEDS_REVIEW, workflowRunSchema, workflowRunFacts),
  "workflow_run.rejected": spec("workflow_run", REJECTED, workflowRunSchema, workflowRunFacts),
  "workflow_run.cancelled": spec("workflow_run", CANCELLED, workflowRunSchema, workflowRunFacts),
  // A step belongs to its workflow run's history (CONTRACT §4).
  "workflow_run.step_run.processed": spec("workflow_run", STEP_PROCESSED, stepRunSchema, (step) => ({
    jobId: step.workflowRunId,
    vendorStatus: step.status ?? null,
    updatedAt: step.updatedAt ?? null,
    name: null,
    failure: null,
    summary: compact({
      stepRunId: step.id,
      stepName: step.step?.name,
      stepType: step.stepType ?? step.step?.type,
      stepStatus: step.status,
    }),
  })),
  ...runSpecs("extract_run", extractRunSchema, (run) => runFacts(run, run.extractor?.name)),
  ...runSpecs("classify_run", classifyRunSchema, (run) =>
    runFacts(run, run.classifier?.name, { outputType: run.output?.type }),
  ),
  ...runSpecs("split_run", splitRunSchema, (run) => runFacts(run, run.splitter?.name)),
  ...runSpecs("parse_run", parseRunStatusSchema, (run) => runFacts(run, null)),
  ...runSpecs("edit_run", editRunSchema, (run) => runFacts(run, run.file?.name)),
  ...runSpecs("batch_processor_run", batchRunSchema, (run) =>
    runFacts(run, null, { runCount: run.runCount }),
  ),
  ...runSpecs("batch_parse_run", batchRunSchema, (run) => runFacts(run, null, { runCount: run.runCount })),
  "workflow.created": spec("workflow", CREATED, workflowSchema, resourceFacts),
  "workflow.deployed": spec("workflow", CHANGED, workflowSchema, resourceFacts),
  "workflow.deleted": spec("workflow", DELETED, workflowSchema, resourceFacts),
  ...resourceSpecs("extractor", extractorSchema, resourceFacts, extractorVersionSchema, (ver) =>
    versionFacts(ver.extractorId, ver),
  ),
  ...resourceSpecs("classifier", classifierSchema, resourceFacts, classifierVersionSchema, (ver) =>
    versionFacts(ver.classifierId, ver),
  ),
  ...resourceSpecs("splitter", splitterSchema, resourceFacts, splitterVersionSchema, (ver) =>
    versionFacts(ver.splitterId, ver),
  ),
};

/** The outcome an unknown event type implies by its last word, if any. */
const OUTCOME_BY_VERB: Readonly<Record<string, Outcome>> = {
  processed: SUCCEEDED,
  completed: SUCCEEDED,
  failed: FAILED,
  cancelled: CANCELLED,
  rejected: REJECTED,
  needs_review: NEEDS_REVIEW,
  deleted: DELETED,
};

export interface ExtendContext {
  eventId: string;
  eventType: string;
  payload: unknown;
  /** The signature timestamp, seconds since the epoch. */
  signedAt: number;
  receivedAt: number;
}

export type ExtendNormalized = { ok: true; event: NormalizedEvent } | { ok: false; issues: Issue[] };

/** Validates the payload against its event type's schema and normalizes it. */
export function normalizeExtendEvent(context: ExtendContext): ExtendNormalized {
  const known = lookup(EXTEND_EVENTS, context.eventType);
  let kind: string;
  let outcome: Outcome;
  let facts: PayloadFacts;
  if (known !== undefined) {
    const parsed = known.parse(context.payload);
    if (!parsed.ok) return parsed;
    kind = known.kind;
    outcome = known.outcome;
    facts = parsed.facts;
  } else {
    // An unknown event type is stored on `payload.id` if it has one (CONTRACT §3.3) — or, for a
    // new kind of workflow step event, on its workflow run, like the step events we know.
    const parsed = v.safeParse(unknownPayloadSchema, context.payload);
    if (!parsed.success) return { ok: false, issues: toIssues(parsed.issues, "payload") };
    const payload = parsed.output;
    const runId = typeof payload.workflowRunId === "string" ? payload.workflowRunId : "";
    const isStep =
      context.eventType.startsWith("workflow_run.step_run.") &&
      runId.length > 0 &&
      runId.length <= MAX_ID_LENGTH;
    kind = isStep ? "workflow_run" : (context.eventType.split(".")[0] ?? context.eventType);
    // A step's outcome is not its run's: any step event leaves the run processing.
    const verb = context.eventType.split(".").at(-1) ?? "";
    outcome = isStep ? STEP_PROCESSED : (lookup(OUTCOME_BY_VERB, verb) ?? { status: null, rank: 0 });
    facts = {
      jobId: isStep ? runId : payload.id,
      vendorStatus: typeof payload.status === "string" ? payload.status : null,
      updatedAt: typeof payload.updatedAt === "string" ? payload.updatedAt : null,
      name: null,
      failure: null,
      summary: isStep ? compact({ stepRunId: payload.id }) : {},
    };
  }
  // occurredAt: payload.updatedAt, else the signature timestamp (CONTRACT §4).
  const updatedAt = facts.updatedAt === null ? Number.NaN : Date.parse(facts.updatedAt);
  const occurredAt = isShowableTime(updatedAt) ? updatedAt : context.signedAt * 1000;
  const status = outcome.status;
  return {
    ok: true,
    event: {
      source: "extend",
      kind,
      id: facts.jobId,
      jobKey: `extend:${kind}:${facts.jobId}`,
      eventId: context.eventId,
      eventType: context.eventType,
      status,
      vendorStatus: facts.vendorStatus ?? (status === null ? null : context.eventType),
      terminal: status !== null && isTerminalStatus(status),
      rank: outcome.rank,
      occurredAt,
      receivedAt: context.receivedAt,
      companyId: null,
      companyName: null,
      name: facts.name,
      stage: null,
      retries: null,
      failure: status === "failed" ? facts.failure : null,
      summary: facts.summary,
      linkToJob: null,
      role: "job",
    },
  };
}

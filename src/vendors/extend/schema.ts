/**
 * @module valibot schemas for Extend webhooks, API version 2026-02-09: the envelope and the
 * payloads of all 38 event types (vendors/extend.md §2.3–2.5, extend-sdk-types.md).
 *
 * Each schema requires what the ledger needs (the id that keys the job, the parent id of a
 * published version, the run id of a workflow step) and type-checks the other fields it reads when
 * they are present. Objects are loose: Extend adds fields without a version bump. Enums are open:
 * an unknown `status` or `failureReason` is a string like any other and is stored as-is.
 */
import * as v from "valibot";

/** Extend ids are up to 255 characters (vendors/extend.md §2.2); longer ones are not Extend's. */
export const MAX_ID_LENGTH = 1024;
const nonEmpty = v.pipe(
  v.string(),
  v.minLength(1, "must be a non-empty string"),
  v.maxLength(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`),
);
const optionalText = v.optional(v.nullable(v.string()));
/**
 * Times are RFC 3339 strings. A string that does not parse (the docs' own examples say `"..."`) is
 * accepted and ignored for ordering rather than rejected: the event still counts.
 */
const optionalTime = v.optional(v.nullable(v.string()));
const named = v.optional(v.nullable(v.looseObject({ name: v.optional(v.nullable(v.string())) })));

/** `object` is optional (the docs examples disagree) but, when present, must name the type. */
function objectTag<T extends string>(tag: T) {
  return v.optional(v.literal(tag));
}

export const envelopeSchema = v.looseObject({
  eventId: nonEmpty,
  eventType: nonEmpty,
  payload: v.looseObject({}),
});

/** A large payload delivered as a signed download URL (vendors/extend.md §2.2). */
export const signedDataUrlSchema = v.looseObject({
  object: v.optional(v.literal("signed_data_url")),
  data: v.pipe(v.string(), v.url("must be a URL")),
});

const runFields = {
  id: nonEmpty,
  status: optionalText,
  failureReason: optionalText,
  failureMessage: optionalText,
  metadata: v.optional(v.nullable(v.record(v.string(), v.unknown()))),
  dashboardUrl: optionalText,
  createdAt: optionalTime,
  updatedAt: optionalTime,
};

export const classifyRunSchema = v.looseObject({
  ...runFields,
  object: objectTag("classify_run"),
  classifier: named,
  output: v.optional(v.nullable(v.looseObject({ type: v.optional(v.nullable(v.string())) }))),
});
export const extractRunSchema = v.looseObject({
  ...runFields,
  object: objectTag("extract_run"),
  extractor: named,
});
export const splitRunSchema = v.looseObject({
  ...runFields,
  object: objectTag("split_run"),
  splitter: named,
});
export const parseRunStatusSchema = v.looseObject({ ...runFields, object: objectTag("parse_run_status") });
export const editRunSchema = v.looseObject({ ...runFields, object: objectTag("edit_run"), file: named });
export const batchRunSchema = v.looseObject({
  ...runFields,
  object: objectTag("batch_run"),
  runCount: v.optional(v.nullable(v.number())),
});
export const workflowRunSchema = v.looseObject({
  ...runFields,
  object: objectTag("workflow_run"),
  workflow: named,
  rejectionNote: optionalText,
  reviewedByUser: optionalText,
});
export const stepRunSchema = v.looseObject({
  object: objectTag("workflow_step_run"),
  id: nonEmpty,
  workflowRunId: nonEmpty,
  status: optionalText,
  stepType: optionalText,
  step: v.optional(
    v.nullable(v.looseObject({ name: v.optional(v.nullable(v.string())), type: optionalText })),
  ),
  updatedAt: optionalTime,
});

const resourceFields = { id: nonEmpty, name: optionalText, createdAt: optionalTime, updatedAt: optionalTime };
export const workflowSchema = v.looseObject({ ...resourceFields, object: objectTag("workflow") });
export const extractorSchema = v.looseObject({ ...resourceFields, object: objectTag("extractor") });
export const classifierSchema = v.looseObject({ ...resourceFields, object: objectTag("classifier") });
export const splitterSchema = v.looseObject({ ...resourceFields, object: objectTag("splitter") });

const versionFields = {
  id: nonEmpty,
  version: optionalText,
  description: optionalText,
  createdAt: optionalTime,
};
export const extractorVersionSchema = v.looseObject({
  ...versionFields,
  object: objectTag("extractor_version"),
  extractorId: nonEmpty,
});
export const classifierVersionSchema = v.looseObject({
  ...versionFields,
  object: objectTag("classifier_version"),
  classifierId: nonEmpty,
});
export const splitterVersionSchema = v.looseObject({
  ...versionFields,
  object: objectTag("splitter_version"),
  splitterId: nonEmpty,
});

/**
 * An event type this version does not know (Extend adds types without a version bump, vendors/
 * extend.md §2.2): kept on the job its payload names.
 */
export const unknownPayloadSchema = v.looseObject({
  id: nonEmpty,
  // Read only when they have the shape we know; anything else is the vendor's business.
  workflowRunId: v.optional(v.unknown()),
  status: v.optional(v.unknown()),
  updatedAt: v.optional(v.unknown()),
});

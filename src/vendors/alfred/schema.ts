/**
 * @module valibot schemas for Alfred (Tagshelf) webhooks: the envelope, the handshake and the
 * fields of all 8 job and 16 file events (vendors/alfred.md §1.4–1.7).
 *
 * Tolerant exactly where the vendor's own material disagrees (CONTRACT §3.2): numbers and booleans
 * arrive as strings in the docs and native in the SDK mocks; `event_time` is a string or a number
 * with any decimals; ids are opaque strings (the docs' examples are not valid UUIDs). Anything else
 * that is wrong fails, and the delivery is quarantined with the issues.
 */
import * as v from "valibot";

const NUMERIC = /^\s*-?\d+(\.\d+)?\s*$/;

/** A number, native or as a decimal string (`"3"`, `"1653139800.00"`). */
export const numberish = v.pipe(
  v.union([v.number(), v.pipe(v.string(), v.regex(NUMERIC))], "must be a number or a numeric string"),
  v.transform((value) => (typeof value === "number" ? value : Number(value))),
  v.check((value) => Number.isFinite(value), "must be a finite number"),
);

/** A boolean, native or as `"true"`/`"false"` (any case), `1`/`0`. */
export const booleanish = v.pipe(
  v.union(
    [
      v.boolean(),
      v.picklist([0, 1]),
      v.pipe(
        v.string(),
        v.trim(),
        v.toLowerCase(),
        v.picklist(["true", "false", "1", "0"], 'must be true, false, "true" or "false"'),
      ),
    ],
    'must be true, false, "true" or "false"',
  ),
  v.transform((value) => value === true || value === 1 || value === "true" || value === "1"),
);

/** An opaque id: a non-empty string (a number is taken as its decimal text). */
export const MAX_ID_LENGTH = 1024;
export const opaqueId = v.pipe(
  v.union([v.pipe(v.string(), v.trim(), v.minLength(1)), v.number()], "must be a non-empty string"),
  v.transform((value) => String(value)),
  v.maxLength(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`),
);

const text = v.optional(v.nullable(v.string()));
const count = v.optional(v.nullable(numberish));
const flag = v.optional(v.nullable(booleanish));
const id = v.optional(v.nullable(opaqueId));
/** `error_messages`: an array of strings; a lone string is taken as a one-item list. */
const messages = v.optional(
  v.nullable(
    v.pipe(
      v.union([v.array(v.string()), v.string()], "must be an array of strings"),
      v.transform((value) => (typeof value === "string" ? [value] : value)),
    ),
  ),
);

export const handshakeSchema = v.object({
  type: v.literal("url_verification"),
  challenge: v.string(),
  token: v.optional(v.unknown()),
});

export const envelopeSchema = v.looseObject({
  event_id: opaqueId,
  event_type: v.optional(v.string()),
  // Unix seconds; bounded so the time renders as ISO 8601 (year 9999 at most).
  event_time: v.optional(
    v.nullable(v.pipe(numberish, v.minValue(0), v.maxValue(253_402_300_799, "must be Unix seconds"))),
  ),
  event: v.looseObject({
    event_name: v.pipe(v.string(), v.minLength(1, "must be a non-empty string"), v.maxLength(256)),
    company_id: id,
  }),
});
export type AlfredEnvelope = v.InferOutput<typeof envelopeSchema>;

/** Every field any Alfred event carries, type-checked when present. */
const eventFields = {
  event_name: v.string(),
  event_type: text,
  company_id: id,
  company_name: text,
  job_id: id,
  file_id: id,
  file_log_id: id,
  user_name: text,
  merge: flag,
  metadata: v.optional(v.unknown()),
  file_count: count,
  file_urls: v.optional(v.nullable(v.array(v.string()))),
  retries: count,
  exceeded_retries: flag,
  error_messages: messages,
  stage: text,
  description: text,
  confidence: count,
  previous_tag_id: id,
  previous_tag_name: text,
  proposed_tag_id: id,
  new_tag_id: id,
  new_tag_name: text,
  tag_id: id,
  tag_name: text,
  tag_being_removed_id: id,
  tag_being_removed_name: text,
  classification_score: count,
  classification_status: text,
  manual_classification: flag,
  file_status: text,
  file_name: text,
  file_name_without_extension: text,
  blob_name: text,
  blob_url: text,
  previous_file_directory: text,
  new_file_directory: text,
  content: text,
  provider: text,
  name: text,
  value: v.optional(v.unknown()),
  creation_date: text,
  update_date: text,
};

export const eventSchema = v.looseObject(eventFields);
export type AlfredEvent = v.InferOutput<typeof eventSchema>;

/** Job events need `job_id`. */
export const jobEventSchema = v.looseObject({ ...eventFields, job_id: opaqueId });
/**
 * File events are keyed on `file_id`, or on `file_log_id` when there is none (category, property
 * and extracted-data events carry only the log id); one of the two is needed.
 */
export const fileEventSchema = v.pipe(
  v.looseObject(eventFields),
  v.check(
    (event) => (event.file_id ?? event.file_log_id ?? null) !== null,
    "a file event needs file_id or file_log_id",
  ),
);
/** `file_add_to_job` needs both ends of the link. */
export const addToJobSchema = v.looseObject({ ...eventFields, file_id: opaqueId, job_id: opaqueId });

/**
 * @module The job summary (CONTRACT §5), described once. Each field is one row of
 * {@link SUMMARY_FIELDS}: its valibot schema — from which the {@link JobSummary} type, the API's
 * response schemas and `/openapi.json` are derived — and the D1 column that keeps it with the
 * codec between the two. `test/summary.columns.test.ts` holds the table to D1's migrations. The
 * history entry, a linked job and the detail are described here too, beside the summary they
 * extend.
 */
import * as v from "valibot";
import { type Failure, isoTime, SOURCES, STATUSES } from "./vocabulary";

const time = v.pipe(v.string(), v.isoTimestamp(), v.description("ISO 8601 UTC with milliseconds."));
const nullableText = v.nullable(v.string());
const integer = v.pipe(v.number(), v.integer());

/** A normalized status (`/openapi.json`: the `Status` component, wherever one occurs). */
export const statusSchema = v.pipe(
  v.picklist(STATUSES),
  v.description("A normalized status (CONTRACT §4); a job's is `pending` until an event sets one."),
);
/** A job's source (the `Source` component). */
export const sourceSchema = v.pipe(
  v.picklist(SOURCES),
  v.description("The vendor a job's events come from."),
);

export const failureSchema = v.object({ reason: nullableText, messages: v.array(v.string()) });

/**
 * How a field's value is kept in its D1 column: as it is, a boolean as 0/1, an object as JSON
 * text, an ISO time as milliseconds since the epoch (so the list orders and filters on numbers).
 */
type Codec = "value" | "flag" | "json" | "time";

interface Field {
  column: string;
  codec: Codec;
  schema: v.GenericSchema;
}

/** The summary's fields, in the API's order, each with its D1 column. */
export const SUMMARY_FIELDS = {
  jobKey: { column: "job_key", codec: "value", schema: v.pipe(v.string(), v.description("source:kind:id")) },
  source: { column: "source", codec: "value", schema: sourceSchema },
  kind: { column: "kind", codec: "value", schema: v.string() },
  id: { column: "id", codec: "value", schema: v.string() },
  status: {
    column: "status",
    codec: "value",
    schema: statusSchema,
  },
  vendorStatus: {
    column: "vendor_status",
    codec: "value",
    schema: v.pipe(
      v.string(),
      v.description("The vendor's own status, else the type of the deciding (or latest) event."),
    ),
  },
  terminal: { column: "terminal", codec: "flag", schema: v.boolean() },
  companyId: { column: "company_id", codec: "value", schema: nullableText },
  companyName: { column: "company_name", codec: "value", schema: nullableText },
  name: { column: "name", codec: "value", schema: nullableText },
  stage: { column: "stage", codec: "value", schema: nullableText },
  retries: { column: "retries", codec: "value", schema: v.nullable(v.number()) },
  failure: { column: "failure", codec: "json", schema: v.nullable(failureSchema) },
  firstEventAt: { column: "first_event_at", codec: "time", schema: time },
  lastEventAt: { column: "last_event_at", codec: "time", schema: time },
  lastReceivedAt: { column: "last_received_at", codec: "time", schema: time },
  eventCount: { column: "event_count", codec: "value", schema: integer },
  deliveryCount: { column: "delivery_count", codec: "value", schema: integer },
  version: {
    column: "version",
    codec: "value",
    schema: v.pipe(
      v.number(),
      v.integer(),
      v.description(
        "The ledger's change counter: grows with every accepted delivery, repeats included, so of two copies of one job the higher version is the newer.",
      ),
    ),
  },
} as const satisfies Record<string, Field>;

type Fields = typeof SUMMARY_FIELDS;
type FieldName = keyof Fields;

export const jobSummarySchema = v.object(
  Object.fromEntries(Object.entries(SUMMARY_FIELDS).map(([name, field]) => [name, field.schema])) as {
    [Name in FieldName]: Fields[Name]["schema"];
  },
);

export type JobSummary = v.InferOutput<typeof jobSummarySchema>;

/** A D1 column of the summary. */
export type SummaryColumn = Fields[FieldName]["column"];

/** The D1 columns, in the fields' order. */
export const SUMMARY_COLUMNS: readonly SummaryColumn[] = Object.values(SUMMARY_FIELDS).map(
  (field) => field.column,
);

/** What a field's codec keeps in its column. */
type ColumnValue<F extends Field> = F["codec"] extends "flag" | "time"
  ? number
  : F["codec"] extends "json"
    ? string | null
    : v.InferOutput<F["schema"]>;

/** One summary as D1's `jobs` keeps it. */
export type SummaryRow = { [Name in FieldName as Fields[Name]["column"]]: ColumnValue<Fields[Name]> };

const ENTRIES = Object.entries(SUMMARY_FIELDS) as [FieldName, { column: SummaryColumn; codec: Codec }][];

export function summaryToRow(summary: JobSummary): SummaryRow {
  const row: Record<string, string | number | null> = {};
  for (const [name, { column, codec }] of ENTRIES) {
    const value = summary[name];
    if (codec === "flag") row[column] = value ? 1 : 0;
    else if (codec === "json") row[column] = value === null ? null : JSON.stringify(value);
    else if (codec === "time") row[column] = Date.parse(value as string);
    else row[column] = value as string | number | null;
  }
  return row as unknown as SummaryRow;
}

/** The summary a D1 row holds (a row D1 wrote from {@link summaryToRow}: not validated again). */
export function rowToSummary(row: SummaryRow): JobSummary {
  const summary: Record<string, unknown> = {};
  for (const [name, { column, codec }] of ENTRIES) {
    const value: unknown = row[column];
    if (codec === "flag") summary[name] = value === 1;
    else if (codec === "json") summary[name] = value === null ? null : (JSON.parse(String(value)) as Failure);
    else if (codec === "time") summary[name] = isoTime(Number(value));
    else summary[name] = value;
  }
  return summary as JobSummary;
}

export const historyEntrySchema = v.object({
  eventId: v.string(),
  eventType: v.string(),
  status: v.nullable(statusSchema),
  vendorStatus: nullableText,
  occurredAt: time,
  receivedAt: time,
  deliveries: v.pipe(integer, v.description("Accepted deliveries of this event, repeats included.")),
  receipts: v.pipe(
    v.array(time),
    v.description(
      "When the last deliveries of this event were received (at most 5, oldest first, newest last). The first delivery's time is `receivedAt`; an event stored before receipts were kept lists its first receipt only.",
    ),
  ),
  summary: v.record(v.string(), v.unknown()),
});

export type HistoryEntry = v.InferOutput<typeof historyEntrySchema>;

export const linkedJobSchema = v.object({ jobKey: v.string(), status: statusSchema });

export type LinkedJob = v.InferOutput<typeof linkedJobSchema>;

export const jobDetailSchema = v.object({
  ...jobSummarySchema.entries,
  history: v.pipe(
    v.array(historyEntrySchema),
    v.description("One page of the history, oldest first: the whole history for a job of up to 100 entries."),
  ),
  historyNextCursor: v.optional(
    v.pipe(
      v.string(),
      v.description("Present when more history follows: pass it as `historyCursor` for the next page."),
    ),
  ),
  files: v.optional(
    v.pipe(v.array(linkedJobSchema), v.description("On a job: one page of its linked files, by key.")),
  ),
  filesNextCursor: v.optional(
    v.pipe(v.string(), v.description("Present when more of a job's files follow: pass it as `filesCursor`.")),
  ),
  job: v.optional(
    v.pipe(v.nullable(linkedJobSchema), v.description("On a file: the job it belongs to, if known.")),
  ),
});

export type JobDetail = v.InferOutput<typeof jobDetailSchema>;

/** What a ledger hands to the projection: the job as of `version`. */
export interface ProjectionMessage {
  jobKey: string;
  version: number;
  summary: JobSummary;
}

/**
 * Many summaries in one queue message. Sending one message per job would make a queue message —
 * its price, its place in the queue's 5,000 messages/s, and locally one broker timer each (Miniflare's
 * broker refuses past 10,000) — per event; a bundle carries up to {@link BUNDLE_SUMMARIES}.
 */
export interface ProjectionBundle {
  summaries: ProjectionMessage[];
}

/** What sends to the projection queue: the Queue binding, or a failing one in tests. */
export interface ProjectionQueue {
  sendBatch(messages: Iterable<MessageSendRequest<ProjectionMessage | ProjectionBundle>>): Promise<unknown>;
}

/**
 * @module The read API's valibot schemas: the query parameters the routes validate with, and the
 * response shapes (CONTRACT §5). `/openapi.json` is generated from these same schemas, and the
 * tests check responses against them.
 */
import type { MiddlewareHandler } from "hono";
import * as v from "valibot";
import { decodeChangeCursor, decodeCursor, decodeFilesCursor, decodeHistoryCursor } from "../core/cursor";
import { jobSummarySchema, sourceSchema, statusSchema } from "../core/summary";
import { SOURCES, STATUSES } from "../core/vocabulary";
import { ApiError, ERROR_CODES } from "../http/errors";
import { HISTORY_PAGE, HISTORY_PAGE_MAX } from "../ledger/pages";
import { SCHEMES } from "../vendors/registry";
import type { ApiEnv } from "./auth";

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 200;
export const MAX_LIST_ITEMS = 20;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * What the typed client (`hc<App>`) takes for a comma-separated list of `T`: one item, or a list
 * whose first item is one of them (`"failed"`, `"failed,rejected"`; a misspelt `"faild"` does not
 * compile). The server checks every item.
 */
export type ListInput<T extends string> = string extends T ? string : T | `${T},${string}`;

/** Where a {@link csv} schema keeps its description, for `/openapi.json` (an array, `style: form`). */
export const LIST = Symbol("comma-separated list");
export interface ListDoc {
  description: string;
  /** The schema each item must pass, when they are from a set. */
  items?: v.GenericSchema;
}

/**
 * A comma-separated list whose items, when `allowed` is given, must be among them (`items`: their
 * schema, for `/openapi.json`).
 */
function csv<T extends string = string>(
  description: string,
  allowed?: readonly T[],
  items?: v.GenericSchema,
) {
  const schema = v.pipe(
    // Still any string at run time: the items are checked below, with messages that name them.
    v.string() as v.GenericSchema<string> as v.GenericSchema<ListInput<T>>,
    v.description(description),
    v.transform((raw) => raw.split(",").map((item) => item.trim())),
    v.check((items) => items.every((item) => item.length > 0), "has an empty item"),
    // Each item is one bound parameter; D1 takes at most 100 per statement.
    v.maxLength(MAX_LIST_ITEMS, `at most ${MAX_LIST_ITEMS} items`),
    v.check(
      (items) =>
        allowed === undefined || items.every((item) => (allowed as readonly string[]).includes(item)),
      `each item must be one of ${allowed?.join(", ") ?? ""}`,
    ),
    v.transform((items) => items as T[]),
  );
  const doc: ListDoc = items === undefined ? { description } : { description, items };
  return Object.assign(schema, { [LIST]: doc });
}

const isoTime = (description: string) =>
  v.pipe(
    v.string(),
    v.regex(ISO_8601, "must be an ISO 8601 date-time"),
    v.description(description),
    v.transform((raw) => Date.parse(raw)),
    v.check((ms) => !Number.isNaN(ms), "must be an ISO 8601 date-time"),
  );

const limit = v.pipe(
  v.string(),
  v.regex(/^\d+$/, `must be an integer from 1 to ${MAX_LIMIT}`),
  v.description(`Page size, 1–${MAX_LIMIT} (default ${DEFAULT_LIMIT}).`),
  v.transform(Number),
  v.minValue(1, `must be an integer from 1 to ${MAX_LIMIT}`),
  v.maxValue(MAX_LIMIT, `must be an integer from 1 to ${MAX_LIMIT}`),
);

const cursor = v.pipe(
  v.string(),
  v.description("Opaque keyset cursor: the nextCursor of the previous page."),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const position = decodeCursor(dataset.value);
    if (position === null) {
      addIssue({ message: "not a cursor returned by this API" });
      return NEVER;
    }
    return position;
  }),
);

const changeCursor = v.pipe(
  v.string(),
  v.description(
    "Where to continue: the nextCursor of the previous page, or `latest` for the feed's current end.",
  ),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    if (dataset.value === "latest") return "latest" as const;
    const position = decodeChangeCursor(dataset.value);
    if (position === null) {
      addIssue({ message: "not a change-feed cursor returned by this API" });
      return NEVER;
    }
    return position;
  }),
);

const historyCursor = v.pipe(
  v.string(),
  v.description("Where the history continues: the historyNextCursor of the previous answer."),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const position = decodeHistoryCursor(dataset.value);
    if (position === null) {
      addIssue({ message: "not a history cursor returned by this API" });
      return NEVER;
    }
    return position.h;
  }),
);

const historyLimit = v.pipe(
  v.string(),
  v.regex(/^\d+$/, `must be an integer from 1 to ${HISTORY_PAGE_MAX}`),
  v.description(
    `History entries per page, 1–${HISTORY_PAGE_MAX} (default ${HISTORY_PAGE}); for a job of more than 100 entries a page is also cut so the whole answer stays under 1 MB.`,
  ),
  v.transform(Number),
  v.minValue(1, `must be an integer from 1 to ${HISTORY_PAGE_MAX}`),
  v.maxValue(HISTORY_PAGE_MAX, `must be an integer from 1 to ${HISTORY_PAGE_MAX}`),
);

const filesCursor = v.pipe(
  v.string(),
  v.description("Where the job's files continue: the filesNextCursor of the previous answer."),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const position = decodeFilesCursor(dataset.value);
    if (position === null) {
      addIssue({ message: "not a files cursor returned by this API" });
      return NEVER;
    }
    return position.f;
  }),
);

export const MAX_WAIT_SECONDS = 25;

const wait = v.pipe(
  v.string(),
  v.regex(/^\d+$/, `must be an integer from 0 to ${MAX_WAIT_SECONDS}`),
  v.description(
    `Long poll: seconds to wait for a change when none follows \`after\` (0–${MAX_WAIT_SECONDS}, default 0).`,
  ),
  v.transform(Number),
  v.maxValue(MAX_WAIT_SECONDS, `must be an integer from 0 to ${MAX_WAIT_SECONDS}`),
);

/** Unknown parameters are refused, so a misspelt filter is not silently ignored. */
const UNKNOWN_PARAMETER = "is not a parameter of this route";

export const listJobsQuerySchema = v.strictObject(
  {
    source: v.optional(csv("Sources, comma-separated.", SOURCES, sourceSchema)),
    kind: v.optional(csv("Job kinds (e.g. classify_run, job, file), comma-separated.")),
    status: v.optional(csv("Normalized statuses, comma-separated.", STATUSES, statusSchema)),
    company: v.optional(csv("Alfred company ids, comma-separated.")),
    category: v.optional(
      v.pipe(
        v.picklist(["run", "resource"], "must be run or resource"),
        v.description(
          "`run`: runs only (pipeline runs, Alfred jobs and files, …); `resource`: configuration resources only (Extend workflows, extractors, classifiers, splitters).",
        ),
      ),
    ),
    updatedAfter: v.optional(isoTime("Only jobs whose lastEventAt is after this time.")),
    updatedBefore: v.optional(isoTime("Only jobs whose lastEventAt is before this time.")),
    limit: v.optional(limit, String(DEFAULT_LIMIT)),
    cursor: v.optional(cursor),
  },
  UNKNOWN_PARAMETER,
);

export const changesQuerySchema = v.strictObject(
  {
    after: v.optional(changeCursor),
    limit: v.optional(limit, String(DEFAULT_LIMIT)),
    wait: v.optional(wait, "0"),
    source: v.optional(csv("Sources, comma-separated.", SOURCES, sourceSchema)),
    kind: v.optional(csv("Job kinds (e.g. classify_run, job, file), comma-separated.")),
    status: v.optional(csv("Normalized statuses, comma-separated.", STATUSES, statusSchema)),
    company: v.optional(csv("Alfred company ids, comma-separated.")),
    category: v.optional(
      v.pipe(
        v.picklist(["run", "resource"], "must be run or resource"),
        v.description(
          "`run`: runs only (pipeline runs, Alfred jobs and files, …); `resource`: configuration resources only (Extend workflows, extractors, classifiers, splitters).",
        ),
      ),
    ),
  },
  UNKNOWN_PARAMETER,
);

export const jobDetailQuerySchema = v.strictObject(
  {
    historyCursor: v.optional(historyCursor),
    historyLimit: v.optional(historyLimit),
    filesCursor: v.optional(filesCursor),
  },
  UNKNOWN_PARAMETER,
);

export type ListJobsQuery = v.InferOutput<typeof listJobsQuerySchema>;
export type ChangesQuery = v.InferOutput<typeof changesQuerySchema>;
export type JobDetailQuery = v.InferOutput<typeof jobDetailQuerySchema>;

export const listQuarantineQuerySchema = v.strictObject(
  {
    source: v.optional(csv("Sources, comma-separated.", SOURCES, sourceSchema)),
    limit: v.optional(limit, String(DEFAULT_LIMIT)),
    cursor: v.optional(cursor),
  },
  UNKNOWN_PARAMETER,
);

export type ListQuarantineQuery = v.InferOutput<typeof listQuarantineQuerySchema>;

/** The windows of `GET /v1/stats` (CONTRACT §10), each with its buckets' width and number. */
export const STATS_WINDOWS = {
  "1h": { bucketSeconds: 60, buckets: 60 },
  "24h": { bucketSeconds: 900, buckets: 96 },
  "7d": { bucketSeconds: 3600, buckets: 168 },
} as const;
export type StatsWindow = keyof typeof STATS_WINDOWS;

export const statsQuerySchema = v.strictObject(
  {
    window: v.optional(
      v.pipe(
        v.picklist(Object.keys(STATS_WINDOWS) as StatsWindow[], "must be one of 1h, 24h, 7d"),
        v.description(
          "The time the delivery buckets cover: `1h` (60 × 60 s), `24h` (96 × 900 s, the default) or `7d` (168 × 3600 s).",
        ),
      ),
      "24h",
    ),
  },
  UNKNOWN_PARAMETER,
);

export type StatsQuery = v.InferOutput<typeof statsQuerySchema>;

const time = v.pipe(v.string(), v.isoTimestamp(), v.description("ISO 8601 UTC with milliseconds."));

export const jobListSchema = v.object({
  data: v.array(jobSummarySchema),
  nextCursor: v.nullable(v.string()),
});

export const changesPageSchema = v.object({
  data: v.array(jobSummarySchema),
  nextCursor: v.string(),
  hasMore: v.boolean(),
});

export const quarantineEntrySchema = v.object({
  id: v.string(),
  source: sourceSchema,
  receivedAt: time,
  reason: v.array(v.object({ path: v.string(), message: v.string() })),
  size: v.pipe(v.number(), v.integer()),
  resolvedAt: v.optional(time),
  jobKey: v.optional(v.string()),
  eventId: v.optional(v.string()),
});

export const retryResultSchema = v.object({
  ok: v.literal(true),
  outcome: v.picklist(["stored", "duplicate"]),
  jobKey: v.string(),
  eventId: v.string(),
});

export const verificationSchema = v.object({
  verified: v.boolean(),
  scheme: v.picklist(SCHEMES),
  receivedAt: time,
});

export const quarantineListSchema = v.object({
  data: v.array(quarantineEntrySchema),
  nextCursor: v.nullable(v.string()),
});

const count = v.pipe(v.number(), v.integer());

export const statsSchema = v.object({
  generatedAt: time,
  jobs: v.object({
    total: v.pipe(count, v.description("Every job the token can see, once.")),
    byStatus: v.pipe(
      v.record(v.string(), count),
      v.description("Jobs by current status: every normalized status, 0 when none."),
    ),
    bySource: v.pipe(
      v.record(v.string(), count),
      v.description("Jobs by source: every source the token can see, 0 when none."),
    ),
  }),
  deliveries: v.object({
    bucketSeconds: v.pipe(count, v.description("Each bucket's width: 60, 900 or 3600.")),
    buckets: v.pipe(
      v.array(
        v.object({
          start: time,
          accepted: v.pipe(count, v.description("Accepted deliveries, repeats included.")),
          duplicates: v.pipe(count, v.description("The repeats among them.")),
          quarantined: v.pipe(
            count,
            v.description("Deliveries quarantined (202); 0 for a company-scoped token."),
          ),
          refused: v.pipe(
            v.record(v.string(), count),
            v.description(
              "Deliveries answered 4xx at the webhook endpoints, by error code (only codes counted); empty for a company-scoped token.",
            ),
          ),
        }),
      ),
      v.description("The window, oldest first, with no gaps: a bucket holds the deliveries received in it."),
    ),
  }),
  quarantine: v.object({
    open: v.pipe(
      count,
      v.description("Quarantine items no retry has resolved; 0 for a company-scoped token."),
    ),
  }),
});

export type Stats = v.InferOutput<typeof statsSchema>;

/** An error's code (the `ErrorCode` component). */
export const errorCodeSchema = v.pipe(
  v.picklist(ERROR_CODES),
  v.description("Each code has one status; the description of each answer names the codes it carries."),
);

export const errorSchema = v.object({
  error: v.object({
    code: errorCodeSchema,
    message: v.pipe(v.string(), v.description("For people: what went wrong, naming the bad part.")),
  }),
});

/** The answers of the webhook endpoints (CONTRACT §3.3), for `/openapi.json`. */
export const deliveryStoredSchema = v.object({
  ok: v.literal(true),
  eventId: v.string(),
  jobKey: v.string(),
  duplicate: v.boolean(),
});

export const deliveryQuarantinedSchema = v.object({
  ok: v.literal(true),
  quarantined: v.literal(true),
  quarantineId: v.string(),
});

export const healthSchema = v.object({ ok: v.literal(true) });

/** Validates query parameters, answering 400 `invalid_request` that names the first bad one. */
export function parseQuery<S extends v.GenericSchema<Record<string, string | undefined>, unknown>>(
  schema: S,
  url: URL,
): v.InferOutput<S> {
  const params: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    if (key in params) throw invalidParameter(key, "give it once");
    params[key] = value;
  }
  const result = v.safeParse(schema, params);
  if (result.success) return result.output;
  const [issue] = result.issues;
  throw invalidParameter(v.getDotPath(issue) ?? "query", issue.message);
}

type QuerySchema = v.GenericSchema<Record<string, string | undefined>, unknown>;

/** Where a {@link validQuery} middleware keeps its schema, for `/openapi.json` (src/api/openapi.ts). */
export const QUERY_SCHEMA = Symbol("query schema");

/**
 * The route middleware that validates a route's query with {@link parseQuery}: handlers read the
 * result with `c.req.valid("query")`, the typed client (`hc<App>`) knows the parameters, and
 * `/openapi.json` lists them from the schema the middleware carries, so a route's documented
 * parameters are the ones it validates. Not Hono's `validator()`: that one reads the query through
 * Hono's own parser (a repeated key becomes an array, malformed escapes decode differently), which
 * would change the 400s the API answers.
 */
export function validQuery<S extends QuerySchema>(
  schema: S,
): MiddlewareHandler<ApiEnv, string, { in: { query: v.InferInput<S> }; out: { query: v.InferOutput<S> } }> {
  const middleware: MiddlewareHandler<ApiEnv> = async (c, next) => {
    c.req.addValidatedData("query", parseQuery(schema, new URL(c.req.url)) as Record<string, unknown>);
    await next();
  };
  return Object.assign(middleware, { [QUERY_SCHEMA]: schema });
}

function invalidParameter(name: string, reason: string): ApiError {
  return new ApiError("invalid_request", `Invalid query parameter "${name}": ${reason}`);
}

/**
 * @module `GET /openapi.json` — the OpenAPI 3.1 document of the Worker's API, generated from the
 * routes themselves: each route carries its description as a middleware ({@link describeRoute},
 * {@link webhookDoc}), the document walks the app's routes for them, query parameters come from the
 * schema the route's `validQuery` middleware validates with, and answers from the valibot schemas
 * of src/api/schemas.ts that the tests check real answers against, converted by
 * `@valibot/to-json-schema`. A route registered without a description is missing from the document,
 * and test/openapi.test.ts says which. The answers a route gives by its kind are added for it (a
 * validated query's 400, the bearer token's 401 and 503), and test/openapi.answers.test.ts drives
 * every operation through every answer it gives and holds the document to exactly those.
 *
 * Not hono-openapi: it reaches its schema converters through a dynamic import per validation
 * library, and esbuild bundles each one it can resolve — zod (installed for the test pool) made the
 * Worker 2.9 times its size, for no use.
 */
import {
  type ConversionConfig,
  type JsonSchema,
  toJsonSchema,
  toJsonSchemaDefs,
} from "@valibot/to-json-schema";
import type { Context, Hono, MiddlewareHandler } from "hono";
import type { RouterRoute } from "hono/types";
import { findTargetHandler } from "hono/utils/handler";
import * as v from "valibot";
import {
  failureSchema,
  historyEntrySchema,
  jobDetailSchema,
  jobSummarySchema,
  linkedJobSchema,
  sourceSchema,
  statusSchema,
} from "../core/summary";
import type { VendorAdapter } from "../vendors/index";
import type { ApiEnv } from "./auth";
import { meSchema } from "./me";
import { reprojectBodySchema, reprojectPageSchema, seedPageSchema } from "./reproject";
import {
  changesPageSchema,
  deliveryQuarantinedSchema,
  deliveryStoredSchema,
  errorCodeSchema,
  errorSchema,
  healthSchema,
  jobListSchema,
  LIST,
  type ListDoc,
  MAX_LIST_ITEMS,
  QUERY_SCHEMA,
  quarantineEntrySchema,
  quarantineListSchema,
  retryResultSchema,
  statsSchema,
  verificationSchema,
} from "./schemas";

/** Shapes shared by several answers: `components/schemas`, referred to by name wherever they occur. */
const COMPONENTS = {
  Status: statusSchema,
  Source: sourceSchema,
  ErrorCode: errorCodeSchema,
  JobSummary: jobSummarySchema,
  HistoryEntry: historyEntrySchema,
  JobDetail: jobDetailSchema,
  LinkedJob: linkedJobSchema,
  Failure: failureSchema,
  JobList: jobListSchema,
  ChangesPage: changesPageSchema,
  QuarantineEntry: quarantineEntrySchema,
  QuarantineList: quarantineListSchema,
  RetryResult: retryResultSchema,
  Stats: statsSchema,
  Verification: verificationSchema,
  Me: meSchema,
  DeliveryStored: deliveryStoredSchema,
  DeliveryQuarantined: deliveryQuarantinedSchema,
  Error: errorSchema,
};

/** Answers are described as the handlers produce them (valibot's output types). */
const COMPONENT_CONFIG: ConversionConfig = {
  target: "draft-2020-12",
  typeMode: "output",
  errorMode: "ignore",
  overrideRef: ({ referenceId }) => `#/components/schemas/${referenceId}`,
};
const ANSWERS: ConversionConfig = { ...COMPONENT_CONFIG, definitions: COMPONENTS };
/** Query parameters are described as sent (strings), not as the handler receives them. */
const QUERIES: ConversionConfig = { target: "draft-2020-12", typeMode: "input", errorMode: "ignore" };

type Schema = v.GenericSchema | JsonSchema;

interface ResponseDoc {
  description: string;
  headers?: Record<string, { description: string; schema: JsonSchema }>;
  /** By media type; a valibot schema is converted, a JSON Schema kept as is. */
  content?: Record<string, { schema: Schema }>;
}

export interface OperationDoc {
  /** The name clients know the operation by (unique in the document). */
  operationId: string;
  summary: string;
  description?: string;
  tags?: string[];
  /** Routes that need no bearer token (health, this document, the webhooks). */
  public?: true;
  /** Descriptions of the route's `:name` parameters (each is listed, described or not). */
  pathParameters?: Record<string, string>;
  /** Headers the route requires. */
  headers?: { name: string; description: string }[];
  requestBody?: { description: string; content: Record<string, { schema: Schema }> };
  responses: Record<string, ResponseDoc>;
}

const OPERATION = Symbol("operation");

/** A middleware that does nothing but carry its route's description, for {@link openApiDocument}. */
export function describeRoute(operation: OperationDoc): MiddlewareHandler {
  const middleware: MiddlewareHandler = async (_c, next) => {
    await next();
  };
  return Object.assign(middleware, { [OPERATION]: operation });
}

function isValibot(schema: Schema): schema is v.GenericSchema {
  return "~standard" in schema;
}

function jsonSchema(schema: Schema, config: ConversionConfig): JsonSchema {
  if (!isValibot(schema)) return schema;
  const { $schema: _, $defs: __, ...rest } = toJsonSchema(schema, config);
  return rest;
}

function content(media: Record<string, { schema: Schema }>) {
  return Object.fromEntries(
    Object.entries(media).map(([type, { schema }]) => [type, { schema: jsonSchema(schema, ANSWERS) }]),
  );
}

/** The list description a {@link csv} schema carries, under its `v.optional`. */
function listDoc(schema: v.GenericSchema): ListDoc | undefined {
  const inner = "wrapped" in schema ? (schema.wrapped as v.GenericSchema) : schema;
  return (inner as { [LIST]?: ListDoc })[LIST];
}

/**
 * One query parameter per entry of the route's strict-object query schema. A comma-separated list
 * is an array sent `style: form, explode: false` (`status=failed,rejected`), its items' enum when
 * they have one.
 */
function queryParameters(schema: v.GenericSchema) {
  const entries = "entries" in schema ? (schema.entries as v.ObjectEntries) : {};
  return Object.entries(entries).map(([name, entry]) => {
    const list = listDoc(entry);
    if (list === undefined) {
      return { name, in: "query", required: false, schema: jsonSchema(entry, QUERIES) };
    }
    return {
      name,
      in: "query",
      required: false,
      style: "form",
      explode: false,
      schema: {
        type: "array",
        description: list.description,
        minItems: 1,
        maxItems: MAX_LIST_ITEMS,
        items: list.items === undefined ? { type: "string" } : jsonSchema(list.items, ANSWERS),
      },
    };
  });
}

/**
 * The answers every route of its kind gives, whether or not its description lists them: a route
 * behind the bearer token answers 401 and, when the token store cannot be read, 503; a route with a
 * validated query answers 400. Its own description may say more (and wins).
 */
function impliedResponses(
  doc: OperationDoc,
  query: v.GenericSchema | undefined,
): Record<string, ResponseDoc> {
  return {
    ...(query === undefined ? {} : { "400": invalidQuery }),
    ...(doc.public ? {} : { "401": unauthorized, "503": unavailable }),
  };
}

function operation(path: string, doc: OperationDoc, query: v.GenericSchema | undefined) {
  const pathNames = [...path.matchAll(/:(\w+)/g)].map((match) => match[1] ?? "");
  const parameters = [
    ...pathNames.map((name) => ({
      name,
      in: "path",
      required: true,
      ...(doc.pathParameters?.[name] === undefined ? {} : { description: doc.pathParameters[name] }),
      schema: { type: "string" },
    })),
    ...(doc.headers ?? []).map(({ name, description }) => ({
      name,
      in: "header",
      required: true,
      description,
      schema: { type: "string" },
    })),
    ...(query === undefined ? [] : queryParameters(query)),
  ];
  return {
    operationId: doc.operationId,
    summary: doc.summary,
    ...(doc.description === undefined ? {} : { description: doc.description }),
    ...(doc.tags === undefined ? {} : { tags: doc.tags }),
    ...(doc.public ? { security: [] } : {}),
    ...(parameters.length === 0 ? {} : { parameters }),
    ...(doc.requestBody === undefined
      ? {}
      : {
          requestBody: {
            required: true,
            description: doc.requestBody.description,
            content: content(doc.requestBody.content),
          },
        }),
    // In the order of their status codes (integer-like keys always are).
    responses: Object.fromEntries(
      Object.entries({ ...impliedResponses(doc, query), ...doc.responses }).map(([status, response]) => [
        status,
        {
          description: response.description,
          ...(response.headers === undefined ? {} : { headers: response.headers }),
          ...(response.content === undefined ? {} : { content: content(response.content) }),
        },
      ]),
    ),
  };
}

/**
 * The document of `app`: every route whose middleware carries a description, at its path (`:name`
 * as `{name}`) and method, in the order the routes were registered.
 */
export function openApiDocument(app: { routes: readonly RouterRoute[] }): Record<string, unknown> {
  const found = new Map<
    string,
    { path: string; method: string; doc?: OperationDoc; query?: v.GenericSchema }
  >();
  for (const route of app.routes) {
    const handler = findTargetHandler(route.handler) as MiddlewareHandler & {
      [OPERATION]?: OperationDoc;
      [QUERY_SCHEMA]?: v.GenericSchema;
    };
    const doc = handler[OPERATION];
    const query = handler[QUERY_SCHEMA];
    if (doc === undefined && query === undefined) continue;
    const key = `${route.method} ${route.path}`;
    const entry = found.get(key) ?? { path: route.path, method: route.method.toLowerCase() };
    found.set(key, { ...entry, ...(doc && { doc }), ...(query && { query }) });
  }
  const paths: Record<string, Record<string, unknown>> = {};
  for (const { path, method, doc, query } of found.values()) {
    // A validated query without a description is a route the document cannot name: leave it out
    // (test/openapi.test.ts finds it missing).
    if (doc === undefined) continue;
    const openApiPath = path.replace(/:(\w+)/g, "{$1}");
    paths[openApiPath] = { ...paths[openApiPath], [method]: operation(path, doc, query) };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "runledger",
      version: "1",
      description:
        "Job summaries and exact, ordered job histories of vendor webhooks (CONTRACT §5–§9), and the webhook endpoints that receive them (§3).",
    },
    // Relative to where this document is served (OpenAPI 3.1 §4.8.5), so the one document is right
    // for every deployment; the second is `npm start`'s.
    servers: [
      { url: "/", description: "The Worker that serves this document." },
      { url: "http://127.0.0.1:8787", description: "Local development (`npm start`)." },
    ],
    tags: [{ name: "webhooks", description: "Called by the vendors, not by API clients." }],
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas: toJsonSchemaDefs(COMPONENTS, COMPONENT_CONFIG),
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    },
  };
}

/** `GET /openapi.json`: the document of `app`, made on the first request, once all routes exist. */
export function openApiRoute(app: Hono<ApiEnv>) {
  let document: Record<string, unknown> | undefined;
  return (c: Context) => {
    document ??= openApiDocument(app);
    return c.json(document);
  };
}

const json = (schema: Schema, description: string): ResponseDoc => ({
  description,
  content: { "application/json": { schema } },
});

const error = (description: string) => json(errorSchema, description);

const retryAfter = {
  "Retry-After": { description: "Seconds to wait before retrying.", schema: { type: "integer" as const } },
};

const unauthorized = error("Missing, unknown or revoked token (`unauthorized`).");
const unavailable = {
  ...error("Storage unavailable (`storage_unavailable`); retry after Retry-After."),
  headers: retryAfter,
};
const invalidQuery = error(
  "An unknown, repeated or invalid query parameter (`invalid_request`); the message names it.",
);
const notFound = error("Unknown, or outside the token's scope (`not_found`).");
const tooManyStreams = {
  ...error(
    "The token already holds `MAX_STREAMS_PER_TOKEN` open job streams and waiting long polls (`too_many_streams`); retry after Retry-After, or close one.",
  ),
  headers: retryAfter,
};

/** Answers of a read route about one job, event or quarantine entry (besides 401 and 503, implied). */
const itemErrors = { "404": notFound };

const rawBody: ResponseDoc = {
  description: "The body exactly as received, byte for byte.",
  content: { "application/json": { schema: {} } },
};

const jobKey = {
  jobKey:
    "`source:kind:id`, as is or percent-encoded (a key holding `/` as is also works, outside this template).",
};

/** The description of every route but the webhooks, one middleware each. */
export const routeDocs = {
  health: describeRoute({
    operationId: "health",
    summary: "Liveness",
    public: true,
    responses: { "200": json(healthSchema, "Alive.") },
  }),
  openApi: describeRoute({
    operationId: "openApi",
    summary: "This document",
    public: true,
    responses: { "200": json({ type: "object" }, "OpenAPI 3.1.") },
  }),
  me: describeRoute({
    operationId: "me",
    summary: "What this token may do: its name, whether it is an admin token, its scope",
    description:
      "Never the token itself. The console reads it to offer only what the token may do (a quarantine retry needs `admin`).",
    responses: { "200": json(meSchema, "The token's capabilities.") },
  }),
  listJobs: describeRoute({
    operationId: "listJobs",
    summary: "List jobs, newest lastEventAt first, then jobKey",
    responses: { "200": json(jobListSchema, "A page of job summaries.") },
  }),
  listChanges: describeRoute({
    operationId: "listChanges",
    summary: "The change feed: jobs in the order D1 accepted their latest change",
    description:
      "Resumable and complete: from any returned cursor, every job that changes afterwards appears in a later page, at least as new as that change. `after=latest` starts at the current end; `wait` long-polls (a token revoked while its request waits is answered 401 `unauthorized`).",
    responses: {
      "200": json(changesPageSchema, "A page of changed jobs."),
      "429": tooManyStreams,
    },
  }),
  getJob: describeRoute({
    operationId: "getJob",
    summary: "A job's summary, ordered history and links",
    description:
      "The history and a job's files come a page at a time. A job of up to 100 entries gets its whole history. A bigger one gets up to `historyLimit` entries (default 500), cut so that the whole answer stays under 1 MB (1,000,000 bytes): follow `historyNextCursor` with `historyCursor` while it is present (likewise `filesNextCursor` with `filesCursor`, 500 files or 128 KB a page). Cursors are keyset positions: the pages hold every entry exactly once, in order; an event that arrives during the walk appears once in its place if it sorts after the cursor, and not in this walk otherwise.",
    pathParameters: jobKey,
    responses: { "200": json(jobDetailSchema, "The job."), ...itemErrors },
  }),
  streamJob: describeRoute({
    operationId: "streamJob",
    summary: "The job live, as Server-Sent Events: a snapshot, then one change per delivery",
    pathParameters: jobKey,
    responses: {
      "200": {
        description:
          "`event: snapshot` (the job detail), then `event: change` with `id: <version>` and data `{summary, entry}`; comment lines as heartbeats. When the server ends the stream it sends `event: closed` with the error envelope saying why (`unauthorized`: the token was revoked), then ends the body.",
        content: { "text/event-stream": { schema: { type: "string" } } },
      },
      ...itemErrors,
      "429": tooManyStreams,
    },
  }),
  getEvent: describeRoute({
    operationId: "getEvent",
    summary: "One event's raw body",
    pathParameters: jobKey,
    responses: { "200": rawBody, ...itemErrors },
  }),
  verifyEvent: describeRoute({
    operationId: "verifyEvent",
    summary: "Re-verify a stored event with the authentication material kept at receipt",
    pathParameters: jobKey,
    responses: { "200": json(verificationSchema, "The verdict."), ...itemErrors },
  }),
  listQuarantine: describeRoute({
    operationId: "listQuarantine",
    summary: "Authentic deliveries that could not be parsed, newest first",
    responses: { "200": json(quarantineListSchema, "A page of quarantine entries.") },
  }),
  getQuarantined: describeRoute({
    operationId: "getQuarantined",
    summary: "One quarantined body, byte for byte",
    responses: {
      "200": {
        ...rawBody,
        description:
          "The body exactly as received, byte for byte: labelled JSON, though it may not be (which may be why it was quarantined).",
      },
      ...itemErrors,
    },
  }),
  stats: describeRoute({
    operationId: "getStats",
    summary: "The overview: job counts, deliveries per time bucket, open quarantine items",
    description:
      "For the token's scope (CONTRACT §10): jobs by current status and by source (agreeing with `GET /v1/jobs` within 2 s of the last change); accepted deliveries, repeats, quarantined deliveries and refusals by error code per bucket over the window, oldest first, with no gaps; open quarantine items. A company-scoped token sees its jobs' deliveries, and 0 refused, quarantined and open. Read from counters kept as changes are projected: the cost is the same whatever the number of jobs.",
    responses: { "200": json(statsSchema, "The overview.") },
  }),
  retryQuarantined: describeRoute({
    operationId: "retryQuarantined",
    summary: "Run a quarantined delivery through today's parser (admin tokens only)",
    responses: {
      "200": json(
        retryResultSchema,
        "Stored, or already stored. A retry is not another delivery: an entry a retry resolved answers that retry's outcome again, storing nothing.",
      ),
      "401": unauthorized,
      "403": error("Not an admin token (`forbidden`)."),
      "404": notFound,
      "409": error(
        "Another retry of this entry is in progress (`retry_in_progress`); `Retry-After` says when to ask again for its outcome.",
      ),
      "422": error("Today's parser still refuses it (`still_invalid`)."),
      "503": {
        ...error(
          "Storage unavailable (`storage_unavailable`), or an Extend signed payload could not be fetched again (`payload_fetch_failed`); retry after Retry-After.",
        ),
        headers: retryAfter,
      },
    },
  }),
  reproject: describeRoute({
    operationId: "reproject",
    summary: "Rebuild one page of D1 job summaries from the job ledgers (admin tokens only)",
    description:
      "Walks the key registry (every job that stored an event), reads each job's summary from its ledger and writes D1 rows that are missing or differ; repaired rows get a new change sequence. Follow `nextCursor` until it is null; asking a page again changes nothing already right.",
    requestBody: {
      description: "`{cursor?, limit? (1–200, default 100)}`; an empty body starts the walk.",
      content: { "application/json": { schema: reprojectBodySchema } },
    },
    responses: {
      "200": json(reprojectPageSchema, "One page done."),
      "400": error("A bad body or a cursor that is not reprojection's (`invalid_request`)."),
      "403": error("Not an unscoped admin token (`forbidden`)."),
    },
  }),
  seedRegistry: describeRoute({
    operationId: "seedRegistry",
    summary: "Register the job keys D1 holds, for ledgers older than the registry (admin tokens only)",
    requestBody: {
      description: "`{cursor?, limit? (1–200, default 100)}`; an empty body starts the walk.",
      content: { "application/json": { schema: reprojectBodySchema } },
    },
    responses: {
      "200": json(seedPageSchema, "One page of keys registered."),
      "400": error("A bad body or a cursor that is not the seed's (`invalid_request`)."),
      "403": error("Not an unscoped admin token (`forbidden`)."),
    },
  }),
};

/** A vendor's webhook endpoint: its own authentication from its adapter, the answers of CONTRACT §3.3. */
export function webhookDoc(adapter: VendorAdapter): MiddlewareHandler {
  const {
    summary,
    description,
    headers,
    pathParameters,
    unauthorized,
    refusals = {},
    reply,
  } = adapter.webhook;
  const stored = "Stored (`duplicate: false`), or a repeat counted (`duplicate: true`).";
  return describeRoute({
    operationId: `receive${adapter.source.charAt(0).toUpperCase()}${adapter.source.slice(1)}Webhook`,
    summary,
    description: `${description} Any other method is answered 405 \`method_not_allowed\`.`,
    tags: ["webhooks"],
    public: true,
    ...(headers === undefined ? {} : { headers }),
    ...(pathParameters === undefined ? {} : { pathParameters }),
    requestBody: {
      description: "The vendor's event, authenticated on its raw bytes before it is parsed.",
      content: { "application/json": { schema: {} } },
    },
    responses: {
      "200":
        reply === undefined
          ? json(deliveryStoredSchema, stored)
          : json(
              v.union([deliveryStoredSchema, reply]),
              `${stored} Or the reply to a handshake, which stores nothing.`,
            ),
      "202": json(
        deliveryQuarantinedSchema,
        "Authentic, but not JSON, not a valid envelope, or failing its event schema: kept in quarantine (`GET /v1/quarantine`).",
      ),
      "401": error(unauthorized),
      ...Object.fromEntries(Object.entries(refusals).map(([status, text]) => [status, error(text)])),
      "405": {
        ...error("Any method but POST (`method_not_allowed`), checked before anything else."),
        headers: { Allow: { description: "`POST`.", schema: { type: "string", const: "POST" } } },
      },
      "413": error("The body is over `MAX_BODY_BYTES` (`payload_too_large`)."),
      "503": {
        ...error(
          "Storage unavailable (`storage_unavailable`), or a signed payload could not be fetched (`payload_fetch_failed`): the vendor retries.",
        ),
        headers: retryAfter,
      },
    },
  });
}

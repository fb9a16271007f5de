/**
 * @module `GET /openapi.json` — the OpenAPI 3.1 document of the read API, generated with
 * `@valibot/to-json-schema` from the same valibot schemas the routes validate queries with and the
 * tests check responses against (src/api/schemas.ts). `@valibot/to-json-schema` was chosen over a
 * Hono OpenAPI integration because it adds no framework of its own: the routes stay plain Hono.
 */
import { type ConversionConfig, type JsonSchema, toJsonSchema } from "@valibot/to-json-schema";
import type * as v from "valibot";
import {
  changesPageSchema,
  changesQuerySchema,
  errorSchema,
  jobDetailQuerySchema,
  jobDetailSchema,
  jobListSchema,
  listJobsQuerySchema,
  listQuarantineQuerySchema,
  quarantineListSchema,
  retryResultSchema,
  verificationSchema,
} from "./schemas";

const CONVERSION: ConversionConfig = { target: "draft-2020-12", typeMode: "input", errorMode: "ignore" };
const OUTPUT: ConversionConfig = { ...CONVERSION, typeMode: "output" };

function schemaOf(schema: v.GenericSchema, config = OUTPUT): JsonSchema {
  const { $schema: _, ...rest } = toJsonSchema(schema, config);
  return rest;
}

/** Query parameters, one per entry of an object schema, described by their input type. */
function queryParameters(schema: { entries: v.ObjectEntries }) {
  return Object.entries(schema.entries).map(([name, entry]) => ({
    name,
    in: "query",
    required: false,
    schema: schemaOf(entry, CONVERSION),
  }));
}

const json = (schema: JsonSchema, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

const errors = {
  "400": json(schemaOf(errorSchema), "Invalid query parameter (`invalid_request`)."),
  "401": json(schemaOf(errorSchema), "Missing, unknown or revoked token (`unauthorized`)."),
  "503": json(schemaOf(errorSchema), "Storage unavailable (`storage_unavailable`); see Retry-After."),
};
const notFound = {
  "404": json(schemaOf(errorSchema), "Unknown, or outside the token's scope (`not_found`)."),
};
const rawJson = {
  description: "The body exactly as received, byte for byte.",
  content: { "application/json": { schema: {} } },
};
const jobKeyParameter = {
  name: "jobKey",
  in: "path",
  required: true,
  description: "`source:kind:id`, as is or percent-encoded.",
  schema: { type: "string" },
};

let cached: Record<string, unknown> | undefined;

export function openApiDocument(): Record<string, unknown> {
  cached ??= {
    openapi: "3.1.0",
    info: {
      title: "runledger read API",
      version: "1",
      description: "Job summaries and exact, ordered job histories of Extend and Alfred webhooks.",
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    },
    security: [{ bearer: [] }],
    paths: {
      "/v1/jobs": {
        get: {
          summary: "List jobs, newest lastEventAt first",
          parameters: queryParameters(listJobsQuerySchema),
          responses: { "200": json(schemaOf(jobListSchema), "A page of job summaries."), ...errors },
        },
      },
      "/v1/changes": {
        get: {
          summary: "The change feed: jobs in the order D1 accepted their latest change",
          description:
            "Resumable and complete: from any returned cursor, every job that changes afterwards appears in a later page, at least as new as that change. `after=latest` starts at the current end; `wait` long-polls.",
          parameters: queryParameters(changesQuerySchema),
          responses: { "200": json(schemaOf(changesPageSchema), "A page of changed jobs."), ...errors },
        },
      },
      "/v1/jobs/{jobKey}": {
        get: {
          summary: "A job's summary, ordered history and links",
          description:
            "The history and a job's files come a page at a time. A job of up to 100 entries gets its whole history. A bigger one gets up to `historyLimit` entries (default 500), cut so that the whole answer stays under 1 MB (1,000,000 bytes): follow `historyNextCursor` with `historyCursor` while it is present (likewise `filesNextCursor` with `filesCursor`, 500 files or 128 KB a page). Cursors are keyset positions: the pages hold every entry exactly once, in order; an event that arrives during the walk appears once in its place if it sorts after the cursor, and not in this walk otherwise.",
          parameters: [jobKeyParameter, ...queryParameters(jobDetailQuerySchema)],
          responses: { "200": json(schemaOf(jobDetailSchema), "The job."), ...notFound, ...errors },
        },
      },
      "/v1/jobs/{jobKey}/events/{eventId}": {
        get: {
          summary: "One event's raw body",
          parameters: [
            jobKeyParameter,
            { name: "eventId", in: "path", required: true, schema: { type: "string" } },
          ],
          responses: { "200": rawJson, ...notFound, ...errors },
        },
      },
      "/v1/jobs/{jobKey}/events/{eventId}/verification": {
        get: {
          summary: "Re-verify a stored event with the authentication material kept at receipt",
          parameters: [
            jobKeyParameter,
            { name: "eventId", in: "path", required: true, schema: { type: "string" } },
          ],
          responses: { "200": json(schemaOf(verificationSchema), "The verdict."), ...notFound, ...errors },
        },
      },
      "/v1/jobs/{jobKey}/stream": {
        get: {
          summary: "The job live, as Server-Sent Events: a snapshot, then one change per delivery",
          parameters: [jobKeyParameter],
          responses: {
            "200": {
              description:
                "`event: snapshot` (the job detail), then `event: change` with `id: <version>` and data `{summary, entry}`; comment lines as heartbeats.",
              content: { "text/event-stream": { schema: { type: "string" } } },
            },
            ...notFound,
            ...errors,
          },
        },
      },
      "/v1/quarantine": {
        get: {
          summary: "Authentic deliveries that could not be parsed, newest first",
          parameters: queryParameters(listQuarantineQuerySchema),
          responses: {
            "200": json(schemaOf(quarantineListSchema), "A page of quarantine entries."),
            ...errors,
          },
        },
      },
      "/v1/quarantine/{id}": {
        get: {
          summary: "One quarantined body, byte for byte",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          responses: { "200": rawJson, ...notFound, ...errors },
        },
      },
      "/v1/quarantine/{id}/retry": {
        post: {
          summary: "Run a quarantined delivery through today's parser (admin tokens only)",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          responses: {
            "200": json(schemaOf(retryResultSchema), "Stored, or already stored."),
            "403": json(schemaOf(errorSchema), "Not an admin token (`forbidden`)."),
            "422": json(schemaOf(errorSchema), "Today's parser still refuses it (`still_invalid`)."),
            ...notFound,
            ...errors,
          },
        },
      },
      "/healthz": {
        get: {
          summary: "Liveness",
          security: [],
          responses: { "200": json({ type: "object", properties: { ok: { const: true } } }, "Alive.") },
        },
      },
    },
  };
  return cached;
}

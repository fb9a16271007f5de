/**
 * `GET /openapi.json` (CONTRACT §5 "Also"): generated from the routes, so every route of the app is
 * in it with an operationId; real answers validate against the schemas it documents (with ajv, on
 * the JSON Schemas as served, not on the valibot schemas they came from); and it equals the committed
 * `docs/openapi.json`, which scripts/openapi.test.mjs validates as OpenAPI 3.1 (the validator reads
 * its meta-schemas from disk, so it runs in Node).
 */
import { SELF } from "cloudflare:test";
import { Ajv2020 } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { apiGet, BASE, createToken, eventually, extendEvent, sendAlfred, sendExtend } from "./helpers";

interface Operation {
  operationId?: string;
  parameters?: { name: string; in: string }[];
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
}
interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, object> };
}

/** Routes of the app that are not operations of the API, each with the reason. */
const NOT_OPERATIONS: Record<string, string> = {
  "GET /": "the console's page (HTML, CONTRACT §8)",
  "GET /quarantine": "the console's page",
  "GET /jobs/*": "the console's page",
  "ALL /v1/*": "the bearer-token middleware of every /v1 route",
  "GET /v1/jobs/*": "job keys holding `/` as is: the four /v1/jobs/{jobKey} operations again",
  "ALL /webhooks/alfred": "no URL token: always 401, like a wrong token",
};

let doc: OpenApiDoc;

beforeAll(async () => {
  const response = await SELF.fetch(`${BASE}/openapi.json`);
  expect(response.status).toBe(200);
  doc = (await response.json()) as OpenApiDoc;
});

const DOCUMENT_ID = "https://runledger.test/openapi.json";
let ajv: Ajv2020;

/** The documented schema of an answer, compiled with ajv, its `$ref`s into the served document. */
function answerSchema(path: string, method: string, status: number) {
  const schema = doc.paths[path]?.[method]?.responses[String(status)]?.content?.["application/json"]?.schema;
  if (schema === undefined) throw new Error(`${method} ${path} documents no JSON ${status}`);
  if (ajv === undefined) {
    ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ $id: DOCUMENT_ID, components: doc.components });
  }
  const refs = JSON.stringify(schema).replaceAll('"#/components/', `"${DOCUMENT_ID}#/components/`);
  return ajv.compile(JSON.parse(refs));
}

/** Asserts that a real answer has a documented status and matches that status's documented schema. */
async function expectDocumented(path: string, method: string, response: Response) {
  const body: unknown = await response.json();
  const validate = answerSchema(path, method, response.status);
  expect(validate(body), JSON.stringify({ body, errors: validate.errors })).toBe(true);
  return body;
}

describe("GET /openapi.json", () => {
  it("is the committed docs/openapi.json (regenerate with npx vitest run test/openapi.test.ts -u)", async () => {
    await expect(`${JSON.stringify(doc, null, 2)}\n`).toMatchFileSnapshot("../docs/openapi.json");
  });

  it("names every route of the app with a unique operationId; webhooks as POST", () => {
    const routes = createApp().routes.map((route) => `${route.method} ${route.path}`);
    const operations = [...new Set(routes)].filter((route) => NOT_OPERATIONS[route] === undefined);
    expect(operations.length).toBeGreaterThan(12);
    for (const route of operations) {
      const [method = "", path = ""] = route.split(" ");
      // `all` answers every method (405 but for POST); POST is the operation.
      const documented = method === "ALL" ? "post" : method.toLowerCase();
      const operation = doc.paths[path.replace(/:(\w+)/g, "{$1}")]?.[documented];
      expect(operation?.operationId, route).toMatch(/^[a-z][A-Za-z]+$/);
    }
    // Each exception is still a route, so the list cannot hide a removed or renamed one.
    expect(routes).toEqual(expect.arrayContaining(Object.keys(NOT_OPERATIONS)));
    const ids = Object.values(doc.paths).flatMap((methods) =>
      Object.values(methods).map((operation) => operation.operationId),
    );
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("lists each route's query parameters from the schema it validates with, shares the shapes, and needs a bearer token", () => {
    const names = (path: string) => doc.paths[path]?.get?.parameters?.map((p) => p.name);
    expect(names("/v1/jobs")).toEqual([
      "source",
      "kind",
      "status",
      "company",
      "updatedAfter",
      "updatedBefore",
      "limit",
      "cursor",
    ]);
    expect(names("/v1/changes")).toEqual(["after", "limit", "wait", "source", "kind", "status", "company"]);
    expect(names("/v1/jobs/{jobKey}/events/{eventId}")).toEqual(["jobKey", "eventId"]);
    // The detail's pages (docs/API.md, "Pages of a job's detail").
    expect(names("/v1/jobs/{jobKey}")).toEqual(["jobKey", "historyCursor", "historyLimit", "filesCursor"]);
    expect(JSON.stringify(doc.components.schemas.JobDetail)).toContain("historyNextCursor");
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(["JobSummary", "HistoryEntry", "JobDetail", "Error"]),
    );
    expect(JSON.stringify(doc.components.schemas.JobDetail)).toContain(
      '"$ref":"#/components/schemas/HistoryEntry"',
    );
    expect(doc).toMatchObject({
      security: [{ bearer: [] }],
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      paths: {
        "/healthz": { get: { security: [] } },
        "/webhooks/extend": {
          post: {
            security: [],
            parameters: [{ name: "x-extend-request-timestamp" }, { name: "x-extend-request-signature" }],
          },
        },
        "/webhooks/alfred/{token}": { post: { security: [], parameters: [{ name: "token", in: "path" }] } },
      },
    });
  });

  it("documents what the routes answer: real answers validate against the documented schemas", async () => {
    const id = `exr_openapi_${crypto.randomUUID()}`;
    const event = extendEvent("extract_run.processed", { id, status: "PROCESSED" });
    await expectDocumented("/webhooks/extend", "post", await sendExtend(event));
    const repeat = await expectDocumented("/webhooks/extend", "post", await sendExtend(event));
    expect(repeat).toMatchObject({ duplicate: true });
    await expectDocumented("/webhooks/extend", "post", await sendExtend(event, { secret: "wrong" }));
    const quarantined = (await expectDocumented(
      "/webhooks/alfred/{token}",
      "post",
      await sendAlfred("{"),
    )) as {
      quarantineId: string;
    };
    await expectDocumented(
      "/webhooks/alfred/{token}",
      "post",
      await sendAlfred({ type: "url_verification", challenge: "c", token: "t" }),
    );

    const token = await createToken();
    const jobKey = `extend:extract_run:${id}`;
    const key = encodeURIComponent(jobKey);
    await expectDocumented("/healthz", "get", await SELF.fetch(`${BASE}/healthz`));
    const detail = await expectDocumented("/v1/jobs/{jobKey}", "get", await apiGet(`/v1/jobs/${key}`, token));
    // The check is not vacuous: the same answer without its version does not validate.
    const { version: _, ...withoutVersion } = detail as { version: number };
    expect(answerSchema("/v1/jobs/{jobKey}", "get", 200)(withoutVersion)).toBe(false);
    await expectDocumented("/v1/jobs/{jobKey}", "get", await apiGet(`/v1/jobs/${key}x`, token));
    await expectDocumented(
      "/v1/jobs/{jobKey}/events/{eventId}/verification",
      "get",
      await apiGet(`/v1/jobs/${key}/events/${event.eventId}/verification`, token),
    );
    await expectDocumented("/v1/jobs", "get", await apiGet("/v1/jobs?limit=0", token));
    await expectDocumented("/v1/jobs", "get", await SELF.fetch(`${BASE}/v1/jobs`));
    // The list is answered from D1, which the ledger reaches shortly after the 200: validate a list
    // that holds the job, not an empty one.
    await eventually(async () => {
      const list = (await expectDocumented("/v1/jobs", "get", await apiGet("/v1/jobs", token))) as {
        data: { jobKey: string }[];
      };
      expect(list.data.map((job) => job.jobKey)).toContain(jobKey);
    });
    await expectDocumented("/v1/changes", "get", await apiGet("/v1/changes?limit=5", token));
    await expectDocumented("/v1/quarantine", "get", await apiGet("/v1/quarantine", token));
    const admin = await createToken({ admin: true });
    const retry = await SELF.fetch(`${BASE}/v1/quarantine/${quarantined.quarantineId}/retry`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(retry.status).toBe(422);
    await expectDocumented("/v1/quarantine/{id}/retry", "post", retry);
  });
});

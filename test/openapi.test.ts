/**
 * `GET /openapi.json` (CONTRACT §5 "Also"): generated from the routes, so every route of the app is
 * in it with an operationId; real answers validate against the schemas it documents (with ajv, on
 * the JSON Schemas as served, not on the valibot schemas they came from); and it equals the committed
 * `docs/openapi.json`, which scripts/openapi.test.mjs validates as OpenAPI 3.1 (the validator reads
 * its meta-schemas from disk, so it runs in Node). test/openapi.answers.test.ts drives every
 * operation through every answer it gives and holds the document to exactly those.
 */
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { SOURCES, STATUSES } from "../src/core/vocabulary";
import { ERROR_CODES } from "../src/http/errors";
import { apiGet, BASE, createToken, eventually, extendEvent, sendAlfred, sendExtend } from "./helpers";
import { answerSchema, expectDocumented as documented, type OpenApiDoc, openApiDoc } from "./openapi-doc";

/** Routes of the app that are not operations of the API, each with the reason. */
const NOT_OPERATIONS: Record<string, string> = {
  "GET /": "the console's page (HTML, CONTRACT §8)",
  "GET /quarantine": "the console's page",
  "GET /jobs/*": "the console's page",
  "GET /favicon.ico": "the console's icon (public/favicon.svg)",
  "ALL /v1/*": "the bearer-token middleware of every /v1 route",
  "GET /v1/jobs/*": "job keys holding `/` as is: the four /v1/jobs/{jobKey} operations again",
  "ALL /webhooks/alfred": "no URL token: always 401, like a wrong token",
};

let doc: OpenApiDoc;

beforeAll(async () => {
  doc = await openApiDoc();
});

/** Asserts that a real answer is one its operation documents (test/openapi-doc.ts). */
function expectDocumented(path: string, method: string, response: Response) {
  return documented(method, `${BASE}${path.replace(/\{\w+\}/g, "x")}`, response);
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

  it("names its servers, and the vocabulary's enums: Status, Source and ErrorCode, used wherever one occurs", () => {
    // Relative to where it is served, so the one document suits every deployment; then `npm start`.
    expect(doc.servers.map((server) => server.url)).toEqual(["/", "http://127.0.0.1:8787"]);
    const { schemas } = doc.components;
    expect(schemas.Status).toMatchObject({ type: "string", enum: [...STATUSES] });
    expect(schemas.Source).toMatchObject({ type: "string", enum: [...SOURCES] });
    expect(schemas.ErrorCode).toMatchObject({ type: "string", enum: [...ERROR_CODES] });
    const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
    expect(schemas.JobSummary).toMatchObject({
      properties: { status: ref("Status"), source: ref("Source") },
    });
    expect(schemas.HistoryEntry).toMatchObject({
      properties: { status: { anyOf: [ref("Status"), { type: "null" }] } },
    });
    expect(schemas.LinkedJob).toMatchObject({ properties: { status: ref("Status") } });
    expect(schemas.QuarantineEntry).toMatchObject({ properties: { source: ref("Source") } });
    expect(schemas.Error).toMatchObject({
      properties: { error: { properties: { code: ref("ErrorCode") } } },
    });
    // Query filters are comma-separated lists: arrays sent `style: form, explode: false`.
    for (const path of ["/v1/jobs", "/v1/changes"]) {
      const parameters = doc.paths[path]?.get?.parameters ?? [];
      for (const [name, items] of [
        ["status", ref("Status")],
        ["source", ref("Source")],
        ["kind", { type: "string" }],
      ] as const) {
        expect(
          parameters.find((parameter) => parameter.name === name),
          `${path} ${name}`,
        ).toMatchObject({
          in: "query",
          style: "form",
          explode: false,
          schema: { type: "array", items },
        });
      }
    }
  });

  it("documents each webhook's 405 with its Allow header, and each validated query's 400", () => {
    for (const path of ["/webhooks/extend", "/webhooks/alfred/{token}", "/webhooks/standard"]) {
      expect(doc.paths[path]?.post?.responses["405"], path).toMatchObject({ headers: { Allow: {} } });
    }
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const query = operation.parameters?.some((parameter) => parameter.in === "query") === true;
        expect(operation.responses["400"] !== undefined || !query, `${method} ${path}`).toBe(true);
      }
    }
    expect(Object.keys(doc.paths["/v1/jobs/{jobKey}"]?.get?.responses ?? {})).toEqual([
      "200",
      "400",
      "401",
      "404",
      "503",
    ]);
  });

  it("lists each route's query parameters from the schema it validates with, shares the shapes, and needs a bearer token", () => {
    const names = (path: string) => doc.paths[path]?.get?.parameters?.map((p) => p.name);
    expect(names("/v1/jobs")).toEqual([
      "source",
      "kind",
      "status",
      "company",
      "category",
      "updatedAfter",
      "updatedBefore",
      "limit",
      "cursor",
    ]);
    expect(names("/v1/changes")).toEqual([
      "after",
      "limit",
      "wait",
      "source",
      "kind",
      "status",
      "company",
      "category",
    ]);
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
    expect(answerSchema(doc, "/v1/jobs/{jobKey}", "get", 200)(withoutVersion)).toBe(false);
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

/**
 * The served `/openapi.json` as the tests hold the routes to it: which operation a request reaches,
 * and whether an answer is one that operation documents — its status, its documented headers, its
 * media type, its body against the documented schema (compiled with ajv from the JSON Schemas as
 * served, not from the valibot schemas they came from) and, for an error, a code of that status that
 * the answer's description names. Each answer checked is recorded, so a test file can say which
 * documented answers it met.
 */
import { SELF } from "cloudflare:test";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { expect } from "vitest";
import { ERROR_STATUS, type ErrorCode } from "../src/http/errors";
import { BASE } from "./helpers";

export interface HeaderDoc {
  description: string;
  schema: { type?: string; const?: string };
}
export interface ResponseDoc {
  description: string;
  headers?: Record<string, HeaderDoc>;
  content?: Record<string, { schema: object }>;
}
export interface Operation {
  operationId: string;
  tags?: string[];
  parameters?: { name: string; in: string; style?: string; explode?: boolean; schema: object }[];
  responses: Record<string, ResponseDoc>;
}
export interface OpenApiDoc {
  openapi: string;
  servers: { url: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Record<string, unknown>> };
}

let served: OpenApiDoc | undefined;

/** The document the Worker serves (read once per test file). */
export async function openApiDoc(): Promise<OpenApiDoc> {
  if (served === undefined) {
    const response = await SELF.fetch(`${BASE}/openapi.json`);
    expect(response.status).toBe(200);
    served = (await response.json()) as OpenApiDoc;
  }
  return served;
}

const DOCUMENT_ID = "https://runledger.test/openapi.json";
let ajv: Ajv2020 | undefined;
const compiled = new Map<object, ValidateFunction>();

/** A documented schema compiled with ajv, its `$ref`s into the served document's components. */
export function compile(doc: OpenApiDoc, schema: object): ValidateFunction {
  if (ajv === undefined) {
    ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ $id: DOCUMENT_ID, components: doc.components });
  }
  let validate = compiled.get(schema);
  if (validate === undefined) {
    const refs = JSON.stringify(schema).replaceAll('"#/components/', `"${DOCUMENT_ID}#/components/`);
    validate = ajv.compile(JSON.parse(refs));
    compiled.set(schema, validate);
  }
  return validate;
}

/** The documented JSON schema of one answer of the operation at `path` and `method`. */
export function answerSchema(doc: OpenApiDoc, path: string, method: string, status: number) {
  const schema = doc.paths[path]?.[method]?.responses[String(status)]?.content?.["application/json"]?.schema;
  if (schema === undefined) throw new Error(`${method} ${path} documents no JSON ${status}`);
  return compile(doc, schema);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^$()|[\]\\]/g, "\\$&");
}

/**
 * The operation a request reaches: the path template its path fills (a `{name}` is one segment), and
 * its method — but for a webhook, whose route answers every method (405 but for POST) and whose one
 * operation is its POST.
 */
export function operationOf(doc: OpenApiDoc, method: string, url: string) {
  const pathname = new URL(url).pathname;
  for (const [path, methods] of Object.entries(doc.paths)) {
    const pattern = new RegExp(`^${escapeRegExp(path).replace(/\{\w+\}/g, "[^/]+")}$`);
    if (!pattern.test(pathname)) continue;
    const webhook = methods.post?.tags?.includes("webhooks") === true;
    const documented = webhook ? "post" : method.toLowerCase();
    const operation = methods[documented];
    if (operation !== undefined) return { path, method: documented, operation };
  }
  throw new Error(`${method} ${pathname} reaches no operation of /openapi.json`);
}

/** Documented answers met, `operationId` → statuses. */
export const met = new Map<string, Set<string>>();

/** An error envelope's code, if the body is one. */
function errorCodeOf(body: unknown): string | undefined {
  const code = (body as { error?: { code?: unknown } } | null)?.error?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Asserts that `response`, the answer to `method url`, is one its operation documents, records it,
 * and returns its body (parsed when JSON; the text when the operation serves raw bytes; for a stream,
 * the text of its first chunk, and the stream is cancelled).
 */
export async function expectDocumented(method: string, url: string, response: Response): Promise<unknown> {
  const doc = await openApiDoc();
  const { operation } = operationOf(doc, method, url);
  const status = String(response.status);
  const where = `${method} ${new URL(url).pathname} → ${status} (${operation.operationId})`;
  const answer = operation.responses[status];
  if (answer === undefined) {
    const text = await response.text();
    expect.fail(`${where} is not documented: ${text.slice(0, 300)}`);
  }
  let statuses = met.get(operation.operationId);
  if (statuses === undefined) {
    statuses = new Set();
    met.set(operation.operationId, statuses);
  }
  statuses.add(status);

  for (const [name, header] of Object.entries(answer.headers ?? {})) {
    const value = response.headers.get(name);
    expect(value, `${where}: header ${name}`).not.toBeNull();
    if (header.schema.type === "integer") expect(value, `${where}: header ${name}`).toMatch(/^\d+$/);
    if (header.schema.const !== undefined)
      expect(value, `${where}: header ${name}`).toBe(header.schema.const);
  }
  const type = (response.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
  const media = answer.content?.[type];
  expect(media, `${where}: content-type ${type} is not documented`).toBeDefined();
  if (type === "text/event-stream") {
    // Its first event, then done (cancelling before any byte came leaves workerd complaining).
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    await reader.cancel();
    return new TextDecoder().decode(first.value);
  }
  // `{}`: the bytes as received (a raw event, a quarantined body), which need not even be JSON.
  if (media === undefined || Object.keys(media.schema).length === 0) return response.text();

  const body: unknown = await response.json();
  const validate = compile(doc, media.schema);
  expect(validate(body), `${where}: ${JSON.stringify({ body, errors: validate.errors })}`).toBe(true);
  const code = errorCodeOf(body);
  if (response.status >= 400) {
    expect(code, `${where}: an error answer is the error envelope`).toBeDefined();
    expect(ERROR_STATUS[code as ErrorCode], `${where}: ${code}'s status`).toBe(response.status);
    expect(answer.description, `${where}: the description names ${code}`).toContain(`\`${code}\``);
  }
  return body;
}

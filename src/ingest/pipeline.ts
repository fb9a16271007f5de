/**
 * @module The ingest pipeline shared by every vendor. Checks run in the contract's order and the
 * first that fails answers (CONTRACT §3.3): method → declared length → what needs no body →
 * reading the body under the limit → authentication → JSON, envelope and schema (quarantine) →
 * store in the job's ledger. A 2xx leaves only after the event (or its quarantine) is durable.
 */
import type { Settings } from "../config";
import type { ProjectionMessage } from "../core/summary";
import type { Issue, NormalizedEvent } from "../core/vocabulary";
import { checkDeclaredLength, readRequestBody } from "../http/body";
import { ApiError, jsonResponse } from "../http/errors";
import { storedEvent } from "../ledger/bounds";
import { orderTime } from "../ledger/order";
import type { CompanyMismatch, StoredEvent } from "../ledger/types";
import { quarantineDelivery } from "../projection/quarantine";
import { type AuthMaterial, type Delivery, settingsOf, type VendorAdapter } from "../vendors/index";
import type { LedgerGateway } from "./ledger-gateway";

export interface IngestDeps {
  ledgers: LedgerGateway;
  fetch: typeof fetch;
  now: () => number;
  /** Takes the job's summary after a stored delivery, on its way to the projection queue. */
  project: (message: ProjectionMessage) => void;
}

function log(fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ level: "info", msg: "delivery", ...fields }));
}

function decodeUtf8(body: Uint8Array): { ok: true; text: string } | { ok: false; issues: Issue[] } {
  try {
    return { ok: true, text: new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body) };
  } catch {
    return { ok: false, issues: [{ path: "", message: "body is not valid UTF-8" }] };
  }
}

async function quarantine(
  env: Env,
  source: string,
  receivedAt: number,
  issues: Issue[],
  body: Uint8Array,
  auth: AuthMaterial,
) {
  let quarantineId: string;
  try {
    quarantineId = await quarantineDelivery(env.DB, {
      source,
      receivedAt,
      issues,
      body,
      auth: JSON.stringify(auth),
    });
  } catch (error) {
    log({ level: "error", source, outcome: "quarantine_failed", error: String(error) });
    throw new ApiError("storage_unavailable", "Could not store the delivery in quarantine; retry later.");
  }
  log({ source, outcome: "quarantined", quarantineId, issues: issues.length });
  return jsonResponse({ ok: true, quarantined: true, quarantineId }, 202);
}

/** An unpaired UTF-16 surrogate: no URL can carry it (`encodeURIComponent` throws). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why an event's job key or event id could not be read back through the API, if it could not: an
 * empty kind or id, or an unpaired surrogate. Such a delivery is authentic, so it is quarantined
 * rather than stored where nobody could read it (found by the hostile corpus, test/corpus/). A kind
 * with a colon is refused too: `extend:::x` reads as no job at all, and `extend:a:b:c` would be one
 * job for kind `a:b`, id `c` and for kind `a`, id `b:c` (found by fuzzing, test/fuzz.test.ts).
 */
/**
 * What the event's ledger stores of it (`storedEvent`): every derived field cut to size — before
 * the call, since a 10,000-level summary would not even cross the RPC, and for the ledger's 2 MB
 * rows — with the time it orders by (`orderTime`: the operator's future horizon, if any).
 */
function toStore(event: NormalizedEvent, settings: Settings): StoredEvent {
  return storedEvent(event, orderTime(event.occurredAt, event.receivedAt, settings.futureHorizonMs));
}

/**
 * The quarantine reason of a delivery its ledger refused (CONTRACT §4 "Tenancy"): the job is
 * another company's. The reason's message starts with the code, `company_mismatch`.
 */
export function companyMismatchIssue(refused: CompanyMismatch): Issue {
  return {
    path: "",
    message: `company_mismatch: ${refused.jobKey} belongs to company "${refused.companyId}"; this delivery is of company "${refused.named}"`,
  };
}

export function unreadableKeys(event: NormalizedEvent): Issue[] {
  const issues: Issue[] = [];
  if (event.kind.length === 0 || event.kind.includes(":") || LONE_SURROGATE.test(event.kind)) {
    issues.push({ path: "", message: `the job kind "${event.kind}" cannot name a job` });
  }
  if (event.id.length === 0 || LONE_SURROGATE.test(event.id)) {
    issues.push({ path: "", message: "the job id is empty or holds an unpaired surrogate" });
  }
  if (event.eventId.length === 0 || LONE_SURROGATE.test(event.eventId)) {
    issues.push({ path: "", message: "the event id is empty or holds an unpaired surrogate" });
  }
  return issues;
}

/** Runs one delivery through `adapter` and answers it. Throws {@link ApiError} for error answers. */
export async function ingestDelivery(
  adapter: VendorAdapter,
  request: Request,
  params: Record<string, string | undefined>,
  env: Env,
  deps: IngestDeps,
): Promise<Response> {
  const started = deps.now();
  if (request.method !== "POST") {
    throw new ApiError("method_not_allowed", "Webhook endpoints accept POST only.");
  }
  const settings = settingsOf(adapter, env);
  checkDeclaredLength(request, settings.maxBodyBytes);
  const delivery: Delivery = { request, params, settings, receivedAt: started, fetch: deps.fetch };
  await adapter.admit(delivery);
  const body = await readRequestBody(request, settings.maxBodyBytes);
  await adapter.authenticate(delivery, body);
  const auth = await adapter.authMaterial(delivery);

  const decoded = decodeUtf8(body);
  if (!decoded.ok) return quarantine(env, adapter.source, started, decoded.issues, body, auth);
  const interpretation = await adapter.interpret(delivery, decoded.text);
  switch (interpretation.outcome) {
    case "reply":
      return jsonResponse(interpretation.body);
    case "error":
      throw interpretation.error;
    case "quarantine":
      return quarantine(env, adapter.source, started, interpretation.issues, body, auth);
    case "event": {
      const { event } = interpretation;
      const unreadable = unreadableKeys(event);
      if (unreadable.length > 0) return quarantine(env, adapter.source, started, unreadable, body, auth);
      const raw = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
      const result = await deps.ledgers.ingest(toStore(event, settings), raw, JSON.stringify(auth));
      if ("refused" in result) {
        return quarantine(env, adapter.source, started, [companyMismatchIssue(result.refused)], body, auth);
      }
      deps.project({ jobKey: event.jobKey, version: result.summary.version, summary: result.summary });
      // One line per accepted delivery only when asked for: at thousands of deliveries a second it
      // is a cost of its own (BENCHMARKS.md), and the platform's request logs already list them.
      if (settings.logDeliveries) {
        log({
          source: event.source,
          jobKey: event.jobKey,
          eventId: event.eventId,
          outcome: result.duplicate ? "duplicate" : "stored",
          ms: deps.now() - started,
        });
      }
      return jsonResponse({
        ok: true,
        eventId: event.eventId,
        jobKey: event.jobKey,
        duplicate: result.duplicate,
      });
    }
  }
}

/**
 * A quarantined delivery parsed again: the event it is, with `store` to store it in its job's
 * ledger (one delivery each call), or why it is still refused.
 */
export type Reparsed =
  | { outcome: "event"; jobKey: string; eventId: string; store: () => Promise<"stored" | "duplicate"> }
  | { outcome: "still_invalid"; issues: Issue[] };

/**
 * Runs a quarantined delivery through today's parser exactly as at receipt (CONTRACT §9): its
 * authenticity was established when it was received, so only the parse and the store are redone,
 * with the material and receipt time kept then. An Extend signed-URL payload is fetched again.
 * Nothing is stored until the caller calls `store`: a retry first claims its quarantine entry, so
 * that a retry is never another delivery (src/api/quarantine.ts).
 */
export async function reparseDelivery(
  adapter: VendorAdapter,
  stored: { body: Uint8Array; receivedAt: number; auth: string | null },
  env: Env,
  deps: IngestDeps,
): Promise<Reparsed> {
  const auth = stored.auth === null ? null : (JSON.parse(stored.auth) as AuthMaterial);
  const delivery: Delivery = {
    request: adapter.replayRequest(auth),
    params: {},
    settings: settingsOf(adapter, env),
    receivedAt: stored.receivedAt,
    fetch: deps.fetch,
  };
  const decoded = decodeUtf8(stored.body);
  if (!decoded.ok) return { outcome: "still_invalid", issues: decoded.issues };
  const interpretation = await adapter.interpret(delivery, decoded.text);
  switch (interpretation.outcome) {
    case "reply":
      return { outcome: "still_invalid", issues: [{ path: "", message: "a handshake, not an event" }] };
    case "error":
      throw interpretation.error;
    case "quarantine":
      return { outcome: "still_invalid", issues: interpretation.issues };
    case "event": {
      const { event } = interpretation;
      const unreadable = unreadableKeys(event);
      if (unreadable.length > 0) return { outcome: "still_invalid", issues: unreadable };
      const store = async () => {
        const body = stored.body;
        const raw = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
        const result = await deps.ledgers.ingest(toStore(event, delivery.settings), raw, stored.auth);
        // A delivery its job's ledger refuses (another company's, CONTRACT §4 "Tenancy") stays invalid.
        if ("refused" in result) {
          throw new ApiError(
            "still_invalid",
            `Still invalid: ${companyMismatchIssue(result.refused).message}`,
          );
        }
        deps.project({ jobKey: event.jobKey, version: result.summary.version, summary: result.summary });
        log({ source: event.source, jobKey: event.jobKey, eventId: event.eventId, outcome: "retried" });
        return result.duplicate ? ("duplicate" as const) : ("stored" as const);
      };
      return { outcome: "event", jobKey: event.jobKey, eventId: event.eventId, store };
    }
  }
}

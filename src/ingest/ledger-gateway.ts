/**
 * @module How the edge reaches a job's ledger: one Durable Object per job key, called by RPC under
 * a deadline. An error or a timeout becomes 503 `storage_unavailable` with `Retry-After`, so the
 * vendor retries and the ledger's dedup makes the retry safe (CONTRACT §3.3).
 */

import { withDeadline } from "../deadline";
import { ApiError } from "../http/errors";
import type { StoredVerification } from "../ledger/history";
import type { DetailPage, IngestResult, LedgerDetail, StoredEvent } from "../ledger/types";

/**
 * Longest the edge waits for a ledger before answering 503: long enough that a burst on one busy
 * job is queued rather than refused, and with a 10 s signed-URL fetch before it still inside the
 * 30 s after which Extend gives up.
 */
export const LEDGER_TIMEOUT_MS = 15_000;

/** The seam between the edge and the ledgers; tests put a failing one in its place. */
export interface LedgerGateway {
  /** Stores a delivery; `auth` is the JSON of what authenticated it (kept for re-verification). */
  ingest(event: StoredEvent, raw: ArrayBuffer, auth: string | null): Promise<IngestResult>;
  /**
   * The job's detail as its ledger answers it (each link with its company, for the read API to
   * filter); `page` picks a page of its history and files (the first by default).
   */
  detail(jobKey: string, page?: DetailPage): Promise<LedgerDetail | null>;
  rawEvent(jobKey: string, eventId: string): Promise<ArrayBuffer | null>;
  /** Opens a live view of the job: a WebSocket on which its ledger sends a snapshot, then changes. */
  watch(jobKey: string): Promise<WebSocket>;
  verification(jobKey: string, eventId: string): Promise<StoredVerification | null>;
}

async function guarded<T>(work: () => Promise<T>, ms: number): Promise<T> {
  try {
    return await withDeadline(work(), ms, "the ledger");
  } catch (error) {
    console.log(
      JSON.stringify({
        level: "error",
        msg: "ledger unavailable",
        error: error instanceof Error ? error.message : String(error),
      }),
    );
    throw new ApiError("storage_unavailable", "The job ledger is unavailable; retry later.");
  }
}

/** What the gateway calls on a job's ledger: the Durable Object stub's RPC methods. */
export interface LedgerStub {
  ingest(event: StoredEvent, raw: ArrayBuffer, auth: string | null): Promise<IngestResult>;
  detail(page?: DetailPage): Promise<LedgerDetail | null>;
  rawEvent(eventId: string): Promise<ArrayBuffer | null>;
  fetch(request: Request): Promise<Response>;
  verification(eventId: string): Promise<StoredVerification | null>;
}

export interface GatewayOptions {
  timeoutMs?: number;
  /** Reaches a job's ledger; tests pass one that throws or hangs to stand for an outage. */
  ledgerOf?: (jobKey: string) => LedgerStub;
}

/**
 * Durable Object ids of recently seen job keys. `idFromName` hashes the name on every call, which
 * showed in the ingest profile (BENCHMARKS.md); an id is a plain value, safe to keep across
 * requests (a stub is not: it belongs to the request that made it). Bounded: oldest first out.
 */
const JOB_IDS = new Map<string, DurableObjectId>();
const JOB_IDS_MAX = 10_000;

function jobId(env: Env, jobKey: string): DurableObjectId {
  let id = JOB_IDS.get(jobKey);
  if (id === undefined) {
    id = env.JOBS.idFromName(jobKey);
    if (JOB_IDS.size >= JOB_IDS_MAX) JOB_IDS.delete(JOB_IDS.keys().next().value as string);
    JOB_IDS.set(jobKey, id);
  }
  return id;
}

export function durableObjectLedgers(env: Env, options: GatewayOptions = {}): LedgerGateway {
  const timeoutMs = options.timeoutMs ?? LEDGER_TIMEOUT_MS;
  const ledgerOf = options.ledgerOf ?? ((jobKey: string): LedgerStub => env.JOBS.get(jobId(env, jobKey)));
  return {
    ingest: (event, raw, auth) => guarded(() => ledgerOf(event.jobKey).ingest(event, raw, auth), timeoutMs),
    detail: (jobKey, page) => guarded(() => ledgerOf(jobKey).detail(page), timeoutMs),
    rawEvent: (jobKey, eventId) => guarded(() => ledgerOf(jobKey).rawEvent(eventId), timeoutMs),
    verification: (jobKey, eventId) => guarded(() => ledgerOf(jobKey).verification(eventId), timeoutMs),
    watch: (jobKey) =>
      guarded(async () => {
        const response = await ledgerOf(jobKey).fetch(
          new Request("https://ledger.internal/stream", { headers: { upgrade: "websocket" } }),
        );
        if (response.webSocket === null)
          throw new Error(`the ledger answered ${response.status}, not a WebSocket`);
        return response.webSocket;
      }, timeoutMs),
  };
}

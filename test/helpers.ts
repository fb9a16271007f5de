/** Helpers shared by the end-to-end tests: signed Extend deliveries, tokens, reads. */
import { env, SELF } from "cloudflare:test";
import { sha256Hex } from "../src/api/tokens";
import { signExtendBody } from "../src/vendors/extend/verify";

export const EXTEND_SECRET = "wss_test_secret_do_not_use";
export const ALFRED_TOKEN = "alfred-test-token";
export const BASE = "https://runledger.test";

const encoder = new TextEncoder();

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export interface SignedOptions {
  secret?: string;
  timestamp?: number | string;
  headers?: Record<string, string>;
}

/** Builds a POST to /webhooks/extend signed as Extend signs (vendors/extend.md §2.7). */
export async function signedExtendRequest(
  body: string | object,
  options: SignedOptions = {},
): Promise<Request> {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const timestamp = String(options.timestamp ?? nowSeconds());
  const signature = await signExtendBody(options.secret ?? EXTEND_SECRET, timestamp, encoder.encode(text));
  return new Request(`${BASE}/webhooks/extend`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-extend-request-timestamp": timestamp,
      "x-extend-request-signature": signature,
      ...options.headers,
    },
    body: text,
  });
}

export async function sendExtend(body: string | object, options: SignedOptions = {}): Promise<Response> {
  return SELF.fetch(await signedExtendRequest(body, options));
}

export function extendEvent(eventType: string, payload: Record<string, unknown>, eventId?: string) {
  return { eventId: eventId ?? `evt_${crypto.randomUUID()}`, eventType, payload };
}

export function sendAlfred(body: string | object, token = ALFRED_TOKEN): Promise<Response> {
  return SELF.fetch(`${BASE}/webhooks/alfred/${encodeURIComponent(token)}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Creates a read-API token straight in D1, as `npm run token -- create` does. */
export async function createToken(scope: { company?: string; source?: string } = {}): Promise<string> {
  const token = `rl_test_${crypto.randomUUID()}`;
  await env.DB.prepare(
    "INSERT INTO tokens (token_hash, name, company_id, source, created_at) VALUES (?, ?, ?, ?, ?)",
  )
    .bind(
      await sha256Hex(token),
      "test",
      scope.company ?? null,
      scope.source ?? null,
      new Date().toISOString(),
    )
    .run();
  return token;
}

export async function apiGet(path: string, token: string): Promise<Response> {
  return SELF.fetch(`${BASE}${path}`, { headers: { authorization: `Bearer ${token}` } });
}

export async function jobDetail<T = JobDetailBody>(jobKey: string, token: string): Promise<T> {
  const response = await apiGet(`/v1/jobs/${encodeURIComponent(jobKey)}`, token);
  if (response.status !== 200)
    throw new Error(`GET ${jobKey} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

export interface JobDetailBody {
  jobKey: string;
  source: string;
  kind: string;
  id: string;
  status: string | null;
  vendorStatus: string | null;
  terminal: boolean;
  companyId: string | null;
  companyName: string | null;
  name: string | null;
  stage: string | null;
  retries: number | null;
  failure: { reason: string | null; messages: string[] } | null;
  firstEventAt: string;
  lastEventAt: string;
  lastReceivedAt: string;
  eventCount: number;
  deliveryCount: number;
  history: {
    eventId: string;
    eventType: string;
    status: string | null;
    vendorStatus: string | null;
    occurredAt: string;
    receivedAt: string;
    deliveries: number;
    summary: Record<string, unknown>;
  }[];
  files?: { jobKey: string; status: string | null }[];
  job?: { jobKey: string; status: string | null } | null;
}

export interface ErrorBody {
  error: { code: string; message: string };
}

export async function errorCode(response: Response): Promise<string> {
  return ((await response.json()) as ErrorBody).error.code;
}

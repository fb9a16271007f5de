/**
 * @module The Extend adapter: `POST /webhooks/extend` (CONTRACT §3.1). Both signature headers are
 * required before the body is read; the raw bytes are verified before parsing; a signed-URL payload
 * is fetched (10 s) and processed in place of the wrapper, while the signed wrapper stays the raw
 * event kept and served back.
 */
import * as v from "valibot";
import { commaList } from "../../config";
import { readBodyWithLimit } from "../../http/body";
import { ApiError } from "../../http/errors";
import {
  type Delivery,
  defineVendor,
  type Interpretation,
  parseJson,
  refuseUnlessSigned,
  signatureHeaderMaterial,
  toIssues,
} from "../index";
import { EXTEND_RESOURCE_KINDS, normalizeExtendEvent } from "./normalize";
import { envelopeSchema, signedDataUrlSchema } from "./schema";
import { verifyExtendSignature } from "./verify";

const TIMESTAMP_HEADER = "x-extend-request-timestamp";
const SIGNATURE_HEADER = "x-extend-request-signature";
/** How long the signed payload URL may take to answer (CONTRACT §3.1). */
export const SIGNED_PAYLOAD_TIMEOUT_MS = 10_000;
/**
 * A fetched payload may be larger than a webhook body, but must fit a Worker's memory (128 MB) with
 * its text and parsed JSON beside it. A larger one is quarantined: retrying would not shrink it.
 */
export const SIGNED_PAYLOAD_MAX_BYTES = 20 * 1024 * 1024;

function isSignedUrlPayload(payload: Record<string, unknown>): boolean {
  // The SDK marks it with `object: "signed_data_url"`; the docs example has only `data`, so an
  // untagged payload counts when `data` is an http(s) URL (vendors/extend.md §2.2).
  if (payload.object === "signed_data_url") return true;
  return (
    payload.object === undefined && typeof payload.data === "string" && /^https?:\/\//i.test(payload.data)
  );
}

/**
 * Why a signed payload could not be fetched, as the 503 names it (CONTRACT §3.1): the kind of
 * failure only. The runtime's own error text and the URL stay out of the answer — a presigned URL
 * carries its signature in the query, and an error text may quote it.
 */
export type FetchFailure = "scheme" | "timeout" | "network" | `status ${number}`;

type FetchedPayload =
  | { outcome: "fetched"; text: string }
  | { outcome: "unavailable"; failure: FetchFailure }
  | { outcome: "too_large" };

/** The schemes a signed payload URL may use: no `file:`, `data:`, `ftp:` … reaches the runtime's fetch. */
const FETCHABLE_SCHEMES = new Set(["http:", "https:"]);

function isTimeout(error: unknown, signal: AbortSignal): boolean {
  const name = error instanceof Error || error instanceof DOMException ? error.name : "";
  return signal.aborted || name === "TimeoutError" || name === "AbortError";
}

/**
 * GETs the signed payload. Redirects are not followed (`redirect: "manual"`): a presigned URL
 * answers the object itself, and a redirect could send the Worker anywhere — an internal address, a
 * slow host — so a 3xx is a failed fetch like any other non-2xx.
 */
async function fetchSignedPayload(delivery: Delivery, url: string): Promise<FetchedPayload> {
  if (!FETCHABLE_SCHEMES.has(new URL(url).protocol)) return { outcome: "unavailable", failure: "scheme" };
  const signal = AbortSignal.timeout(SIGNED_PAYLOAD_TIMEOUT_MS);
  try {
    const response = await delivery.fetch(url, { method: "GET", redirect: "manual", signal });
    if (!response.ok) {
      await response.body?.cancel();
      return { outcome: "unavailable", failure: `status ${response.status}` };
    }
    const bytes = await readBodyWithLimit(response.body, SIGNED_PAYLOAD_MAX_BYTES, "cancel");
    return { outcome: "fetched", text: new TextDecoder().decode(bytes) };
  } catch (error) {
    if (error instanceof ApiError && error.code === "payload_too_large") return { outcome: "too_large" };
    return { outcome: "unavailable", failure: isTimeout(error, signal) ? "timeout" : "network" };
  }
}

const SCHEME = "extend-hmac-sha256";
/** The timestamp and signature headers: with the stored bytes, what re-verifies a delivery. */
const KEPT = signatureHeaderMaterial(SCHEME, { timestamp: TIMESTAMP_HEADER, signature: SIGNATURE_HEADER });

export const extendAdapter = defineVendor({
  source: "extend",
  scheme: SCHEME,
  routes: ["/webhooks/extend"],
  variables: {
    EXTEND_SIGNING_SECRETS:
      "Comma-separated Extend endpoint signing secrets (`wss_…`); a delivery passes if any verifies.",
  },
  readSettings: (read) => ({ extendSecrets: commaList(read("EXTEND_SIGNING_SECRETS")) }),
  companyScoped: false,
  resourceKinds: EXTEND_RESOURCE_KINDS,
  webhook: {
    summary: "Receive an Extend webhook event",
    description:
      "Signed with HMAC-SHA256 over `v0:<timestamp>:<raw body>` with one of `EXTEND_SIGNING_SECRETS`. A `signed_data_url` payload is fetched before the event is stored.",
    headers: [
      {
        name: TIMESTAMP_HEADER,
        description: "Unix seconds; older than the tolerance or over 60 s ahead → `stale_timestamp`.",
      },
      { name: SIGNATURE_HEADER, description: "Hex HMAC-SHA256 of `v0:<timestamp>:<raw body>`, any case." },
    ],
    unauthorized:
      "A signature header is missing (`missing_signature`), wrong (`invalid_signature`) or stale (`stale_timestamp`).",
  },

  async admit(delivery) {
    const headers = delivery.request.headers;
    if (headers.get(TIMESTAMP_HEADER) === null || headers.get(SIGNATURE_HEADER) === null) {
      throw new ApiError(
        "missing_signature",
        `Both ${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER} headers are required.`,
      );
    }
  },

  async authenticate(delivery, body) {
    const headers = delivery.request.headers;
    const verdict = await verifyExtendSignature({
      secrets: delivery.settings.extendSecrets,
      timestamp: (headers.get(TIMESTAMP_HEADER) ?? "").trim(),
      signature: (headers.get(SIGNATURE_HEADER) ?? "").trim(),
      body,
      nowSeconds: Math.floor(delivery.receivedAt / 1000),
      toleranceSeconds: delivery.settings.toleranceSeconds,
    });
    refuseUnlessSigned(verdict);
  },

  async interpret(delivery, text): Promise<Interpretation> {
    const json = parseJson(text);
    if (!json.ok) return { outcome: "quarantine", issues: json.issues };
    const envelope = v.safeParse(envelopeSchema, json.value);
    if (!envelope.success) return { outcome: "quarantine", issues: toIssues(envelope.issues) };
    const { eventId, eventType } = envelope.output;
    let payload: unknown = envelope.output.payload;

    if (isSignedUrlPayload(envelope.output.payload)) {
      const signed = v.safeParse(signedDataUrlSchema, envelope.output.payload);
      if (!signed.success) return { outcome: "quarantine", issues: toIssues(signed.issues, "payload") };
      const fetched = await fetchSignedPayload(delivery, signed.output.data);
      if (fetched.outcome === "unavailable") {
        return {
          outcome: "error",
          error: new ApiError(
            "payload_fetch_failed",
            `Could not fetch the signed payload: ${fetched.failure}.`,
          ),
        };
      }
      if (fetched.outcome === "too_large") {
        const message = `the signed payload is larger than ${SIGNED_PAYLOAD_MAX_BYTES} bytes`;
        return { outcome: "quarantine", issues: [{ path: "payload.data", message }] };
      }
      const fetchedJson = parseJson(fetched.text);
      if (!fetchedJson.ok) {
        return {
          outcome: "quarantine",
          issues: fetchedJson.issues.map((i) => ({ ...i, path: "payload.data" })),
        };
      }
      payload = fetchedJson.value;
      // Tolerate a URL that serves the whole envelope rather than the payload alone.
      const wrapped = v.safeParse(envelopeSchema, payload);
      if (wrapped.success && wrapped.output.eventId === eventId) payload = wrapped.output.payload;
    }

    const signedAt = Number(delivery.request.headers.get(TIMESTAMP_HEADER)?.trim());
    const normalized = normalizeExtendEvent({
      eventId,
      eventType,
      payload,
      signedAt,
      receivedAt: delivery.receivedAt,
    });
    return normalized.ok
      ? { outcome: "event", event: normalized.event }
      : { outcome: "quarantine", issues: normalized.issues };
  },

  async authMaterial(delivery) {
    return KEPT.read(delivery.request);
  },

  async verifyStored(material, body, settings) {
    if (material.scheme !== SCHEME) return false;
    const timestamp = material.values.timestamp ?? "";
    // Freshness aside: the check is made as of the signature's own time.
    const verdict = await verifyExtendSignature({
      secrets: settings.extendSecrets,
      timestamp,
      signature: material.values.signature ?? "",
      body,
      nowSeconds: Number(timestamp),
      toleranceSeconds: settings.toleranceSeconds,
    });
    return verdict === "ok";
  },

  replayRequest: KEPT.replay,
});

/**
 * @module The Standard Webhooks adapter: `POST /webhooks/standard`, for any sender that follows the
 * open spec (https://www.standardwebhooks.com): `webhook-id`, `webhook-timestamp` and
 * `webhook-signature` headers, signed with a `whsec_…` secret from `STANDARD_WEBHOOK_SECRETS`. The
 * checks and answers are Extend's (CONTRACT §3.3): all three headers before the body is read
 * (`missing_signature`), the raw bytes verified before parsing (`invalid_signature`, then
 * `stale_timestamp`), an authentic body that does not parse quarantined.
 */
import { commaList } from "../../config";
import { ApiError } from "../../http/errors";
import {
  defineVendor,
  type Interpretation,
  parseJson,
  refuseUnlessSigned,
  signatureHeaderMaterial,
} from "../index";
import { normalizeStandardEvent } from "./normalize";
import { verifyStandardSignature } from "./verify";

const ID_HEADER = "webhook-id";
const TIMESTAMP_HEADER = "webhook-timestamp";
const SIGNATURE_HEADER = "webhook-signature";
const SCHEME = "standard-webhooks-hmac-sha256";
/** The three headers: with the stored bytes, they are the whole signed content. */
const KEPT = signatureHeaderMaterial(SCHEME, {
  id: ID_HEADER,
  timestamp: TIMESTAMP_HEADER,
  signature: SIGNATURE_HEADER,
});

/** The three headers as received (trimmed), empty when absent. */
function signatureHeaders(request: Request) {
  const headers = request.headers;
  return {
    id: (headers.get(ID_HEADER) ?? "").trim(),
    timestamp: (headers.get(TIMESTAMP_HEADER) ?? "").trim(),
    signature: (headers.get(SIGNATURE_HEADER) ?? "").trim(),
  };
}

export const standardAdapter = defineVendor({
  source: "standard",
  scheme: SCHEME,
  routes: ["/webhooks/standard"],
  variables: {
    STANDARD_WEBHOOK_SECRETS:
      "Comma-separated Standard Webhooks secrets (`whsec_<base64 key>`); a delivery passes if any verifies.",
  },
  readSettings: (read) => ({ standardSecrets: commaList(read("STANDARD_WEBHOOK_SECRETS")) }),
  companyScoped: false,
  resourceKinds: [],
  webhook: {
    summary: "Receive a Standard Webhooks event",
    description:
      'Signed as the Standard Webhooks spec says: `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<raw body>">` with one of `STANDARD_WEBHOOK_SECRETS`. The body is `{type, timestamp, data: {id, …}}`; the job key is `standard:<type up to its first dot>:<data.id>`.',
    headers: [
      { name: ID_HEADER, description: "The event id: repeats of one id are one event." },
      {
        name: TIMESTAMP_HEADER,
        description: "Unix seconds; older than the tolerance or over 60 s ahead → `stale_timestamp`.",
      },
      {
        name: SIGNATURE_HEADER,
        description: "Space-separated `v1,<base64 signature>` entries; the delivery passes if any verifies.",
      },
    ],
    unauthorized:
      "A header is missing (`missing_signature`), the signature wrong (`invalid_signature`) or stale (`stale_timestamp`).",
  },

  async admit(delivery) {
    const headers = delivery.request.headers;
    if (
      headers.get(ID_HEADER) === null ||
      headers.get(TIMESTAMP_HEADER) === null ||
      headers.get(SIGNATURE_HEADER) === null
    ) {
      throw new ApiError(
        "missing_signature",
        `The ${ID_HEADER}, ${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER} headers are all required.`,
      );
    }
  },

  async authenticate(delivery, body) {
    const verdict = await verifyStandardSignature({
      ...signatureHeaders(delivery.request),
      secrets: delivery.settings.standardSecrets,
      body,
      nowSeconds: Math.floor(delivery.receivedAt / 1000),
      toleranceSeconds: delivery.settings.toleranceSeconds,
    });
    refuseUnlessSigned(verdict);
  },

  async interpret(delivery, text): Promise<Interpretation> {
    const json = parseJson(text);
    if (!json.ok) return { outcome: "quarantine", issues: json.issues };
    const { id, timestamp } = signatureHeaders(delivery.request);
    const normalized = normalizeStandardEvent(json.value, {
      eventId: id,
      signedAt: Number(timestamp),
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
    const verdict = await verifyStandardSignature({
      secrets: settings.standardSecrets,
      id: material.values.id ?? "",
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

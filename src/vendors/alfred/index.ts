/**
 * @module The Alfred adapter: `POST /webhooks/alfred/:token` (CONTRACT §3.2). Alfred signs
 * nothing, so the edge check is the URL token (constant-time against `ALFRED_WEBHOOK_TOKENS`), the
 * `url_verification` handshake, and the optional company allow-list.
 */
import * as v from "valibot";
import { commaList } from "../../config";
import { sha256Hex } from "../../core/digest";
import { ApiError } from "../../http/errors";
import { defineVendor, type Interpretation, parseJson, REPLAY_URL, toIssues } from "../index";
import { normalizeAlfredEvent } from "./normalize";
import { envelopeSchema, handshakeSchema } from "./schema";

const encoder = new TextEncoder();

/**
 * Constant-time comparison of two strings: both are hashed to fixed-length digests first, so
 * neither the content nor the length of a configured token leaks through timing.
 */
async function equalInConstantTime(a: string, b: string): Promise<boolean> {
  const [left, right] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(a)),
    crypto.subtle.digest("SHA-256", encoder.encode(b)),
  ]);
  return crypto.subtle.timingSafeEqual(left, right);
}

async function isKnownToken(token: string, tokens: string[]): Promise<boolean> {
  let known = false;
  for (const candidate of tokens) known = (await equalInConstantTime(token, candidate)) || known;
  return known;
}

const SCHEME = "alfred-url-token";

/** The answer to Alfred's `url_verification` handshake. */
const challengeReplySchema = v.object({ challenge: v.string() });

export const alfredAdapter = defineVendor({
  source: "alfred",
  scheme: SCHEME,
  // Not strict routing (src/app.ts): `/webhooks/alfred/` reaches the second route, whose missing
  // token is answered 401 like any wrong token, not 404.
  routes: ["/webhooks/alfred/:token", "/webhooks/alfred"],
  variables: {
    ALFRED_WEBHOOK_TOKENS: "Comma-separated URL tokens: Alfred posts to `/webhooks/alfred/<token>`.",
    ALFRED_COMPANY_IDS: "Optional comma-separated allow-list of Alfred `company_id`; empty means any.",
  },
  readSettings: (read) => ({
    alfredTokens: commaList(read("ALFRED_WEBHOOK_TOKENS")),
    alfredCompanyIds: commaList(read("ALFRED_COMPANY_IDS")),
  }),
  // Alfred events name their company (`event.company_id`): company-scoped tokens see these jobs.
  companyScoped: true,
  webhook: {
    summary: "Receive an Alfred webhook event",
    description:
      "Alfred signs nothing: the URL token authenticates the delivery. A `url_verification` handshake is answered with its challenge and stores nothing.",
    pathParameters: { token: "One of `ALFRED_WEBHOOK_TOKENS`." },
    unauthorized: "The URL token is missing or not valid (`unauthorized`).",
    refusals: { "403": "The event's company is not in `ALFRED_COMPANY_IDS` (`forbidden_company`)." },
    reply: challengeReplySchema,
  },

  async admit(delivery) {
    // The URL token needs no body, so it is checked before the body is read (CONTRACT §3.3).
    const token = delivery.params.token ?? "";
    if (token.length === 0 || !(await isKnownToken(token, delivery.settings.alfredTokens))) {
      throw new ApiError("unauthorized", "The webhook URL token is missing or not valid.");
    }
  },

  async authenticate() {
    // Alfred signs nothing: the URL token checked in `admit` is the whole edge check.
  },

  async interpret(delivery, text): Promise<Interpretation> {
    const json = parseJson(text);
    if (!json.ok) return { outcome: "quarantine", issues: json.issues };
    const handshake = v.safeParse(handshakeSchema, json.value);
    if (handshake.success) return { outcome: "reply", body: { challenge: handshake.output.challenge } };

    const envelope = v.safeParse(envelopeSchema, json.value);
    if (!envelope.success) return { outcome: "quarantine", issues: toIssues(envelope.issues) };
    const allowed = delivery.settings.alfredCompanyIds;
    const company = envelope.output.event.company_id ?? null;
    if (allowed.length > 0 && (company === null || !allowed.includes(company))) {
      return {
        outcome: "error",
        error: new ApiError("forbidden_company", "Events of this company are not accepted here."),
      };
    }
    const normalized = normalizeAlfredEvent(envelope.output, delivery.receivedAt);
    return normalized.ok
      ? { outcome: "event", event: normalized.event }
      : { outcome: "quarantine", issues: normalized.issues };
  },

  async authMaterial(delivery) {
    // A hash of the URL token, never the token: enough to tell later whether it is still configured.
    return { scheme: SCHEME, values: { tokenSha256: await sha256Hex(delivery.params.token ?? "") } };
  },

  async verifyStored(material, _body, settings) {
    // Alfred signs nothing: the bytes were authentic if the URL token that brought them is one of
    // today's tokens. Every configured token is hashed and compared, in constant time.
    if (material.scheme !== SCHEME || material.values.tokenSha256 === undefined) return false;
    const kept = encoder.encode(material.values.tokenSha256);
    let known = false;
    for (const token of settings.alfredTokens) {
      const candidate = encoder.encode(await sha256Hex(token));
      known =
        (candidate.byteLength === kept.byteLength && crypto.subtle.timingSafeEqual(candidate, kept)) || known;
    }
    return known;
  },

  replayRequest() {
    return new Request(REPLAY_URL, { method: "POST" });
  },
});

/**
 * @module The Alfred adapter: `POST /webhooks/alfred/:token` (CONTRACT §3.2). Alfred signs
 * nothing, so the edge check is the URL token (constant-time against `ALFRED_WEBHOOK_TOKENS`), the
 * `url_verification` handshake, and the optional company allow-list.
 */
import * as v from "valibot";
import { commaList } from "../../config";
import { sha256Hex } from "../../core/digest";
import { ApiError } from "../../http/errors";
import { type Delivery, defineVendor, type Interpretation, parseJson, REPLAY_URL, toIssues } from "../index";
import { normalizeAlfredEvent } from "./normalize";
import { envelopeSchema, handshakeSchema } from "./schema";
import { bindingAllows, findUrlToken, findUrlTokenByHash, parseUrlToken, type UrlToken } from "./tokens";

/**
 * The header a replayed delivery (a quarantine retry) carries its URL token's hash in, so the token's
 * binding applies again. Only `replayRequest` sets it: a delivery from outside has its token in
 * the URL, and `admit` refuses one without.
 */
const REPLAYED_TOKEN_HEADER = "x-runledger-url-token-sha256";

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
    ALFRED_WEBHOOK_TOKENS:
      "Comma-separated URL tokens: Alfred posts to `/webhooks/alfred/<token>`. An entry `TOKEN=ID1|ID2` takes only events of those company ids.",
    ALFRED_COMPANY_IDS: "Optional comma-separated allow-list of Alfred `company_id`; empty means any.",
  },
  readSettings: (read) => ({
    alfredTokens: commaList(read("ALFRED_WEBHOOK_TOKENS")).map(parseUrlToken),
    alfredCompanyIds: commaList(read("ALFRED_COMPANY_IDS")),
  }),
  // Alfred events name their company (`event.company_id`): company-scoped tokens see these jobs.
  companyScoped: true,
  resourceKinds: [],
  webhook: {
    summary: "Receive an Alfred webhook event",
    description:
      "Alfred signs nothing: the URL token authenticates the delivery. A `url_verification` handshake is answered with its challenge and stores nothing.",
    pathParameters: { token: "One of `ALFRED_WEBHOOK_TOKENS`." },
    unauthorized: "The URL token is missing or not valid (`unauthorized`).",
    refusals: {
      "403":
        "The event's company is not in `ALFRED_COMPANY_IDS`, or not among the companies the URL token is bound to (`forbidden_company`).",
    },
    reply: challengeReplySchema,
  },

  async admit(delivery) {
    // The URL token needs no body, so it is checked before the body is read (CONTRACT §3.3).
    const token = delivery.params.token ?? "";
    if (token.length === 0 || (await findUrlToken(token, delivery.settings.alfredTokens)) === null) {
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
    const urlToken = await urlTokenOf(delivery);
    if (urlToken !== null && !bindingAllows(urlToken, company)) {
      return {
        outcome: "error",
        error: new ApiError("forbidden_company", "This webhook URL does not take events of this company."),
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
    return (await findUrlTokenByHash(material.values.tokenSha256, settings.alfredTokens)) !== null;
  },

  replayRequest(material) {
    const headers = new Headers();
    const tokenSha256 = material?.scheme === SCHEME ? material.values.tokenSha256 : undefined;
    if (tokenSha256 !== undefined) headers.set(REPLAYED_TOKEN_HEADER, tokenSha256);
    return new Request(REPLAY_URL, { method: "POST", headers });
  },
});

/**
 * The entry of the URL token a delivery came through: from the URL, or — for a replayed delivery —
 * from its kept hash. Null when a replayed delivery's token is no longer configured: its
 * authenticity was established at receipt (CONTRACT §9), and no binding of it is known any more.
 */
async function urlTokenOf(delivery: Delivery<{ alfredTokens: UrlToken[] }>): Promise<UrlToken | null> {
  const tokens = delivery.settings.alfredTokens;
  const token = delivery.params.token;
  if (token !== undefined) return findUrlToken(token, tokens);
  const replayed = delivery.request.headers.get(REPLAYED_TOKEN_HEADER);
  return replayed === null ? null : findUrlTokenByHash(replayed, tokens);
}

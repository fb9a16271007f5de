/**
 * Alfred URL tokens bound to companies (CONTRACT §2, `ALFRED_WEBHOOK_TOKENS`): an entry is `TOKEN`
 * (any company) or `TOKEN=ID1|ID2` (only those companies). An event from a bound URL naming another
 * company — or none — is 403 `forbidden_company` and nothing is stored; the allow-list
 * (`ALFRED_COMPANY_IDS`) is still checked first.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { alfredEvent } from "./fixtures/alfred/events";
import { apiGet, BASE, createToken, type ErrorBody, jobStatusCode, quarantineEntries } from "./helpers";

const TOKENS = "bound-token=co-a|co-b, free-token, padded-token==";
const app = createApp();

/** A delivery to `/webhooks/alfred/<token>` with `ALFRED_WEBHOOK_TOKENS` (and more) set as given. */
async function post(token: string, body: object, vars: Record<string, string> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.fetch(
    new Request(`${BASE}/webhooks/alfred/${encodeURIComponent(token)}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
    { ...env, ALFRED_WEBHOOK_TOKENS: TOKENS, ...vars },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

function jobStart(jobId: string, companyId: string | undefined) {
  return alfredEvent("job_start", { jobId, fields: { company_id: companyId } });
}

let admin: string;
beforeAll(async () => {
  admin = await createToken({ admin: true });
});

async function expectForbidden(response: Response): Promise<void> {
  const text = await response.text();
  expect(response.status, text).toBe(403);
  expect((JSON.parse(text) as ErrorBody).error.code).toBe("forbidden_company");
}

describe("a URL token bound to companies", () => {
  it("accepts events of its companies", async () => {
    for (const [jobId, company] of [
      ["bound-a", "co-a"],
      ["bound-b", "co-b"],
    ] as const) {
      const response = await post("bound-token", jobStart(jobId, company));
      expect(response.status, await response.clone().text()).toBe(200);
      expect(await jobStatusCode(`alfred:job:${jobId}`, admin)).toBe(200);
    }
  });

  it("refuses another company's event, or one naming none: 403 forbidden_company, nothing stored", async () => {
    const quarantined = (await quarantineEntries(admin)).length;
    await expectForbidden(await post("bound-token", jobStart("bound-c", "co-c")));
    await expectForbidden(await post("bound-token", jobStart("bound-none", undefined)));
    expect(await jobStatusCode("alfred:job:bound-c", admin)).toBe(404);
    expect(await jobStatusCode("alfred:job:bound-none", admin)).toBe(404);
    expect((await quarantineEntries(admin)).length).toBe(quarantined);
  });

  it("an unbound token in the same list takes any company", async () => {
    expect((await post("free-token", jobStart("free-c", "co-c"))).status).toBe(200);
    expect((await post("free-token", jobStart("free-none", undefined))).status).toBe(200);
  });

  it("the URL carries the token alone: the whole entry is not a token", async () => {
    const response = await post("bound-token=co-a|co-b", jobStart("bound-entry", "co-a"));
    expect(response.status).toBe(401);
  });

  it("a token ending in `=` (base64 padding) is a token, not a binding", async () => {
    expect((await post("padded-token==", jobStart("padded-c", "co-c"))).status).toBe(200);
  });

  it("answers the url_verification handshake", async () => {
    const response = await post("bound-token", { type: "url_verification", challenge: "c-1", token: "T" });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ challenge: "c-1" });
  });

  it("the allow-list is checked first, and a binding narrows it further", async () => {
    const vars = { ALFRED_COMPANY_IDS: "co-a,co-c" };
    // Allowed by the list and by the binding.
    expect((await post("bound-token", jobStart("both-a", "co-a"), vars)).status).toBe(200);
    // Bound, but not on the list: refused by the list.
    await expectForbidden(await post("bound-token", jobStart("list-b", "co-b"), vars));
    // On the list, but not bound: refused by the binding.
    await expectForbidden(await post("bound-token", jobStart("binding-c", "co-c"), vars));
    expect(await jobStatusCode("alfred:job:list-b", admin)).toBe(404);
    expect(await jobStatusCode("alfred:job:binding-c", admin)).toBe(404);
  });

  it("an event stored through a bound URL verifies against the token alone", async () => {
    const event = jobStart("bound-verified", "co-a");
    expect((await post("bound-token", event)).status).toBe(200);
    const ctx = createExecutionContext();
    const response = await app.fetch(
      new Request(`${BASE}/v1/jobs/alfred:job:bound-verified/events/${event.event_id}/verification`, {
        headers: { authorization: `Bearer ${admin}` },
      }),
      { ...env, ALFRED_WEBHOOK_TOKENS: TOKENS },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(await response.json()).toMatchObject({ verified: true, scheme: "alfred-url-token" });
    // With the test environment's tokens (no `bound-token`), the same bytes no longer verify.
    const now = await apiGet(
      `/v1/jobs/alfred:job:bound-verified/events/${event.event_id}/verification`,
      admin,
    );
    expect(await now.json()).toMatchObject({ verified: false });
  });
});

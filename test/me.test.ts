/**
 * `GET /v1/me`: what a token may do — its name, admin or not, its scope — and never the token itself.
 * The console offers Retry on a quarantined delivery only when this says `admin`.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { apiGet, BASE, createToken, revokeToken } from "./helpers";

describe("GET /v1/me", () => {
  it("answers a read token's name, scope and admin: false, without the token", async () => {
    const company = `co-${crypto.randomUUID()}`;
    const token = await createToken({ company, source: "alfred" });
    const response = await apiGet("/v1/me", token);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).not.toContain(token);
    expect(JSON.parse(text)).toEqual({
      name: "test",
      admin: false,
      scope: { source: "alfred", companyId: company },
    });
  });

  it("answers admin: true for an admin token, with an open scope", async () => {
    const response = await apiGet("/v1/me", await createToken({ admin: true }));
    expect(await response.json()).toEqual({
      name: "test",
      admin: true,
      scope: { source: null, companyId: null },
    });
  });

  it("is refused without a token, or with a revoked one", async () => {
    expect((await SELF.fetch(`${BASE}/v1/me`)).status).toBe(401);
    expect((await apiGet("/v1/me", "rl_not_a_token")).status).toBe(401);
    const revoked = await createToken();
    expect((await apiGet("/v1/me", revoked)).status).toBe(200);
    await revokeToken(revoked);
    expect((await apiGet("/v1/me", revoked)).status).toBe(401);
  });
});

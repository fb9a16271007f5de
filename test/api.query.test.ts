/** Query validation of the list routes: every bad parameter is a 400 that names it. */
import { beforeAll, describe, expect, it } from "vitest";
import { apiGet, createToken, type ErrorBody } from "./helpers";

let token: string;
beforeAll(async () => {
  token = await createToken();
});

async function refusal(path: string): Promise<{ status: number; message: string; code: string }> {
  const response = await apiGet(path, token);
  const body = (await response.json()) as ErrorBody;
  return { status: response.status, code: body.error.code, message: body.error.message };
}

describe("GET /v1/jobs and /v1/quarantine refuse bad parameters", () => {
  it.each([
    ["/v1/jobs?foo=bar", "foo"],
    ["/v1/jobs?updated_after=2026-01-01T00:00:00Z", "updated_after"],
    ["/v1/quarantine?status=failed", "status"],
    [`/v1/jobs?status=${Array(21).fill("failed").join(",")}`, "status"],
    [`/v1/jobs?company=${Array.from({ length: 21 }, (_, i) => `c${i}`).join(",")}`, "company"],
    ["/v1/jobs?limit=0", "limit"],
    ["/v1/jobs?limit=201", "limit"],
    ["/v1/jobs?limit=abc", "limit"],
    ["/v1/jobs?status=done", "status"],
    ["/v1/jobs?source=stripe", "source"],
    ["/v1/jobs?updatedAfter=yesterday", "updatedAfter"],
    ["/v1/jobs?cursor=not-ours", "cursor"],
    ["/v1/jobs?limit=5&limit=6", "limit"],
  ])("%s → 400 naming %s", async (path, parameter) => {
    const answer = await refusal(path);
    expect(answer).toMatchObject({ status: 400, code: "invalid_request" });
    expect(answer.message).toContain(`"${parameter}"`);
  });

  it("accepts twenty items in a list", async () => {
    const response = await apiGet(`/v1/jobs?status=${Array(20).fill("failed").join(",")}`, token);
    expect(response.status).toBe(200);
  });
});

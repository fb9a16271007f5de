/**
 * Fetching an Extend signed-URL payload (CONTRACT §3.1): only `http:`/`https:` URLs are fetched,
 * redirects are not followed (a 3xx is a failed fetch), and the 503 `payload_fetch_failed` names the
 * kind of failure — `scheme`, `status N`, `timeout`, `network` — never the runtime's error text or
 * the URL, which may carry a signature. The Worker's outbound fetch goes through createApp's seam.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { apiStatus, createToken, type ErrorBody, signedExtendRequest } from "./helpers";

const SECRET_QUERY = "X-Amz-Signature=very-secret-signature";

interface Outbound {
  url: string;
  redirect: string | undefined;
}

let outbound: Outbound[] = [];
let answer: () => Promise<Response> = async () => new Response("no answer set", { status: 500 });
const app = createApp({
  fetch: async (input, init) => {
    outbound.push({ url: String(input), redirect: init?.redirect });
    return answer();
  },
});

let token: string;
beforeAll(async () => {
  token = await createToken();
});

function wrapper(eventId: string, url: string): string {
  return JSON.stringify({
    eventId,
    eventType: "workflow_run.completed",
    payload: { object: "signed_data_url", data: url, id: `wr_${eventId}` },
  });
}

async function send(body: string): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.fetch(await signedExtendRequest(body), env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/** Sends a wrapper whose URL answers with `next`; expects 503 and returns its message. */
async function fetchFailure(eventId: string, url: string, next: () => Promise<Response>): Promise<string> {
  outbound = [];
  answer = next;
  const response = await send(wrapper(eventId, url));
  const text = await response.text();
  expect(response.status, text).toBe(503);
  expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
  const { error } = JSON.parse(text) as ErrorBody;
  expect(error.code).toBe("payload_fetch_failed");
  expect(error.message).not.toContain("storage.example.com");
  expect(error.message).not.toContain(SECRET_QUERY);
  expect(await apiStatus(`/v1/jobs/extend:workflow_run:wr_${eventId}`, token)).toBe(404);
  return error.message;
}

describe("signed-URL payload fetch", () => {
  const URL = `https://storage.example.com/payload.json?${SECRET_QUERY}`;

  it("asks the runtime not to follow redirects, and a 3xx is a failed fetch named by its status", async () => {
    const message = await fetchFailure(
      "evt_signed_redirect",
      URL,
      async () => new Response(null, { status: 302, headers: { location: "http://169.254.169.254/" } }),
    );
    expect(outbound).toEqual([{ url: URL, redirect: "manual" }]);
    expect(message).toContain("status 302");
  });

  it.each([
    ["ftp:", "ftp://storage.example.com/payload.json"],
    ["file:", "file:///etc/passwd"],
    ["data:", "data:application/json,%7B%7D"],
  ])("a %s URL is not fetched: 503 naming the scheme", async (_scheme, url) => {
    const message = await fetchFailure(`evt_signed_scheme_${_scheme.replace(":", "")}`, url, async () =>
      Response.json({}),
    );
    expect(outbound).toEqual([]);
    expect(message).toContain("scheme");
  });

  it("a non-2xx answer names its status only", async () => {
    const message = await fetchFailure(
      "evt_signed_404",
      URL,
      async () => new Response("NoSuchKey: the bucket says a lot", { status: 404 }),
    );
    expect(message).toContain("status 404");
    expect(message).not.toContain("NoSuchKey");
  });

  it("a timeout is named `timeout`, never with the runtime's text", async () => {
    const message = await fetchFailure("evt_signed_timeout", URL, async () => {
      throw new DOMException(`The operation to ${URL} was aborted due to timeout`, "TimeoutError");
    });
    expect(message).toContain("timeout");
    expect(message).not.toContain("aborted");
  });

  it("a network error is named `network`, never with the runtime's text", async () => {
    const message = await fetchFailure("evt_signed_network", URL, async () => {
      throw new TypeError(`connect ECONNREFUSED while fetching ${URL}`);
    });
    expect(message).toContain("network");
    expect(message).not.toContain("ECONNREFUSED");
  });
});

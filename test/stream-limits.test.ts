/**
 * Streams and long polls are bounded (CONTRACT §2 `MAX_STREAMS_PER_TOKEN`): a token holds at most
 * that many open job streams plus waiting long polls; beyond, 429 `too_many_streams` with
 * `Retry-After`. Closing one frees its place at once, and the count holds across isolates (two
 * apps here, each with its own memory, as two isolates would be).
 */
import { createExecutionContext, env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { sha256Hex } from "../src/core/digest";
import {
  BASE,
  createToken,
  type ErrorBody,
  eventually,
  extendEvent,
  sendExtend,
  sendStandard,
} from "./helpers";

const JOB = "extend:extract_run:exr_limits";
const LIMIT = "2";
const limited = { ...env, MAX_STREAMS_PER_TOKEN: LIMIT };

// Two apps, as two isolates: whatever one keeps in memory, the other does not see.
const appA = createApp({ streamHeartbeatMs: 50 });
const appB = createApp({ streamHeartbeatMs: 50 });

function get(app: ReturnType<typeof createApp>, path: string, token: string): Promise<Response> {
  return Promise.resolve(
    app.fetch(
      new Request(`${BASE}${path}`, { headers: { authorization: `Bearer ${token}` } }),
      limited,
      createExecutionContext(),
    ),
  );
}

/** Opens a stream and reads up to its snapshot; returns a way to close it. */
async function openStream(app: ReturnType<typeof createApp>, token: string) {
  const response = await get(app, `/v1/jobs/${JOB}/stream`, token);
  expect(response.status, response.status === 200 ? "" : await response.clone().text()).toBe(200);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes("event: snapshot")) {
    const { done, value } = await reader.read();
    if (done) throw new Error("the stream ended before its snapshot");
    text += decoder.decode(value, { stream: true });
  }
  return { close: () => reader.cancel() };
}

async function expectTooMany(response: Response): Promise<void> {
  const text = await response.text();
  expect(response.status, text).toBe(429);
  expect((JSON.parse(text) as ErrorBody).error.code).toBe("too_many_streams");
  expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
}

/** How many places the token holds, as the counting object sees it. */
async function held(token: string): Promise<number> {
  return env.STREAM_QUOTA.get(env.STREAM_QUOTA.idFromName(await sha256Hex(token))).held();
}

beforeAll(async () => {
  expect((await sendExtend(extendEvent("extract_run.processed", { id: "exr_limits" }))).status).toBe(200);
});

describe("MAX_STREAMS_PER_TOKEN", () => {
  it("counts a token's streams across isolates; the next one is 429 until one closes", async () => {
    const token = await createToken();
    const first = await openStream(appA, token);
    const second = await openStream(appB, token);
    expect(await held(token)).toBe(2);
    await expectTooMany(await get(appA, `/v1/jobs/${JOB}/stream`, token));
    await expectTooMany(await get(appB, `/v1/jobs/${JOB}/stream`, token));
    // Another token has places of its own.
    const other = await openStream(appA, await createToken());

    await first.close();
    await eventually(async () => expect(await held(token)).toBe(1));
    const third = await openStream(appB, token);
    await Promise.all([second.close(), third.close(), other.close()]);
    await eventually(async () => expect(await held(token)).toBe(0));
  });

  it("a 404 is answered before the limit is looked at, and takes no place", async () => {
    const token = await createToken();
    const streams = [await openStream(appA, token), await openStream(appA, token)];
    const missing = await get(appA, "/v1/jobs/extend:extract_run:exr_limits_nobody/stream", token);
    expect(missing.status).toBe(404);
    await missing.body?.cancel();
    for (const stream of streams) await stream.close();
    await eventually(async () => expect(await held(token)).toBe(0));
  });

  it("waiting long polls count with streams; a poll that does not wait does not", async () => {
    const token = await createToken();
    const stream = await openStream(appA, token);
    // One place left: a long poll takes it while it waits (for a Standard Webhooks job, which only
    // this test sends, below).
    const polling = get(appB, "/v1/changes?after=latest&wait=25&source=standard", token);
    await eventually(async () => expect(await held(token)).toBe(2));
    await expectTooMany(await get(appA, "/v1/changes?after=latest&wait=1", token));
    await expectTooMany(await get(appA, `/v1/jobs/${JOB}/stream`, token));
    const immediate = await get(appA, "/v1/changes?after=latest", token);
    expect(immediate.status).toBe(200);
    await immediate.body?.cancel();
    // Its answer gives the place back.
    expect((await sendStandard({ type: "doc.created", data: { id: "doc_limits" } })).status).toBe(200);
    const answered = await polling;
    expect(answered.status).toBe(200);
    expect(((await answered.json()) as { data: unknown[] }).data).toHaveLength(1);
    expect(await held(token)).toBe(1);
    await stream.close();
    await eventually(async () => expect(await held(token)).toBe(0));
  });
});

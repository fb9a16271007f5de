/**
 * The live view of a job (CONTRACT §7): Server-Sent Events that open with the job's detail, then one
 * `change` per accepted delivery (repeats included) in version order; 404 as JSON; scopes; and no
 * watcher left on the job's Durable Object once the client has gone.
 */
import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import type { JobLedger } from "../src/ledger/job-ledger";
import {
  createToken,
  errorCode,
  eventually,
  extendEvent,
  jobDetail,
  revokeToken,
  sendExtend,
  withinWaitLimit,
} from "./helpers";

let token: string;
beforeAll(async () => {
  token = await createToken();
});

interface SseEvent {
  event: string;
  id: string | null;
  data: string;
}

/** Reads Server-Sent Events from a response body, one at a time. */
function sseReader(response: Response) {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const comments: string[] = [];
  return {
    comments,
    async next(): Promise<SseEvent> {
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields: SseEvent = { event: "message", id: null, data: "" };
          let isComment = true;
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) {
              comments.push(line);
              continue;
            }
            isComment = false;
            const [name, ...rest] = line.split(":");
            const value = rest.join(":").replace(/^ /, "");
            if (name === "event") fields.event = value;
            else if (name === "id") fields.id = value;
            else if (name === "data") fields.data += value;
          }
          if (!isComment) return fields;
          continue;
        }
        const { done, value } = await reader.read();
        if (done) throw new Error("the stream ended");
        buffer += decoder.decode(value, { stream: true });
      }
    },
    /** Reads until `count` comment lines starting with `prefix` have come, failing on any event. */
    async untilComments(prefix: string, count: number): Promise<void> {
      while (comments.filter((line) => line.startsWith(prefix)).length < count) {
        const end = buffer.indexOf("\n\n");
        if (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          for (const line of block.split("\n")) {
            if (!line.startsWith(":")) throw new Error(`an event came before the heartbeats: ${block}`);
            comments.push(line);
          }
          continue;
        }
        const { done, value } = await reader.read();
        if (done) throw new Error("the stream ended");
        buffer += decoder.decode(value, { stream: true });
      }
    },
    cancel: () => reader.cancel(),
  };
}

function openStream(jobKey: string, as = token): Promise<Response> {
  return SELF.fetch(`https://runledger.test/v1/jobs/${encodeURIComponent(jobKey)}/stream`, {
    headers: { authorization: `Bearer ${as}` },
  });
}

const run = (id: string, minute: number, type = "extract_run.processed", eventId?: string) =>
  extendEvent(type, { id, updatedAt: `2026-06-01T10:${String(minute).padStart(2, "0")}:00Z` }, eventId);

describe("GET /v1/jobs/:jobKey/stream", () => {
  it("opens with the detail, then one change per delivery (repeats included), in version order", async () => {
    const jobKey = "extend:extract_run:exr_stream";
    expect((await sendExtend(run("exr_stream", 1, "extract_run.failed"))).status).toBe(200);
    const response = await openStream(jobKey);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const stream = sseReader(response);
    const snapshot = await stream.next();
    expect(snapshot.event).toBe("snapshot");
    expect(JSON.parse(snapshot.data)).toEqual(await jobDetail(jobKey, token));

    const repeated = run("exr_stream", 3, "extract_run.processed", "evt_stream_repeat");
    const deliveries = [run("exr_stream", 2), repeated, repeated, run("exr_stream", 0)];
    for (const [n, event] of deliveries.entries()) {
      expect((await sendExtend(event)).status).toBe(200);
      const change = await stream.next();
      expect(change.event).toBe("change");
      expect(change.id).toBe(String(2 + n));
      const data = JSON.parse(change.data) as { summary: { version: number }; entry: { eventId: string } };
      expect(data.summary.version).toBe(2 + n);
      expect(data.entry.eventId).toBe(event.eventId);
    }
    const last = await jobDetail(jobKey, token);
    expect(last).toMatchObject({ version: 5, deliveryCount: 5, eventCount: 4, status: "succeeded" });
    await stream.cancel();
  });

  it("several watchers each get every change; a closed client leaves no socket on the job's object", async () => {
    const jobKey = "extend:extract_run:exr_stream_close";
    expect((await sendExtend(run("exr_stream_close", 1))).status).toBe(200);
    const stub: DurableObjectStub<JobLedger> = env.JOBS.get(env.JOBS.idFromName(jobKey));
    const watchers = [sseReader(await openStream(jobKey)), sseReader(await openStream(jobKey))];
    for (const watcher of watchers) expect((await watcher.next()).event).toBe("snapshot");
    expect(await stub.watchers()).toBe(2);
    expect((await sendExtend(run("exr_stream_close", 2))).status).toBe(200);
    for (const watcher of watchers) expect((await watcher.next()).id).toBe("2");

    // The clients go away: a write to them fails (the first may still be buffered), the Worker
    // closes its socket, and the object is left with nothing that would keep it awake.
    for (const watcher of watchers) await watcher.cancel();
    for (const minute of [3, 4]) expect((await sendExtend(run("exr_stream_close", minute))).status).toBe(200);
    await eventually(async () => expect(await stub.watchers()).toBe(0));
  });

  it("an idle stream gets a comment line at every heartbeat", async () => {
    const jobKey = "extend:extract_run:exr_stream_idle";
    expect((await sendExtend(run("exr_stream_idle", 1))).status).toBe(200);
    const app = createApp({ streamHeartbeatMs: 20 });
    const ctx = createExecutionContext();
    const response = await app.fetch(
      new Request(`https://runledger.test/v1/jobs/${jobKey}/stream`, {
        headers: { authorization: `Bearer ${token}` },
      }),
      env,
      ctx,
    );
    const stream = sseReader(response);
    expect((await stream.next()).event).toBe("snapshot");
    // Nothing happens on the job: only heartbeats arrive, then a change still comes through.
    await stream.untilComments(": keep-alive", 3);
    expect((await sendExtend(run("exr_stream_idle", 2))).status).toBe(200);
    expect((await stream.next()).event).toBe("change");
    await stream.cancel();
    await waitOnExecutionContext(ctx);
  });

  it("a revoked token's open stream ends: a closed event saying unauthorized, then the end (CONTRACT §5)", async () => {
    const jobKey = "extend:extract_run:exr_stream_revoked";
    expect((await sendExtend(run("exr_stream_revoked", 1))).status).toBe(200);
    const stub: DurableObjectStub<JobLedger> = env.JOBS.get(env.JOBS.idFromName(jobKey));
    const revocable = await createToken();
    // The contract's 60 s, shortened: the token is asked again every 50 ms instead of every 15 s.
    const app = createApp({ streamHeartbeatMs: 20, tokenRecheckMs: 50 });
    const ctx = createExecutionContext();
    const response = await app.fetch(
      new Request(`https://runledger.test/v1/jobs/${jobKey}/stream`, {
        headers: { authorization: `Bearer ${revocable}` },
      }),
      env,
      ctx,
    );
    const stream = sseReader(response);
    expect((await stream.next()).event).toBe("snapshot");
    // While the token lives, re-checks keep the stream open: heartbeats and changes still come.
    await stream.untilComments(": keep-alive", 6);
    expect((await sendExtend(run("exr_stream_revoked", 2))).status).toBe(200);
    expect((await stream.next()).event).toBe("change");

    await revokeToken(revocable);
    const closed = await withinWaitLimit(stream.next(), "the closed event");
    expect(closed.event).toBe("closed");
    expect(JSON.parse(closed.data)).toEqual({
      error: { code: "unauthorized", message: expect.any(String) },
    });
    await expect(withinWaitLimit(stream.next(), "the end of the stream")).rejects.toThrow("the stream ended");
    // Nothing is left watching the job, and a new stream of that token is refused at once.
    await eventually(async () => expect(await stub.watchers()).toBe(0));
    await waitOnExecutionContext(ctx);
    expect((await openStream(jobKey, revocable)).status).toBe(401);
  });

  it("an unknown job or one outside the token's scope is a JSON 404 before any stream; no token is 401", async () => {
    const missing = await openStream("extend:extract_run:exr_nobody");
    expect(missing.status).toBe(404);
    expect(await errorCode(missing)).toBe("not_found");
    expect((await sendExtend(run("exr_stream_scope", 1))).status).toBe(200);
    const alfredOnly = await createToken({ source: "alfred" });
    const hidden = await openStream("extend:extract_run:exr_stream_scope", alfredOnly);
    expect(hidden.status).toBe(404);
    expect(await errorCode(hidden)).toBe("not_found");
    const anonymous = await SELF.fetch(
      "https://runledger.test/v1/jobs/extend:extract_run:exr_stream_scope/stream",
    );
    expect(anonymous.status).toBe(401);
  });
});

/**
 * Logs that help and leak nothing: every refused delivery logs its reason code, and no log line
 * carries the Alfred URL token (the URL is never logged) or a signing secret, even with a line
 * per accepted delivery (`LOG_DELIVERIES=true`).
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import {
  ALFRED_TOKEN,
  alfredRequest,
  EXTEND_SECRET,
  extendEvent,
  STANDARD_SECRET,
  sendAlfred,
  sendExtend,
  signedExtendRequest,
  signedStandardRequest,
} from "./helpers";

afterEach(() => {
  vi.restoreAllMocks();
});

function captureLogs(): string[] {
  const lines: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
    lines.push(args.map(String).join(" "));
  });
  return lines;
}

describe("logs", () => {
  it("a refused delivery logs its reason code", async () => {
    const lines = captureLogs();
    expect((await sendAlfred({ event_id: "x" }, "wrong-token-value")).status).toBe(401);
    expect(
      (await sendExtend(extendEvent("classify_run.processed", { id: "clr_log" }), { secret: "wss_wrong" }))
        .status,
    ).toBe(401);
    const refused = lines
      .filter((line) => line.includes('"delivery refused"'))
      .map((line) => JSON.parse(line));
    expect(refused).toEqual([
      { level: "warn", msg: "delivery refused", source: "alfred", code: "unauthorized" },
      { level: "warn", msg: "delivery refused", source: "extend", code: "invalid_signature" },
    ]);
    expect(lines.join("\n")).not.toContain("wrong-token-value");
  });

  it("no log line carries the Alfred URL token, whatever happens to the delivery", async () => {
    const lines = captureLogs();
    await sendAlfred({
      event_id: "log-ok",
      event_type: "job_event_type",
      event_time: 1653139800,
      event: { event_name: "job_start_event", job_id: "log-job" },
    });
    await sendAlfred("not json");
    await sendAlfred({ event_id: "log-bad", event_type: "job_event_type", event: {} });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join("\n")).not.toContain(ALFRED_TOKEN);
  });

  it("with a line per accepted delivery, no line carries a token or a secret", async () => {
    const lines = captureLogs();
    const run = async (request: Request) => {
      const ctx = createExecutionContext();
      const response = await worker.fetch(
        request as Request<unknown, IncomingRequestCfProperties>,
        { ...env, LOG_DELIVERIES: "true" },
        ctx,
      );
      await waitOnExecutionContext(ctx);
      return response.status;
    };
    const alfred = JSON.stringify({
      event_id: "log-all",
      event_type: "job_event_type",
      event_time: 1653139800,
      event: { event_name: "job_start_event", job_id: "log-all-job" },
    });
    expect(await run(alfredRequest("POST", ALFRED_TOKEN, alfred))).toBe(200);
    expect(
      await run(await signedExtendRequest(extendEvent("classify_run.processed", { id: "clr_log_all" }))),
    ).toBe(200);
    const standard = {
      type: "export.completed",
      timestamp: new Date().toISOString(),
      data: { id: "log-all" },
    };
    expect(await run(await signedStandardRequest(standard))).toBe(200);
    const accepted = lines
      .filter((line) => line.includes('"outcome":"stored"'))
      .map((line) => JSON.parse(line));
    expect(accepted.map((line) => line.source)).toEqual(["alfred", "extend", "standard"]);
    const all = lines.join("\n");
    for (const secret of [
      ALFRED_TOKEN,
      EXTEND_SECRET,
      STANDARD_SECRET,
      STANDARD_SECRET.slice("whsec_".length),
    ]) {
      expect(all).not.toContain(secret);
    }
  });
});

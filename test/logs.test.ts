/**
 * Logs that help and leak nothing: every refused delivery logs its reason code, and no log line
 * carries the Alfred URL token (the URL is never logged).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { ALFRED_TOKEN, extendEvent, sendAlfred, sendExtend } from "./helpers";

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
});

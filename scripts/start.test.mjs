// `npm start` as a user runs it (CONTRACT §1): wrangler dev on 127.0.0.1 with local D1 migrated and
// local Durable Objects, on the port asked for. Started in its own process group and stopped by it.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signExtendBody } from "./extend-signature.mjs";
import { ensureDevVars, ROOT, readDevVars } from "./lib.mjs";

const state = mkdtempSync(path.join(tmpdir(), "runledger-start-"));
let server;
let port;

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port: free } = probe.address();
      probe.close(() => resolve(free));
    });
  });
}

async function waitUntilUp(url, ms) {
  const until = Date.now() + ms;
  for (;;) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${url} did not come up within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  ensureDevVars();
  port = await freePort();
  server = spawn(
    process.execPath,
    [path.join(ROOT, "scripts", "start.mjs"), "--port", String(port), "--persist-to", state],
    {
      cwd: ROOT,
      detached: true,
      stdio: "ignore",
    },
  );
  await waitUntilUp(`http://127.0.0.1:${port}/healthz`, 60_000);
}, 90_000);

afterAll(async () => {
  if (server?.pid !== undefined && groupAlive(server.pid)) {
    process.kill(-server.pid, "SIGTERM");
    const until = Date.now() + 15_000;
    while (groupAlive(server.pid) && Date.now() < until)
      await new Promise((resolve) => setTimeout(resolve, 200));
    if (groupAlive(server.pid)) process.kill(-server.pid, "SIGKILL");
  }
  rmSync(state, { recursive: true, force: true });
}, 30_000);

describe("npm start", () => {
  it("serves on 127.0.0.1 at the port asked for", async () => {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });

  it("has migrated local D1 and live Durable Objects: a signed event is stored and listed", async () => {
    const created = spawnSync(
      process.execPath,
      [path.join(ROOT, "scripts", "token.mjs"), "create", "--name", "start-test", "--persist-to", state],
      { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
    expect(created.status, created.stderr).toBe(0);
    const bearer = { authorization: `Bearer ${created.stdout.trimEnd().split("\n").at(-1)}` };

    const secret = (readDevVars().EXTEND_SIGNING_SECRETS ?? "").split(",")[0];
    const body = JSON.stringify({
      eventId: "evt_start_test",
      eventType: "parse_run.processed",
      payload: { object: "parse_run_status", id: "pr_start_test", status: "PROCESSED" },
    });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = await signExtendBody(secret, timestamp, body);
    const stored = await fetch(`http://127.0.0.1:${port}/webhooks/extend`, {
      method: "POST",
      headers: { "x-extend-request-timestamp": timestamp, "x-extend-request-signature": signature },
      body,
    });
    expect(stored.status, await stored.clone().text()).toBe(200);

    const detail = await fetch(`http://127.0.0.1:${port}/v1/jobs/extend:parse_run:pr_start_test`, {
      headers: bearer,
    });
    expect(detail.status).toBe(200);
    expect(await detail.json()).toMatchObject({ status: "succeeded", eventCount: 1 });

    // The projection reaches local D1 within the contract's 2 s.
    const until = Date.now() + 2_000;
    let listed = [];
    while (Date.now() < until && listed.length === 0) {
      const page = await (
        await fetch(`http://127.0.0.1:${port}/v1/jobs?kind=parse_run`, { headers: bearer })
      ).json();
      listed = page.data.filter((job) => job.jobKey === "extend:parse_run:pr_start_test");
      if (listed.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(listed).toHaveLength(1);
  });
});

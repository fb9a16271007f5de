import { createServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runScript } from "./dev-server.mjs";

const ADMIN = "rl_admin_for_the_stand_in";
/** Three pages; the second answers 503 the first time it is asked. */
const PAGES = {
  start: {
    processed: 2,
    repaired: 1,
    repairedKeys: ["extend:a:1"],
    nextCursor: "c1",
    shard: 5,
    shards: 16,
    total: 5,
  },
  c1: { processed: 2, repaired: 0, repairedKeys: [], nextCursor: "c2", shard: 11, shards: 16 },
  c2: { processed: 1, repaired: 1, repairedKeys: ["alfred:job:9"], nextCursor: null, shard: 16, shards: 16 },
};
const requests = [];
let failedOnce = false;
let server;
let url;

beforeAll(async () => {
  server = createServer((request, response) => {
    let text = "";
    request.on("data", (chunk) => {
      text += chunk;
    });
    request.on("end", () => {
      const body = JSON.parse(text);
      requests.push({ path: request.url, authorization: request.headers.authorization, body });
      const answer = (status, value) => {
        response.writeHead(status, { "content-type": "application/json" });
        response.end(JSON.stringify(value));
      };
      if (request.headers.authorization !== `Bearer ${ADMIN}`)
        return answer(403, { error: { code: "forbidden", message: "This route needs an admin token." } });
      if (request.url === "/v1/admin/registry/seed")
        return answer(200, { processed: 7, registered: 2, nextCursor: null });
      if (body.cursor === "c1" && !failedOnce) {
        failedOnce = true;
        return answer(503, { error: { code: "storage_unavailable", message: "retry" } });
      }
      answer(200, PAGES[body.cursor ?? "start"]);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${server.address().port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

function reproject(...args) {
  return runScript("reproject.mjs", args, { env: { ...process.env, RUNLEDGER_ADMIN_TOKEN: "" } });
}

describe("npm run reproject", () => {
  it("walks every page, printing progress and the cursor after each, and asks a 503 page again", async () => {
    const run = await reproject("--url", url, "--token", ADMIN, "--limit", "2", "--verbose");
    expect(run.status, run.stderr).toBe(0);
    expect(requests.map((request) => request.body)).toEqual([
      { limit: 2 },
      { cursor: "c1", limit: 2 },
      { cursor: "c1", limit: 2 },
      { cursor: "c2", limit: 2 },
    ]);
    expect(requests.every((request) => request.path === "/v1/admin/reproject")).toBe(true);
    expect(run.stdout).toContain("page 1: 2/5 jobs, 1 repaired (shard 5/16)  cursor: c1");
    expect(run.stdout).toContain("  repaired extend:a:1");
    expect(run.stdout).toContain("page 3: 5/5 jobs, 2 repaired (shard 16/16)  cursor: (done)");
    expect(run.stdout).toContain("done: 5 jobs read from their ledgers, 2 D1 rows repaired");
    expect(run.stderr).toContain("page failed (503");
  });

  it("goes on from --cursor; --seed-from-d1 seeds the registry first", async () => {
    requests.length = 0;
    const run = await reproject("--url", url, "--token", ADMIN, "--cursor", "c2", "--seed-from-d1");
    expect(run.status, run.stderr).toBe(0);
    expect(requests.map((request) => [request.path, request.body])).toEqual([
      ["/v1/admin/registry/seed", {}],
      ["/v1/admin/reproject", { cursor: "c2" }],
    ]);
    expect(run.stdout).toContain("seeding the key registry from D1: 7 rows read, 2 keys new to it");
    expect(run.stdout).toContain("page 1: 1 jobs, 1 repaired");
  });

  it("a refused token ends the run with exit 1 and says why; --help exits 0", async () => {
    const [run, help] = await Promise.all([
      reproject("--url", url, "--token", "rl_read_only"),
      reproject("--help"),
    ]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("403 (the token is not an admin token");
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("usage: npm run reproject");
  });

  it("refuses unclear intent before calling anything: no token, a remote URL without --remote", async () => {
    requests.length = 0;
    const [noToken, remote] = await Promise.all([
      reproject("--url", url),
      reproject("--url", "https://runledger.example.workers.dev", "--token", ADMIN),
    ]);
    expect(noToken.status).toBe(2);
    expect(noToken.stderr).toContain("RUNLEDGER_ADMIN_TOKEN");
    expect(remote.status).toBe(2);
    expect(remote.stderr).toContain("pass --remote");
    expect(requests).toEqual([]);
  });
});

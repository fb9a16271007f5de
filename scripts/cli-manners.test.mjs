// CLI manners (issue 24, part 3): one-line usage errors with exit 2, "did you mean", a refused
// request fails the command, tokens from the environment or standard input, `token list` as a
// table, one console token per `npm start`, one spelling of each event name. Fast: pure functions,
// commands that fail before reaching anything, a small HTTP stand-in for the Worker (node:http, on
// 127.0.0.1) and, for `npm start`, a stand-in for `wrangler dev` — no workerd.
import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  closest,
  didYouMean,
  editDistance,
  formatTable,
  readFirstLine,
  readToken,
  usageLine,
} from "./cli.mjs";
import { groupAlive, runScript, spawnNode, stopGroup } from "./dev-server.mjs";
import { freePort, openLocalD1, ROOT } from "./lib.mjs";

const dir = mkdtempSync(path.join(tmpdir(), "runledger-cli-manners-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** The secrets `send` signs with (an existing file also for `npm start -- --env-file`). */
const envFile = path.join(dir, "secrets.env");
writeFileSync(
  envFile,
  "EXTEND_SIGNING_SECRETS=wss_manners\nALFRED_WEBHOOK_TOKENS=manners-token\nSTANDARD_WEBHOOK_SECRETS=whsec_bWFubmVycw==\n",
);

/** No token from the developer's shell reaches a command unless a test gives one. */
const CLEAN_ENV = { ...process.env, RUNLEDGER_TOKEN: "", RUNLEDGER_ADMIN_TOKEN: "" };

/**
 * Runs `node scripts/<script> ...args`; `input` is written to its standard input (else stdin is
 * closed at once). Several may run at once.
 */
async function run(script, args, { env = {}, input } = {}) {
  if (input === undefined) return runScript(script, args, { env: { ...CLEAN_ENV, ...env } });
  const { child, output, done } = spawnNode(path.join(ROOT, "scripts", script), args, {
    env: { ...CLEAN_ENV, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stdin.on("error", () => {}); // it may exit before reading
  child.stdin.end(input);
  const status = await done;
  return { status, ...output };
}

const sha256 = (text) => createHash("sha256").update(text).digest("hex");

describe("the helpers (scripts/cli.mjs)", () => {
  it("editDistance counts a swap of neighbours as one edit (Damerau)", () => {
    expect(editDistance("faild", "failed")).toBe(1);
    expect(editDistance("tokne", "token")).toBe(1);
    expect(editDistance("extnd", "extend")).toBe(1);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("same", "same")).toBe(0);
  });

  it("closest suggests only what is close, the nearest first; a prefix names its few completions", () => {
    const types = ["classify_run.processed", "classify_run.failed", "split_run.failed", "workflow.created"];
    expect(closest("classify_run.faild", types)).toEqual(["classify_run.failed"]);
    expect(closest("CLASSIFY_RUN.FAILED", types)).toEqual(["classify_run.failed"]);
    expect(closest("classify_run", types)).toEqual(["classify_run.processed", "classify_run.failed"]);
    expect(closest("invoice.paid", types)).toEqual([]);
    // A short word gets at most one edit: --foo is not --job.
    expect(closest("--foo", ["--job", "--url", "--token"])).toEqual([]);
    expect(closest("--tokn", ["--job", "--url", "--token"])).toEqual(["--token"]);
    expect(didYouMean("stripe", ["extend", "alfred", "standard"])).toBe("");
    expect(didYouMean("alfrd", ["extend", "alfred", "standard"])).toBe(", did you mean alfred?");
    expect(didYouMean("classify_run", types)).toBe(
      ", did you mean classify_run.processed or classify_run.failed?",
    );
  });

  it("usageLine is one line naming the command and where to read more", () => {
    expect(usageLine("send", "unknown option --foo", "npm run send -- --help")).toBe(
      "runledger send: unknown option --foo (see npm run send -- --help)",
    );
  });

  it("formatTable aligns columns two spaces apart, without trailing spaces", () => {
    expect(
      formatTable(
        ["NAME", "ADMIN", "HASH"],
        [
          ["ci", "no", "abc"],
          ["a-longer-name", "yes", "def"],
        ],
      ),
    ).toBe(
      ["NAME           ADMIN  HASH", "ci             no     abc", "a-longer-name  yes    def"].join("\n"),
    );
  });

  it("readToken: --token - reads stdin's first line; --token T; else the first variable set; else none", async () => {
    const fail = (message) => {
      throw new Error(message);
    };
    const stdin = (text) => Readable.from([text]);
    const env = { RUNLEDGER_TOKEN: "from-env" };
    expect(
      await readToken("-", ["RUNLEDGER_TOKEN"], { env, stdin: stdin("rl_piped\nrest\n"), fail }),
    ).toEqual({
      token: "rl_piped",
      from: "stdin",
    });
    expect(await readToken("rl_argv", ["RUNLEDGER_TOKEN"], { env, stdin: stdin(""), fail })).toEqual({
      token: "rl_argv",
      from: "--token",
    });
    expect(
      await readToken(undefined, ["RUNLEDGER_ADMIN_TOKEN", "RUNLEDGER_TOKEN"], {
        env,
        stdin: stdin(""),
        fail,
      }),
    ).toEqual({ token: "from-env", from: "RUNLEDGER_TOKEN" });
    expect(await readToken(undefined, ["RUNLEDGER_TOKEN"], { env: {}, stdin: stdin(""), fail })).toEqual({
      token: undefined,
      from: undefined,
    });
    await expect(readToken("-", ["RUNLEDGER_TOKEN"], { env, stdin: stdin("  \n"), fail })).rejects.toThrow(
      "--token - read no token from standard input",
    );
    expect(await readFirstLine(Readable.from(["no newline at the end"]))).toBe("no newline at the end");
  });
});

/** A usage error: exit 2, nothing on stdout, exactly one line on stderr, as `runledger <name>: … (see …)`. */
function expectUsageError(result, name, see = `npm run ${name} -- --help`) {
  expect(result.status, result.stderr).toBe(2);
  expect(result.stdout).toBe("");
  const lines = result.stderr.split("\n");
  expect(lines, result.stderr).toHaveLength(2); // one line and its newline
  expect(lines[0]).toMatch(
    new RegExp(`^runledger ${name}: .+ \\(see ${see.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\)$`),
  );
  return lines[0];
}

describe.concurrent("usage errors: one line, exit 2", () => {
  const persist = ["--persist-to", path.join(dir, "never-opened")];
  it.each([
    ["send.mjs", "send", ["--foo"], "runledger send: unknown option --foo (see npm run send -- --help)"],
    ["send.mjs", "send", ["extend"], "give an extend event type", "npm run send -- --list"],
    ["send.mjs", "send", ["--shuffle"], "--shuffle goes with --lifecycle"],
    [
      "send.mjs",
      "send",
      ["--lifecycle", "extend", "--repeat", "0"],
      "--repeat must be an integer from 1 to 100",
    ],
    ["token.mjs", "token", ["create", ...persist], "create needs --name NAME"],
    ["token.mjs", "token", ["list", "--bogus", ...persist], "unknown option --bogus"],
    ["token.mjs", "token", ["--name", "x", "create", ...persist], "give the command first"],
    ["token.mjs", "token", ["create", "--name", "x", "--unique", "--replace", ...persist], "contradict"],
    ["watch.mjs", "watch", ["job", "--token"], "--token needs a value"],
    ["watch.mjs", "watch", [], "give a job key"],
    ["reproject.mjs", "reproject", ["--bogus"], "unknown option --bogus"],
    [
      "reproject.mjs",
      "reproject",
      ["--limit", "0", "--token", "t"],
      "--limit must be an integer from 1 to 200",
    ],
    ["sign-extend.mjs", "sign", ["{}", "{}"], "give one body"],
    ["fuzz.mjs", "fuzz", ["--fast"], "unknown option --fast"],
    ["screenshots.mjs", "screenshots", ["--bogus"], "unknown option --bogus: it takes none"],
    ["deploy.mjs", "deploy", ["--env", "staging"], "top-level Worker only"],
    ["start.mjs", "start", ["--env-file", envFile, "--persist-to"], "--persist-to needs a directory"],
  ])("%s %j", async (script, name, args, message, list) => {
    const see = list ?? (name === "start" ? "npm start -- --help" : `npm run ${name} -- --help`);
    const line = expectUsageError(await run(script, args), name, see);
    expect(line).toContain(message);
  });

  it("the usage is still there, whole, for --help (exit 0)", async () => {
    const help = await run("send.mjs", ["--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout.split("\n").length).toBeGreaterThan(20);
  });
});

describe.concurrent("did you mean", () => {
  it.each([
    [
      ["extend", "classify_run.faild"],
      "unknown Extend event type classify_run.faild, did you mean classify_run.failed?",
      "npm run send -- --list",
    ],
    [
      ["extend", "classify_run"],
      "did you mean classify_run.processed or classify_run.failed?",
      "npm run send -- --list",
    ],
    [
      ["alfred", "job_faild"],
      "unknown Alfred event job_faild, did you mean job_failed?",
      "npm run send -- --list",
    ],
    [["extnd", "x"], "unknown vendor extnd, did you mean extend?", undefined],
    [["--lifecycle", "alfrd"], "unknown vendor alfrd for --lifecycle, did you mean alfred?", undefined],
    [["--lifecycle", "extend", "--tokn", "t"], "unknown option --tokn, did you mean --token?", undefined],
    [
      ["extend", "classify_run.failed", "--time", "2"],
      "unknown option --time, did you mean --times?",
      undefined,
    ],
  ])("send %j", async (args, message, see) => {
    const line = expectUsageError(await run("send.mjs", args), "send", see);
    expect(line).toContain(message);
  });

  it("an unknown event type no longer lists all 38 types; one far from any gets no guess", async () => {
    const far = expectUsageError(
      await run("send.mjs", ["extend", "invoice.paid"]),
      "send",
      "npm run send -- --list",
    );
    expect(far).toBe("runledger send: unknown Extend event type invoice.paid (see npm run send -- --list)");
    const vendor = expectUsageError(await run("send.mjs", ["stripe", "x"]), "send");
    expect(vendor).toContain("unknown vendor stripe: give extend, alfred or standard");
  });

  it.each([
    [["crate", "--name", "x"], "unknown command crate, did you mean create?"],
    [
      ["create", "--name", "x", "--source", "extnd"],
      "--source must be alfred, extend or standard, not extnd, did you mean extend?",
    ],
    [["create", "--name", "x", "--admn"], "unknown option --admn, did you mean --admin?"],
    [["list", "--al"], "unknown option --al, did you mean --all?"],
  ])("token %j", async (args, message) => {
    const result = await run("token.mjs", [...args, "--persist-to", path.join(dir, "never-opened")]);
    expect(expectUsageError(result, "token")).toContain(message);
  });

  it("watch and reproject suggest their options", async () => {
    const [watch, reproject] = await Promise.all([
      run("watch.mjs", ["job", "--tokne", "t"]),
      run("reproject.mjs", ["--curser", "c"]),
    ]);
    expect(expectUsageError(watch, "watch")).toContain("unknown option --tokne, did you mean --token?");
    expect(expectUsageError(reproject, "reproject")).toContain(
      "unknown option --curser, did you mean --cursor?",
    );
  });
});

/**
 * A stand-in for the Worker, on 127.0.0.1: accepts every webhook under `/` and refuses every one
 * under `/refuse/`; answers the read API only for `Bearer good` (401 otherwise) and records each
 * bearer token it was given.
 */
const seen = [];
let worker;
let base;

beforeAll(async () => {
  worker = createServer((request, response) => {
    const bearer = /^Bearer (.*)$/.exec(request.headers.authorization ?? "")?.[1];
    if (bearer !== undefined) seen.push({ path: request.url, bearer });
    request.resume();
    request.on("end", () => {
      const json = (status, body) => {
        response.writeHead(status, { "content-type": "application/json" });
        response.end(JSON.stringify(body));
      };
      if (request.url.startsWith("/refuse/")) return json(401, { error: { code: "invalid_signature" } });
      if (request.url.startsWith("/webhooks/"))
        return json(200, { ok: true, eventId: "e", jobKey: "k", duplicate: false });
      if (bearer !== "good") return json(401, { error: { code: "unauthorized", message: "No such token." } });
      if (request.url.endsWith("/stream")) {
        response.writeHead(200, { "content-type": "text/event-stream" });
        const snapshot = {
          jobKey: "extend:classify_run:c1",
          status: "failed",
          terminal: true,
          version: 1,
          history: [],
        };
        return response.end(`event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
      }
      if (request.url.startsWith("/v1/admin/reproject"))
        return json(200, {
          processed: 0,
          repaired: 0,
          repairedKeys: [],
          total: 0,
          shard: 0,
          shards: 16,
          nextCursor: null,
        });
      if (request.url.startsWith("/v1/jobs/"))
        return json(200, {
          status: "succeeded",
          terminal: true,
          eventCount: 5,
          deliveryCount: 5,
          version: 5,
        });
      return json(404, { error: { code: "not_found" } });
    });
  });
  await new Promise((resolve) => worker.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${worker.address().port}`;
});
afterAll(() => new Promise((resolve) => worker?.close(resolve)));

/** The bearer tokens the stand-in saw on requests to paths that contain `marker`. */
const bearersFor = (marker) => seen.filter((request) => request.path.includes(marker)).map((r) => r.bearer);

describe("a refused request fails the command (exit 1)", () => {
  it("send --lifecycle with a token the server refuses: the deliveries land, the read-back is 401, exit 1", async () => {
    const result = await run("send.mjs", [
      "--lifecycle",
      "extend",
      "--job",
      "wr_refused",
      "--url",
      base,
      "--env-file",
      envFile,
      "--token",
      "bad",
    ]);
    expect(result.status, result.stdout).toBe(1);
    expect(result.stdout).toContain(
      "extend:workflow_run:wr_refused  could not be read: 401 (the token is unknown or revoked)",
    );
    expect(result.stderr).toBe("runledger send: 1 of 1 jobs could not be read back\n");
  });

  it("send of one event, and of `all`, that the server refuses: exit 1", async () => {
    const [one, all] = await Promise.all([
      run("send.mjs", ["extend", "classify_run.failed", "--url", `${base}/refuse`, "--env-file", envFile]),
      run("send.mjs", ["alfred", "all", "--url", `${base}/refuse`, "--env-file", envFile]),
    ]);
    expect(one.status).toBe(1);
    expect(one.stdout).toMatch(/^401 /);
    expect(all.status).toBe(1);
    expect(all.stdout).toContain("0 of 24 alfred event types accepted.");
  });

  it("send --lifecycle whose deliveries are refused: exit 1, even without a token", async () => {
    const result = await run("send.mjs", [
      "--lifecycle",
      "alfred",
      "--url",
      `${base}/refuse`,
      "--env-file",
      envFile,
    ]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe("runledger send: 11 of 11 deliveries refused\n");
  });

  it("watch and reproject with a refused token: exit 1 with the status", async () => {
    const [watch, reproject] = await Promise.all([
      run("watch.mjs", ["extend:classify_run:c1", "--url", base, "--token", "bad"]),
      run("reproject.mjs", ["--url", base, "--token", "bad", "--retries", "1"]),
    ]);
    expect(watch.status).toBe(1);
    expect(watch.stderr).toContain("runledger watch: 401 (the token is unknown or revoked)");
    expect(reproject.status).toBe(1);
    expect(reproject.stderr).toContain("runledger reproject: 401 (the token is unknown or revoked)");
  });

  it("watch: a stream the server ends is a failure too (the stream never ends by itself)", async () => {
    const result = await run("watch.mjs", ["extend:classify_run:c1", "--url", base], {
      env: { RUNLEDGER_TOKEN: "good" },
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toContain("extend:classify_run:c1  failed (terminal)  version 1");
    expect(result.stderr).toContain("the stream ended");
  });
});

describe("tokens from the environment or standard input", () => {
  it("send --lifecycle: RUNLEDGER_TOKEN, then --token - (stdin), preferred to nothing on the command line", async () => {
    const [fromEnv, fromStdin] = await Promise.all([
      run("send.mjs", ["--lifecycle", "extend", "--job", "wr_env", "--url", base, "--env-file", envFile], {
        env: { RUNLEDGER_TOKEN: "good" },
      }),
      // stdin wins over the variable: `--token -` was asked for explicitly.
      run(
        "send.mjs",
        ["--lifecycle", "extend", "--job", "wr_stdin", "--url", base, "--env-file", envFile, "--token", "-"],
        {
          env: { RUNLEDGER_TOKEN: "bad" },
          input: "good\n",
        },
      ),
    ]);
    for (const result of [fromEnv, fromStdin]) {
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/extend:workflow_run:wr_\w+ {2}succeeded \(terminal\)/);
    }
    expect(bearersFor("wr_env")).toEqual(["good"]);
    expect(bearersFor("wr_stdin")).toEqual(["good"]);
  });

  it("watch and reproject read --token - from stdin; reproject takes RUNLEDGER_ADMIN_TOKEN", async () => {
    const [watch, reprojectStdin, reprojectEnv] = await Promise.all([
      run("watch.mjs", ["extend:classify_run:stdin_watch", "--url", base, "--token", "-"], {
        input: "good\n",
      }),
      run("reproject.mjs", ["--url", base, "--token", "-", "--cursor", "stdin-run"], { input: "good" }),
      run("reproject.mjs", ["--url", base, "--cursor", "env-run"], {
        env: { RUNLEDGER_ADMIN_TOKEN: "good" },
      }),
    ]);
    expect(watch.stdout).toContain("— live —");
    expect(bearersFor("stdin_watch")).toEqual(["good"]);
    expect(reprojectStdin.status, reprojectStdin.stderr).toBe(0);
    expect(reprojectEnv.status, reprojectEnv.stderr).toBe(0);
    expect(reprojectStdin.stdout).toContain("done: 0 jobs");
  });

  it("--token - with nothing on stdin is a usage error; so is no token at all", async () => {
    const runs = await Promise.all([
      run("watch.mjs", ["job", "--token", "-"], { input: "" }),
      run("send.mjs", ["--lifecycle", "extend", "--token", "-"], { input: "\n" }),
      run("reproject.mjs", ["--token", "-"], { input: "" }),
      run("watch.mjs", ["job"]),
      run("reproject.mjs", []),
    ]);
    for (const [i, name] of ["watch", "send", "reproject"].entries())
      expect(expectUsageError(runs[i], name)).toContain("--token - read no token from standard input");
    expect(expectUsageError(runs[3], "watch")).toContain("RUNLEDGER_TOKEN, --token - (stdin) or --token T");
    expect(expectUsageError(runs[4], "reproject")).toContain("RUNLEDGER_ADMIN_TOKEN");
  });

  it("--help of each token-taking command says --token T shows in `ps` and names the safer ways", async () => {
    const helps = await Promise.all(
      ["send.mjs", "watch.mjs", "reproject.mjs"].map((s) => run(s, ["--help"])),
    );
    for (const help of helps) {
      expect(help.stdout).toContain("`ps`");
      expect(help.stdout).toContain("--token -");
      expect(help.stdout).toMatch(/RUNLEDGER_(ADMIN_)?TOKEN/);
    }
  });
});

describe("one spelling of each event name", () => {
  it("send prints, sends and lists Alfred's add-to-job as file_add_to_job", async () => {
    const [sent, listed] = await Promise.all([
      run("send.mjs", ["alfred", "file_added_to_job", "--url", base, "--env-file", envFile]),
      run("send.mjs", ["--list"]),
    ]);
    expect(sent.status, sent.stderr).toBe(0);
    expect(listed.stdout).toContain("  file_add_to_job\n");
    const lifecycle = await run("send.mjs", [
      "--lifecycle",
      "alfred",
      "--job",
      "spelling",
      "--url",
      base,
      "--env-file",
      envFile,
    ]);
    expect(lifecycle.status, lifecycle.stderr).toBe(0);
    const labels = lifecycle.stdout.split("\n").filter((line) => /^\s*\d+\/\d+ /.test(line));
    expect(labels.filter((line) => line.includes("file_add_to_job spelling-file-"))).toHaveLength(2);
    expect(lifecycle.stdout).not.toContain("added");
  });
});

// `token list`'s table is held in scripts/token.test.mjs, on the state its other commands made.
describe("local D1: npm start", () => {
  /*
   * `npm start` with a stand-in for `wrangler dev` (RUNLEDGER_WRANGLER, as docs/DEPLOY.md describes):
   * a Node server that answers /healthz on the port it is given. Local D1 is the real one (Miniflare).
   */
  const state = path.join(dir, "start-state");
  const fake = path.join(dir, "fake-wrangler-dev.mjs");
  writeFileSync(
    fake,
    `#!${process.execPath}
import { createServer } from "node:http";
const args = process.argv.slice(2);
const port = Number(args[args.indexOf("--port") + 1]);
createServer((req, res) => { res.writeHead(200, { "content-type": "application/json" }); res.end('{"ok":true}'); })
  .listen(port, "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
`,
  );
  chmodSync(fake, 0o755);

  /** Starts `npm start` on the stand-in, waits for its banner, stops it; returns what it printed. */
  async function start() {
    const port = await freePort();
    const { child, output } = spawnNode(
      path.join(ROOT, "scripts", "start.mjs"),
      ["--port", String(port), "--persist-to", state, "--env-file", envFile],
      { env: { ...CLEAN_ENV, RUNLEDGER_WRANGLER: fake }, detached: true },
    );
    try {
      const until = Date.now() + 45_000;
      while (!/Try next:/.test(output.stdout) && Date.now() < until && groupAlive(child.pid))
        await new Promise((resolve) => setTimeout(resolve, 100));
      expect(output.stdout, `${output.stdout}${output.stderr}`).toContain("runledger is running.");
      return output.stdout;
    } finally {
      await stopGroup(child.pid);
    }
  }
  const consoleToken = (stdout) => /Console: +http:\/\/127\.0\.0\.1:\d+\/#token=(\S+)/.exec(stdout)?.[1];

  it("npm start: a restart says the migrations are up to date, makes a new console token and revokes the one before", async () => {
    const first = await start();
    expect(first).toMatch(/^Local D1: applied migrations \S+\.sql/m);
    const firstToken = consoleToken(first);
    expect(firstToken).toMatch(/^rl_/);
    // A token the versions before this one made at each start (written here directly: local D1 is
    // read and written in this process, without a command of its own for each).
    const local = await openLocalD1(state);
    try {
      await local.query(
        `INSERT INTO tokens (token_hash, name, created_at) VALUES ('${sha256("rl_legacy")}', 'console-2026-01-02T03-04-05-678Z', '2026-01-02T03:04:05.678Z')`,
      );
    } finally {
      await local.close();
    }

    const second = await start();
    expect(second).toContain("Local D1: migrations up to date.");
    expect(second).not.toContain("Applying");
    const secondToken = consoleToken(second);
    expect(secondToken).toMatch(/^rl_/);
    expect(secondToken).not.toBe(firstToken);

    // One console token is live: the second start's; the first's and the legacy one are revoked.
    const after = await openLocalD1(state);
    try {
      expect(await after.query("SELECT name, token_hash FROM tokens WHERE revoked_at IS NULL")).toEqual([
        { name: "console", token_hash: sha256(secondToken) },
      ]);
      expect(
        (await after.query("SELECT token_hash FROM tokens WHERE revoked_at IS NOT NULL ORDER BY name")).map(
          (row) => row.token_hash,
        ),
      ).toEqual([sha256(firstToken), sha256("rl_legacy")]);
    } finally {
      await after.close();
    }
  }, 120_000);
});

// `npm start` as a user runs it (CONTRACT §1): wrangler dev on 127.0.0.1 with local D1 migrated and
// local Durable Objects, on the port asked for. The two servers are the run's (dev-servers.setup.mjs:
// started at the same moment, each in its own process group, with their own state and secrets);
// these tests use the first, console.test.mjs the second.
import { spawn } from "node:child_process";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runScript } from "./dev-server.mjs";
import { devServers, SECRETS } from "./dev-servers.setup.mjs";
import { signExtendBody } from "./extend-signature.mjs";
import { ROOT } from "./lib.mjs";

let state;
let envFile;
let port;
/** The second dev server, started at the same moment as the first. */
let other;
const SECRET = SECRETS.EXTEND_SIGNING_SECRETS;

beforeAll(async () => {
  const { first, second } = await devServers();
  if (second.error === undefined) other = second;
  if (first.error !== undefined) throw new Error(`npm start did not come up: ${first.error}`);
  ({ state, envFile, port } = first);
}, 90_000);

let created;
/**
 * A read token for the first server, made once by `npm run token` on the state it
 * serves (asserted to succeed) and shared by the tests that read the API: each token command starts
 * a Miniflare of its own.
 */
function readToken() {
  created ??= runScript("token.mjs", ["create", "--name", "start-test", "--persist-to", state]);
  return created.then((result) => {
    expect(result.status, result.stderr).toBe(0);
    return result.stdout.trimEnd().split("\n").at(-1);
  });
}

// The tests below share the one server and each works on jobs of its own (fresh or named ids), so
// they run at the same time; each waits for its own conditions.
describe.concurrent("npm start", () => {
  it("runs beside another dev server started at the same moment (each on its own port)", async () => {
    expect(other, "the second dev server, started beside the first, did not come up").toBeDefined();
    // Each must get its own port and devtools inspector port.
    expect(other.port).not.toBe(port);
    for (const base of [`http://127.0.0.1:${port}`, other.base]) {
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    }
  });

  it("serves on 127.0.0.1 at the port asked for", async () => {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });

  it("has migrated local D1 and live Durable Objects: a signed event is stored and listed", async () => {
    const bearer = { authorization: `Bearer ${await readToken()}` };

    const secret = SECRET;
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

    // The projection reaches local D1 (in about 1 s; the limit is for a loaded machine — the
    // contract's 2 s is measured by `npm run bench`, not asserted here).
    const until = Date.now() + 20_000;
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

/** Runs `npm run send` against the first server, without blocking (to run several at once). */
async function send(...args) {
  const { status, stdout, stderr } = await runScript("send.mjs", [
    ...args,
    "--url",
    `http://127.0.0.1:${port}`,
    "--env-file",
    envFile,
  ]);
  return { status, lines: stdout.trimEnd().split("\n"), stderr };
}

const EXTEND_TYPES = [
  ...["completed", "failed", "needs_review", "rejected", "cancelled", "step_run.processed"].map(
    (v) => `workflow_run.${v}`,
  ),
  ...[
    "extract_run",
    "classify_run",
    "split_run",
    "parse_run",
    "edit_run",
    "batch_processor_run",
    "batch_parse_run",
  ].flatMap((kind) => [`${kind}.processed`, `${kind}.failed`]),
  "workflow.created",
  "workflow.deployed",
  "workflow.deleted",
  ...["extractor", "classifier", "splitter"].flatMap((r) =>
    ["created", "updated", "deleted", "draft.updated", "version.published"].map((v) => `${r}.${v}`),
  ),
];
const ALFRED_EVENTS = [
  "job_create_event",
  "alfred_event_job_start",
  "job_stage_update",
  "job_retry_event",
  "job_failed_event",
  "job_exceeded_retries_event",
  "job_invalid_event",
  "job_finished_event",
  "file_added_to_job_event",
  "file_category_create_event",
  "file_category_delete_event",
  "file_change_tag_event",
  "file_done_event",
  "file_extracted_data_create_event",
  "file_extracted_data_delete_event",
  "file_failed_event",
  "file_move_event",
  "file_move_to_pending_event",
  "file_move_to_recycle_bin_event",
  "file_property_create_event",
  "file_property_delete_event",
  "file_remove_tag_event",
  "file_status_update_event",
  "file_update_event",
];

describe.concurrent("npm run watch", () => {
  it("prints the job's history, then a line for each new delivery", async () => {
    const [first, token] = await Promise.all([
      send("extend", "classify_run.failed", "--job", "clr_watch"),
      readToken(),
    ]);
    expect(first.status, first.stderr).toBe(0);
    const watcher = spawn(
      process.execPath,
      [
        path.join(ROOT, "scripts", "watch.mjs"),
        "extend:classify_run:clr_watch",
        "--url",
        `http://127.0.0.1:${port}`,
        "--token",
        token,
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    watcher.stdout.on("data", (chunk) => {
      output += chunk;
    });
    const waitFor = async (pattern) => {
      const until = Date.now() + 30_000;
      while (!pattern.test(output)) {
        if (Date.now() > until || watcher.exitCode !== null) throw new Error(`no ${pattern} in:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    try {
      await waitFor(/— live —/);
      expect(output).toMatch(/^extend:classify_run:clr_watch {2}failed/);
      expect(output).toMatch(/classify_run\.failed\s+failed\s+×1/);
      const next = await send("extend", "classify_run.processed", "--job", "clr_watch");
      expect(next.status, next.stderr).toBe(0);
      await waitFor(/classify_run\.processed\s+succeeded\s+×1 {2}→ job succeeded v2/);
    } finally {
      watcher.kill();
    }
  });

  it("without a job key or token: usage and exit 2", async () => {
    const result = await runScript("watch.mjs", [], { env: { ...process.env, RUNLEDGER_TOKEN: "" } });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("(see npm run watch -- --help)");
  });
});

describe.concurrent("npm run send", () => {
  it("sends a signed event of each of Extend's 38 types and Alfred's 24, each stored (`all`)", async () => {
    expect(EXTEND_TYPES).toHaveLength(38);
    const [extend, alfred] = await Promise.all([send("extend", "all"), send("alfred", "all")]);
    for (const [result, types] of [
      [extend, EXTEND_TYPES],
      [alfred, ALFRED_EVENTS],
    ]) {
      expect(result.status, `${result.stderr}${result.lines.join("\n")}`).toBe(0);
      const answers = result.lines.slice(0, -1);
      expect(answers).toHaveLength(types.length);
      for (const line of answers) {
        expect(line).toMatch(/ 200 \{"ok":true,"eventId":".+","jobKey":".+","duplicate":false\}$/);
      }
      // One of each type: as many distinct event types as the vendor has.
      expect(new Set(answers.map((line) => line.split(" ")[0])).size).toBe(types.length);
      expect(result.lines.at(-1)).toBe(
        `${types.length} of ${types.length} ${result === extend ? "extend" : "alfred"} event types accepted.`,
      );
    }
  });

  it("--times sends the same event again: the repeats are duplicates", async () => {
    const result = await send("extend", "classify_run.processed", "--job", "clr_send_times", "--times", "3");
    expect(result.status, result.stderr).toBe(0);
    expect(result.lines.map((line) => JSON.parse(line.slice(4)).duplicate)).toEqual([false, true, true]);
    expect(result.lines.every((line) => line.includes('"jobKey":"extend:classify_run:clr_send_times"'))).toBe(
      true,
    );
  });

  it("sends a Standard Webhooks event, signed with the whsec_ secret; --times repeats its webhook-id", async () => {
    const result = await send("standard", "export.completed", "--job", "exp_send", "--times", "2");
    expect(result.status, `${result.stderr}${result.lines.join("\n")}`).toBe(0);
    expect(result.lines.map((line) => JSON.parse(line.slice(4)))).toEqual([
      expect.objectContaining({ jobKey: "standard:export:exp_send", duplicate: false }),
      expect.objectContaining({ jobKey: "standard:export:exp_send", duplicate: true }),
    ]);
  });

  it("--list names every vendor, event type and lifecycle", async () => {
    const result = await send("--list");
    expect(result.status, result.stderr).toBe(0);
    for (const type of [...EXTEND_TYPES, "job_create", "file_add_to_job", "file_update"]) {
      expect(result.lines).toContain(`  ${type}`);
    }
    expect(result.lines.some((line) => line.startsWith("  extend  a workflow run"))).toBe(true);
    expect(result.lines.some((line) => line.startsWith("  alfred  a job"))).toBe(true);
  });

  it("--lifecycle sends a whole job, shuffled and repeated, and reads back the status it converged to", async () => {
    const token = await readToken();
    // Three runs on three jobs of their own, at once: an Extend one; the same seed again (without a
    // token), which must replay its order; an Alfred one.
    const [extend, again, alfred] = await Promise.all([
      send("--lifecycle", "extend", "--shuffle", "--seed", "7", "--repeat", "2", "--token", token),
      send("--lifecycle", "extend", "--shuffle", "--seed", "7", "--repeat", "2"),
      send("--lifecycle", "alfred", "--shuffle", "--job", "lifecycle-job", "--token", token),
    ]);
    expect(extend.status, extend.stderr).toBe(0);
    expect(extend.lines[0]).toBe("Shuffled with seed 7 (replay the order: --shuffle --seed 7)");
    const answers = extend.lines.filter((line) => /^\s*\d+\/10 /.test(line));
    expect(answers).toHaveLength(10);
    expect(answers.filter((line) => line.includes('"duplicate":true'))).toHaveLength(5);
    const [jobKey] = /extend:workflow_run:\S+/.exec(
      extend.lines.find((line) => line.startsWith("Job keys:")),
    );
    expect(extend.lines).toContain(`  ${jobKey}  succeeded (terminal)  5 events, 10 deliveries, version 10`);

    // The same seed replays the same order (of a fresh job).
    const order = (lines) =>
      lines.filter((line) => /^\s*\d+\/10 /.test(line)).map((line) => line.split(/\s+/)[2]);
    expect(order(again.lines)).toEqual(order(extend.lines));
    expect(again.lines.at(-1)).toContain("--token");

    expect(alfred.status, alfred.stderr).toBe(0);
    expect(alfred.lines[0]).toMatch(/^Shuffled with seed \d+ /);
    expect(alfred.lines).toContain(
      "Job keys: alfred:job:lifecycle-job alfred:file:lifecycle-job-file-1 alfred:file:lifecycle-job-file-2",
    );
    expect(alfred.lines).toContain(
      "  alfred:job:lifecycle-job  succeeded (terminal)  5 events, 5 deliveries, version 5",
    );
    for (const file of ["lifecycle-job-file-1", "lifecycle-job-file-2"]) {
      expect(alfred.lines).toContain(`    file alfred:file:${file}  succeeded`);
      expect(alfred.lines).toContain(
        `  alfred:file:${file}  succeeded (terminal)  3 events, 3 deliveries, version 3`,
      );
    }
  });

  it("refuses what it does not know, with usage and exit 2", async () => {
    const refusals = [
      ["stripe", "charge.succeeded"],
      ["extend", "invoice.paid"],
      ["alfred", "job_teleported"],
      ["standard", "a:b.created"],
      ["extend"],
    ];
    for (const result of await Promise.all(refusals.map((args) => send(...args)))) {
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(/\(see npm run send -- --(help|list)\)/);
    }
  });
});

// `npm run deploy`: the plan run against a fake wrangler on PATH (scripts/fixtures/fake-wrangler.mjs,
// an account kept in a JSON file that records every call), and `--dry-run` with the real wrangler.
// Each scenario has its own temporary copy of wrangler.jsonc and its own account; the repository's
// config is never touched. The scenarios run concurrently (each is a chain of child processes).
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  createdDatabaseId,
  deployedAddresses,
  PLACEHOLDER_DATABASE_ID,
  planSecrets,
  recordDatabaseId,
  VENDOR_SECRETS,
} from "./deploy-plan.mjs";
import { spawnNode } from "./dev-server.mjs";
import { parseJsonc, ROOT } from "./lib.mjs";

const DEPLOY = path.join(ROOT, "scripts", "deploy.mjs");
const FAKE = path.join(ROOT, "scripts", "fixtures", "fake-wrangler.mjs");
const CONFIG_TEXT = readFileSync(path.join(ROOT, "wrangler.jsonc"), "utf8");
const SECRET_NAMES = VENDOR_SECRETS.map((secret) => secret.name);
const WORKER_URL = "https://runledger.fake-account.workers.dev";
const EXTEND_SECRET = "wss_from_the_extend_dashboard_0123456789";

const scratch = mkdtempSync(path.join(tmpdir(), "runledger-deploy-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A fresh clone's config (the placeholder database id), an empty fake account, `wrangler` on PATH. */
function project(name) {
  const dir = path.join(scratch, name);
  mkdirSync(path.join(dir, "bin"), { recursive: true });
  symlinkSync(FAKE, path.join(dir, "bin", "wrangler"));
  const config = path.join(dir, "wrangler.jsonc");
  writeFileSync(config, CONFIG_TEXT);
  const state = path.join(dir, "account.json");
  return {
    dir,
    config,
    text: () => readFileSync(config, "utf8"),
    account: () => (existsSync(state) ? JSON.parse(readFileSync(state, "utf8")) : { calls: [] }),
    state,
  };
}

/** Runs the deploy script (what `npm run deploy` runs) against the project's fake account. */
async function deploy(p, { env = {}, args = [] } = {}) {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !SECRET_NAMES.includes(key) && !/^(FAKE_WRANGLER_|RUNLEDGER_WRANGLER|CLOUDFLARE_)/.test(key),
    ),
  );
  const before = p.account().calls.length;
  const { output, done } = spawnNode(DEPLOY, ["--config", p.config, ...args], {
    env: {
      ...inherited,
      PATH: `${path.join(p.dir, "bin")}${path.delimiter}${process.env.PATH}`,
      RUNLEDGER_WRANGLER: "wrangler",
      FAKE_WRANGLER_STATE: p.state,
      ...env,
    },
  });
  const status = await done;
  const calls = p.account().calls.slice(before);
  return { status, ...output, calls, commands: calls.map((call) => call.args.join(" ")) };
}

/** The calls that create or change something on the account (a deploy aside). */
const changes = (commands) =>
  commands.filter((command) =>
    /^(d1 create|queues create|secret put|secret bulk)\b|INSERT INTO|^d1 migrations apply/.test(command),
  );

/** Runs `work` once, however many tests wait for it. */
function once(work) {
  let promise;
  return () => {
    promise ??= work();
    return promise;
  };
}

const recordedId = (p) => parseJsonc(p.text()).d1_databases[0].database_id;

// One account taken through a first run and a re-run.
const chain = project("chain");
const firstRun = once(() => deploy(chain, { env: { EXTEND_SIGNING_SECRETS: EXTEND_SECRET } }));
const reRun = once(async () => {
  await firstRun();
  return deploy(chain, { env: { EXTEND_SIGNING_SECRETS: "wss_a_different_value_not_to_be_used" } });
});
describe.concurrent("npm run deploy against a fake wrangler", () => {
  it("a first run creates the database, both queues and the secrets, records the id, migrates, deploys, and prints what to register and an admin token", async () => {
    const run = await firstRun();
    expect(run.status, run.stderr).toBe(0);
    expect(run.commands).toEqual([
      "deploy --dry-run",
      "d1 list --json",
      "d1 create runledger",
      "queues info runledger-projection",
      "queues create runledger-projection",
      "queues info runledger-projection-dlq",
      "queues create runledger-projection-dlq",
      "secret list --format json",
      "secret bulk",
      "d1 migrations apply DB --remote",
      "deploy",
      expect.stringMatching(/^d1 execute DB --remote --yes --json --command SELECT /),
      expect.stringMatching(/^d1 execute DB --remote --yes --json --command INSERT INTO tokens /),
    ]);
    const account = chain.account();

    // The id wrangler created is written where wrangler reads it, the rest of the file unchanged.
    const [database] = account.databases;
    expect(chain.text()).toBe(CONFIG_TEXT.replace(PLACEHOLDER_DATABASE_ID, database.uuid));

    // Secrets: Extend's from the environment, Alfred's generated, Standard's absent (not in the
    // environment); values only on stdin, never in arguments.
    expect(run.calls.find((call) => call.args.join(" ") === "secret bulk").stdinKeys).toEqual([
      "EXTEND_SIGNING_SECRETS",
      "ALFRED_WEBHOOK_TOKENS",
    ]);
    const { secrets } = account.workers.runledger;
    expect(secrets.EXTEND_SIGNING_SECRETS).toBe(EXTEND_SECRET);
    expect(secrets.ALFRED_WEBHOOK_TOKENS).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(secrets.STANDARD_WEBHOOK_SECRETS).toBeUndefined();
    expect(JSON.stringify(run.calls)).not.toContain(secrets.ALFRED_WEBHOOK_TOKENS);
    expect(account.workers.runledger.deploys).toBe(1);

    // What to register: the URL, the generated Alfred URL (the one secret printed), a note for the
    // vendor not configured; never the Extend secret.
    expect(run.stdout).toContain(`${WORKER_URL}/webhooks/extend`);
    expect(run.stdout).toContain(`${WORKER_URL}/webhooks/alfred/${secrets.ALFRED_WEBHOOK_TOKENS}`);
    expect(run.stdout).toMatch(/STANDARD_WEBHOOK_SECRETS — NOT SET/);
    expect(`${run.stdout}${run.stderr}`).not.toContain(EXTEND_SECRET);

    // The admin token, created in the deployed database (its hash only), printed alone on the last line.
    const lines = run.stdout.trimEnd().split("\n");
    const token = lines.at(-1);
    expect(token).toMatch(/^rl_[A-Za-z0-9_-]{43}$/);
    expect(run.stdout).toContain(`Console: ${WORKER_URL}/`);
    const [row] = account.d1[database.uuid].tokens;
    expect(row).toMatchObject({ name: "deploy-admin", admin: 1, revoked_at: null });
    expect(row.token_hash).toBe(createHash("sha256").update(token).digest("hex"));
    expect(run.stdout.split(token).length).toBe(2);
  });

  it("a re-run creates nothing, overwrites no secret and prints no secret, and deploys again", async () => {
    await firstRun();
    const configAfterFirst = chain.text();
    const run = await reRun();
    expect(run.status, run.stderr).toBe(0);
    expect(changes(run.commands)).toEqual(["d1 migrations apply DB --remote"]);
    expect(run.commands).toContain("deploy");
    expect(chain.text()).toBe(configAfterFirst);
    const account = chain.account();
    expect(account.databases).toHaveLength(1);
    expect(account.queues).toHaveLength(2);
    // The environment's different value did not replace the Worker's secret.
    expect(account.workers.runledger.secrets.EXTEND_SIGNING_SECRETS).toBe(EXTEND_SECRET);
    expect(account.workers.runledger.deploys).toBe(2);
    expect(run.stdout).toMatch(/EXTEND_SIGNING_SECRETS kept; ALFRED_WEBHOOK_TOKENS kept/);
    expect(run.stdout).not.toContain(account.workers.runledger.secrets.ALFRED_WEBHOOK_TOKENS);
    expect(run.stdout).not.toMatch(/^rl_/m);
    expect(run.stdout).toContain('"deploy-admin" exists');
  });

  it("a failure midway stops with a clear message before deploying; a re-run creates only what is missing", async () => {
    const p = project("failure");
    const failed = await deploy(p, { env: { FAKE_WRANGLER_FAIL: "queues create runledger-projection-dlq" } });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain('✘ queue "runledger-projection-dlq"');
    expect(failed.stderr).toContain("Internal error (FAKE_WRANGLER_FAIL)");
    expect(failed.stderr).toContain("run `npm run deploy` again");
    expect(failed.commands).not.toContain("deploy");
    expect(failed.commands).not.toContain("secret bulk");
    expect(recordedId(p)).toBe(p.account().databases[0].uuid);

    const again = await deploy(p);
    expect(again.status, again.stderr).toBe(0);
    expect(changes(again.commands)).toEqual([
      "queues create runledger-projection-dlq",
      "secret bulk",
      "d1 migrations apply DB --remote",
      expect.stringMatching(/INSERT INTO tokens/),
    ]);
    expect(p.account().databases).toHaveLength(1);
    expect(p.account().queues.map((queue) => queue.queue_name)).toEqual([
      "runledger-projection",
      "runledger-projection-dlq",
    ]);
    expect(again.commands).toContain("deploy");
  });

  it("refuses to deploy with the placeholder database id; a re-run finds the database by name", async () => {
    const p = project("placeholder");
    // wrangler created the database but printed no id: the config keeps the placeholder.
    const refused = await deploy(p, { env: { FAKE_WRANGLER_QUIRK: "d1-create-no-id" } });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("refusing to deploy");
    expect(refused.stderr).toContain(PLACEHOLDER_DATABASE_ID);
    expect(p.text()).toBe(CONFIG_TEXT);
    expect(refused.commands.filter((command) => /^deploy$|^d1 migrations|^secret/.test(command))).toEqual([]);

    const again = await deploy(p);
    expect(again.status, again.stderr).toBe(0);
    expect(again.commands).not.toContain("d1 create runledger");
    expect(again.stdout).toMatch(/D1 database "runledger": exists/);
    expect(recordedId(p)).toBe(p.account().databases[0].uuid);
  });

  it("an id in the config that the account does not have is refused, nothing created", async () => {
    const p = project("wrong-account");
    writeFileSync(
      p.config,
      CONFIG_TEXT.replace(PLACEHOLDER_DATABASE_ID, "6f1e2d3c-0000-4000-8000-0123456789ab"),
    );
    const run = await deploy(p);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/6f1e2d3c-0000-4000-8000-0123456789ab, which this account does not have/);
    expect(changes(run.commands)).toEqual([]);
  });

  it("without a login it says how to log in and changes nothing", async () => {
    const p = project("logged-out");
    const run = await deploy(p, { env: { FAKE_WRANGLER_LOGGED_OUT: "1" } });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("npx wrangler login");
    expect(changes(run.commands)).toEqual([]);
    expect(p.text()).toBe(CONFIG_TEXT);
  });

  it("--dry-run prints the plan and calls wrangler only to build", async () => {
    const p = project("dry-run-fake");
    const run = await deploy(p, { args: ["--dry-run"], env: { EXTEND_SIGNING_SECRETS: EXTEND_SECRET } });
    expect(run.status, run.stderr).toBe(0);
    expect(run.commands).toEqual(["deploy --dry-run"]);
    expect(run.stdout).toContain("no account is used; nothing is created, set or uploaded");
    expect(run.stdout).toContain("create it if absent (wrangler d1 create runledger)");
    expect(run.stdout).toContain("queues runledger-projection, runledger-projection-dlq");
    expect(run.stdout).toContain("EXTEND_SIGNING_SECRETS: from the environment");
    expect(run.stdout).toContain("ALFRED_WEBHOOK_TOKENS: generated");
    expect(run.stdout).toContain("STANDARD_WEBHOOK_SECRETS: not in the environment");
    expect(run.stdout).not.toContain(EXTEND_SECRET);
    expect(p.text()).toBe(CONFIG_TEXT);
  });
});

describe("npm run deploy -- --dry-run with the real wrangler", () => {
  it("bundles the Worker with its bindings and uploads nothing", async () => {
    const outdir = path.join(scratch, "bundle");
    const { output, done } = spawnNode(DEPLOY, ["--dry-run", "--outdir", outdir]);
    const run = { status: await done, ...output };
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain("Plan for Worker");
    expect(run.stdout).toContain("env.JOBS (JobLedger)");
    expect(run.stdout).toContain("env.DB (runledger)");
    expect(run.stdout).toContain("--dry-run: exiting now.");
    const bundle = path.join(outdir, "index.js");
    expect(existsSync(bundle)).toBe(true);
    expect(statSync(bundle).size).toBeGreaterThan(10_000);
  });
});

describe("the deploy plan's pieces", () => {
  it("records a database id by editing the text: comments kept, only the placeholder replaced", () => {
    const id = "3f2b9a44-8c1d-4e5f-9a0b-1c2d3e4f5a6b";
    const text = recordDatabaseId(CONFIG_TEXT, id);
    expect(text).toBe(CONFIG_TEXT.replace(PLACEHOLDER_DATABASE_ID, id));
    expect(text).toContain("// D1: job summaries");
    expect(() => recordDatabaseId(text, id)).toThrow(/found it 0 times/);
    expect(() => recordDatabaseId(CONFIG_TEXT, "not-a-uuid")).toThrow(/UUID/);
  });

  it("reads wrangler's outputs: the created id (JSON or TOML snippet) and the deploy's targets", () => {
    expect(createdDatabaseId('{ "database_id": "3f2b9a44-8c1d-4e5f-9a0b-1c2d3e4f5a6b" }')).toBe(
      "3f2b9a44-8c1d-4e5f-9a0b-1c2d3e4f5a6b",
    );
    expect(createdDatabaseId('database_id = "3f2b9a44-8c1d-4e5f-9a0b-1c2d3e4f5a6b"')).toBe(
      "3f2b9a44-8c1d-4e5f-9a0b-1c2d3e4f5a6b",
    );
    expect(createdDatabaseId("✅ Successfully created DB 'runledger'")).toBeNull();
    const output = [
      "Uploaded runledger (3.21 sec)",
      "Deployed runledger triggers (1.04 sec)",
      "  https://runledger.acme.workers.dev",
      "  ledger.example.com (custom domain)",
      "  example.com/hooks/* (zone name: example.com)",
      "  Producer for runledger-projection",
      "  Consumer for runledger-projection",
      "Current Version ID: 0b7d…",
    ].join("\n");
    expect(deployedAddresses(output)).toEqual({
      urls: ["https://ledger.example.com", "https://runledger.acme.workers.dev"],
      routes: ["example.com/hooks/* (zone name: example.com)"],
    });
  });

  it("plans secrets: keeps what exists, takes the environment's, generates Alfred's, leaves the rest unset", () => {
    const plan = planSecrets(
      ["EXTEND_SIGNING_SECRETS"],
      { EXTEND_SIGNING_SECRETS: "wss_x", STANDARD_WEBHOOK_SECRETS: " " },
      () => "tok",
    );
    expect(plan.map(({ name, action, value }) => [name, action, value])).toEqual([
      ["EXTEND_SIGNING_SECRETS", "keep", undefined],
      ["ALFRED_WEBHOOK_TOKENS", "generate", "tok"],
      ["STANDARD_WEBHOOK_SECRETS", "missing", undefined],
    ]);
    // A vendor secret that appears in the environment later is the only one set on that run.
    const later = planSecrets(["EXTEND_SIGNING_SECRETS", "ALFRED_WEBHOOK_TOKENS"], {
      ALFRED_WEBHOOK_TOKENS: "not-used",
      STANDARD_WEBHOOK_SECRETS: "whsec_new",
    });
    expect(
      later.filter((secret) => secret.value !== undefined).map(({ name, value }) => [name, value]),
    ).toEqual([["STANDARD_WEBHOOK_SECRETS", "whsec_new"]]);
  });

  it("covers every secret a vendor adapter declares (its variables that are not wrangler.jsonc vars)", () => {
    const vars = Object.keys(parseJsonc(CONFIG_TEXT).vars ?? {});
    const declared = [];
    const vendors = path.join(ROOT, "src", "vendors");
    for (const vendor of readdirSync(vendors)) {
      const file = path.join(vendors, vendor, "index.ts");
      if (!existsSync(file)) continue;
      const block = /variables:\s*\{([\s\S]*?)\n\s*\},/.exec(readFileSync(file, "utf8"))?.[1] ?? "";
      declared.push(...[...block.matchAll(/^\s*([A-Z][A-Z0-9_]+)\s*:/gm)].map((match) => match[1]));
    }
    expect(declared.length, "no `variables: { NAME: … }` found in src/vendors/*/index.ts").toBeGreaterThan(0);
    expect(declared.filter((name) => !vars.includes(name)).sort()).toEqual([...SECRET_NAMES].sort());
  });
});

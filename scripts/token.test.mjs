import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runScript } from "./dev-server.mjs";
import { openLocalD1, ROOT } from "./lib.mjs";

const state = mkdtempSync(path.join(tmpdir(), "runledger-token-"));
/** One Miniflare on `state` for all the tests' reads, opened on first use (a promise: shared at once). */
let local;
afterAll(async () => {
  await (await local)?.close();
  rmSync(state, { recursive: true, force: true });
});

/** Runs `npm run token -- ...args`; several may run at once. */
function token(...args) {
  return runScript("token.mjs", args);
}

/** The migration files, in the order wrangler applies them. */
const MIGRATIONS = readdirSync(path.join(ROOT, "migrations"))
  .filter((name) => name.endsWith(".sql"))
  .sort();

const lastLine = (stdout) => stdout.trimEnd().split("\n").at(-1);
/** The tokens the chain of commands on `state` printed, by what they were created as. */
const printed = {};

async function rows(sql) {
  local ??= openLocalD1(state);
  return (await local).query(sql);
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Buffer.from(digest).toString("hex");
}

// Two groups that share nothing run at the same time (each token command starts a Miniflare, about
// a second of CPU): the commands on `state`, in order, since each reads what the one before left
// (the first two racing on it while it is fresh); the refused invocations, which exit before
// opening a database.
describe.concurrent("npm run token", () => {
  describe("on one state, one command after another", () => {
    it.sequential("two creates on a fresh state at once: both migrate it (each migration applied once), print the token alone on the last line and store only its hash", async () => {
      const [created, racing] = await Promise.all([
        token("create", "--name", "ci", "--company", "co-1", "--source", "alfred", "--persist-to", state),
        token("create", "--name", "race", "--persist-to", state),
      ]);
      expect(created.status, created.stderr).toBe(0);
      expect(racing.status, racing.stderr).toBe(0);
      const value = lastLine(created.stdout);
      expect(value).toMatch(/^rl_[A-Za-z0-9_-]{43}$/);
      printed.scoped = value;
      printed.race = lastLine(racing.stdout);
      expect(printed.race).toMatch(/^rl_[A-Za-z0-9_-]{43}$/);
      const stored = await rows(
        "SELECT token_hash, name, company_id, source, admin, revoked_at FROM tokens WHERE name = 'ci'",
      );
      expect(stored).toEqual([
        {
          token_hash: await sha256Hex(value),
          name: "ci",
          company_id: "co-1",
          source: "alfred",
          admin: 0,
          revoked_at: null,
        },
      ]);
      expect(await rows("SELECT token_hash FROM tokens WHERE name = 'race'")).toEqual([
        { token_hash: await sha256Hex(printed.race) },
      ]);
      expect(JSON.stringify(await rows("SELECT * FROM tokens"))).not.toMatch(/rl_/);
      // Every migration is recorded once, as `wrangler d1 migrations apply` records them.
      expect((await rows("SELECT name FROM d1_migrations ORDER BY id")).map((row) => row.name)).toEqual(
        MIGRATIONS,
      );
    });

    it.sequential("a live name is refused with --unique, and otherwise created beside it with a note; --admin stores an admin token", async () => {
      const [refused, admin] = await Promise.all([
        token("create", "--name", "ci", "--unique", "--persist-to", state),
        token("create", "--name", "ops", "--admin", "--persist-to", state),
      ]);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('A live token is already named "ci" and --unique was given');
      expect(refused.stdout).not.toMatch(/rl_/);
      expect(admin.status, admin.stderr).toBe(0);
      expect(admin.stdout).toContain('Created admin token "ops"');
      printed.admin = lastLine(admin.stdout);
      expect(await rows("SELECT name, admin FROM tokens ORDER BY name")).toEqual([
        { name: "ci", admin: 0 },
        { name: "ops", admin: 1 },
        { name: "race", admin: 0 },
      ]);

      // CONTRACT §1: create MUST create a token and print it on the last line, a reused name too.
      const again = await token("create", "--name", "ci", "--persist-to", state);
      expect(again.status, again.stderr).toBe(0);
      expect(again.stdout.trim().split("\n").at(-1)).toMatch(/^rl_/);
      expect(again.stderr).toContain('Note: 1 live token(s) already named "ci"');
      expect(await rows("SELECT count(*) AS n FROM tokens WHERE name = 'ci'")).toEqual([{ n: 2 }]);
    });

    it.sequential("revoke marks every live token of that name revoked; then the name is free again", async () => {
      const revoked = await token("revoke", "--name", "ci", "--persist-to", state);
      expect(revoked.status, revoked.stderr).toBe(0);
      expect(revoked.stdout).toContain('Revoked 2 live token(s) named "ci"');
      for (const row of await rows("SELECT revoked_at FROM tokens WHERE name = 'ci'")) {
        expect(row.revoked_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      }
      // Again, or a name never created: nothing to revoke is an error, not a silent success.
      const nothing = await Promise.all(
        ["ci", "never-created"].map((name) => token("revoke", "--name", name, "--persist-to", state)),
      );
      for (const [i, name] of ["ci", "never-created"].entries()) {
        expect(nothing[i].status).toBe(1);
        expect(nothing[i].stderr).toContain(`No live token is named "${name}"`);
      }
      const reused = await token("create", "--name", "ci", "--persist-to", state);
      expect(reused.status, reused.stderr).toBe(0);
      printed.reused = lastLine(reused.stdout);
    });

    it.sequential("list prints an aligned table: name, scope, admin yes/no, created, hash prefix; --all adds the revoked", async () => {
      const [list, all] = await Promise.all([
        token("list", "--persist-to", state),
        token("list", "--all", "--persist-to", state),
      ]);
      expect(list.status, list.stderr).toBe(0);
      const lines = list.stdout.trimEnd().split("\n");
      expect(lines[0]).toMatch(/^NAME +SCOPE +ADMIN +CREATED \(UTC\) +HASH$/);
      const prefix = async (value) => (await sha256Hex(value)).slice(0, 12);
      const columns = (line) => line.split(/ {2,}/);
      const live = Object.fromEntries(lines.slice(1).map((line) => [columns(line)[0], columns(line)]));
      // The revoked "ci" tokens are gone from the plain list; the one created after is there.
      expect(Object.keys(live).sort()).toEqual(["ci", "ops", "race"]);
      expect(live.race.slice(1, 3)).toEqual(["all jobs", "no"]);
      expect(live.race[4]).toBe(await prefix(printed.race));
      expect(live.ci).toEqual([
        "ci",
        "all jobs",
        "no",
        expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d$/),
        await prefix(printed.reused),
      ]);
      expect(live.ops.slice(1, 3)).toEqual(["all jobs", "yes"]);
      expect(live.ops[4]).toBe(await prefix(printed.admin));
      // Aligned: every column starts at the same place on every line.
      for (const header of ["SCOPE", "ADMIN", "HASH"]) {
        const at = lines[0].indexOf(header);
        for (const line of lines.slice(1)) expect(line[at - 1]).toBe(" ");
      }
      expect(list.stdout).not.toMatch(/\(index\)|┌|│/);
      // Only hash prefixes: no token is ever printed again.
      expect(`${list.stdout}${all.stdout}`).not.toMatch(/rl_/);
      expect(all.status, all.stderr).toBe(0);
      expect(all.stdout.split("\n")[0]).toMatch(/HASH +REVOKED \(UTC\)$/);
      const scopedHash = await prefix(printed.scoped);
      const scoped = all.stdout.split("\n").find((line) => line.includes(scopedHash));
      expect(columns(scoped ?? "")).toEqual([
        "ci",
        "company co-1, source alfred",
        "no",
        expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d$/),
        scopedHash,
        expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d$/),
      ]);
    });

    it.sequential.each([["--help"], ["-h"], ["create", "--name", "x", "--help"]])(
      "%j prints the usage, exits 0 and creates nothing",
      async (...args) => {
        const result = await token(...args, "--persist-to", state);
        expect(result.status).toBe(0);
        expect(result.stdout).toContain("npm run token -- create --name NAME");
        expect(await rows("SELECT count(*) AS n FROM tokens WHERE name = 'x'")).toEqual([{ n: 0 }]);
      },
    );
  });

  it.each([
    [["create"], "needs --name"],
    [["create", "--name", "x", "--source", "stripe"], "--source must be alfred, extend or standard"],
    [["create", "--name"], "--name needs a value"],
    [["frobnicate"], "unknown command frobnicate"],
    [["create", "--name", "x", "--bogus"], "unknown option --bogus"],
    [["revoke", "--name", "x", "--force"], "--force is for create only"],
    [["revoke", "--name", "x", "--unique"], "--unique is for create only"],
    [["list", "extra"], "unexpected argument extra"],
  ])("%j exits 2 with a clear message and the usage", async (args, message) => {
    const result = await token(...args, "--persist-to", state);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain("(see npm run token -- --help)");
  });
});

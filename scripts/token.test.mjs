// `npm run token` as a user runs it (CONTRACT §1): against a throwaway local state, so the
// developer's own `.wrangler/state` is untouched.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, runWrangler } from "./lib.mjs";

const state = mkdtempSync(path.join(tmpdir(), "runledger-token-"));
afterAll(() => rmSync(state, { recursive: true, force: true }));

function token(...args) {
  const result = spawnSync(process.execPath, [path.join(ROOT, "scripts", "token.mjs"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function rows(sql) {
  const output = runWrangler(
    ["d1", "execute", "DB", "--local", "--persist-to", state, "--json", "--command", sql],
    {
      quiet: true,
    },
  );
  return JSON.parse(output)[0].results;
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Buffer.from(digest).toString("hex");
}

describe("npm run token", () => {
  it("create prints the token alone on the last line and stores only its hash (on a fresh state)", async () => {
    const created = token(
      "create",
      "--name",
      "ci",
      "--company",
      "co-1",
      "--source",
      "alfred",
      "--persist-to",
      state,
    );
    expect(created.status, created.stderr).toBe(0);
    const lines = created.stdout.trimEnd().split("\n");
    const value = lines.at(-1);
    expect(value).toMatch(/^rl_[A-Za-z0-9_-]{43}$/);
    const stored = rows("SELECT token_hash, name, company_id, source, revoked_at FROM tokens");
    expect(stored).toEqual([
      {
        token_hash: await sha256Hex(value),
        name: "ci",
        company_id: "co-1",
        source: "alfred",
        revoked_at: null,
      },
    ]);
    expect(JSON.stringify(stored)).not.toContain(value);
  });

  it("list shows names and scopes, revoke marks the named tokens revoked", () => {
    const listed = token("list", "--persist-to", state);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toContain("ci");
    expect(listed.stdout).toContain("co-1");

    const revoked = token("revoke", "--name", "ci", "--persist-to", state);
    expect(revoked.status, revoked.stderr).toBe(0);
    const [row] = rows("SELECT revoked_at FROM tokens WHERE name = 'ci'");
    expect(row.revoked_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    // Again, or a name never created: nothing to revoke is an error, not a silent success.
    for (const name of ["ci", "never-created"]) {
      const nothing = token("revoke", "--name", name, "--persist-to", state);
      expect(nothing.status).toBe(1);
      expect(nothing.stderr).toContain(`No live token is named "${name}"`);
    }
  });

  it("create --admin stores an admin token", () => {
    const created = token("create", "--name", "ops", "--admin", "--persist-to", state);
    expect(created.status, created.stderr).toBe(0);
    expect(created.stdout).toContain('Created admin token "ops"');
    expect(rows("SELECT admin FROM tokens WHERE name = 'ops'")).toEqual([{ admin: 1 }]);
  });

  it.each([
    [["create"], "needs --name"],
    [["create", "--name", "x", "--source", "stripe"], "--source must be alfred, extend or standard"],
    [["create", "--name"], "--name needs a value"],
    [["frobnicate"], "Give a command"],
    [["create", "--name", "x", "--bogus"], "Unknown argument"],
  ])("%j exits 2 with a clear message", (args, message) => {
    const result = token(...args, "--persist-to", state);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it("--help prints the usage and exits 0", () => {
    const result = token("--help");
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("npm run token -- create --name NAME");
  });
});

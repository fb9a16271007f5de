// `npm run deploy -- --dry-run`: builds the Worker bundle offline, with no account.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "./lib.mjs";

const outdir = mkdtempSync(path.join(tmpdir(), "runledger-deploy-"));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe("npm run deploy -- --dry-run", () => {
  it("bundles the Worker with its bindings and uploads nothing", () => {
    const result = spawnSync(
      process.execPath,
      [path.join(ROOT, "scripts", "deploy.mjs"), "--dry-run", "--outdir", outdir],
      { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain("env.JOBS (JobLedger)");
    expect(result.stdout).toContain("env.DB (runledger)");
    expect(result.stdout).toContain("--dry-run: exiting now.");
    const bundle = path.join(outdir, "index.js");
    expect(existsSync(bundle)).toBe(true);
    expect(statSync(bundle).size).toBeGreaterThan(10_000);
  });
});

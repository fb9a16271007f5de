// `npm run fuzz` refuses what it cannot run before it starts vitest (a fuzz run itself takes
// minutes: it is run by hand, see README "Commands"; test/fuzz.test.ts runs its properties briefly).
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./lib.mjs";

function fuzz(...args) {
  const result = spawnSync(process.execPath, [path.join(ROOT, "scripts", "fuzz.mjs"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("npm run fuzz", () => {
  it("--help prints the usage and exits 0", () => {
    const { status, stdout } = fuzz("--help");
    expect(status).toBe(0);
    expect(stdout).toContain("npm run fuzz -- [--minutes N] [--seed S]");
  });

  it.each([
    [["--minutes", "0"], "--minutes must be"],
    [["--minutes", "soon"], "--minutes must be"],
    [["--seed", "1.5"], "--seed must be a 32-bit integer"],
    [["--seed", "4294967296"], "--seed must be a 32-bit integer"],
    [["--seed"], "--seed needs a value"],
    [["--fast"], "unknown option --fast"],
  ])("refuses %j with exit 2 and the reason", (args, reason) => {
    const { status, stdout, stderr } = fuzz(...args);
    expect(status).toBe(2);
    expect(stderr).toContain(reason);
    expect(stdout).toBe("");
  });
});

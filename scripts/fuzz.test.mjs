// `npm run fuzz` refuses what it cannot run before it starts vitest (a fuzz run itself takes
// minutes: it is run by hand, see CONTRIBUTING.md, "Fuzzing"; test/fuzz.test.ts runs its properties briefly).
import { describe, expect, it } from "vitest";
import { runScript } from "./dev-server.mjs";

/** Runs `npm run fuzz -- ...args`; each exits before starting vitest, so they run at the same time. */
function fuzz(...args) {
  return runScript("fuzz.mjs", args);
}

describe.concurrent("npm run fuzz", () => {
  it("--help prints the usage and exits 0", async () => {
    const { status, stdout } = await fuzz("--help");
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
  ])("refuses %j with exit 2 and the reason", async (args, reason) => {
    const { status, stdout, stderr } = await fuzz(...args);
    expect(status).toBe(2);
    expect(stderr).toContain(reason);
    expect(stdout).toBe("");
  });
});

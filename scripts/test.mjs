#!/usr/bin/env node
// `npm test` (CONTRACT §1: type checking, lint and the whole suite; non-zero on any failure). The
// three checks — the generated `Env` types up to date (scripts/types.mjs), `tsc`, Biome — run side
// by side with vitest instead of before it: they take a few seconds of one core, which vitest's
// start leaves idle. The exit status is vitest's, or 1 if a check failed; then the JSON report
// (VITEST_JSON_REPORT, read by .ci/run) is removed, so a failed check never reads as a green run.
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import path from "node:path";
import { ROOT } from "./lib.mjs";

/** Runs `node <file> ...args` in the project's folder, its output on ours; resolves with its exit code. */
function run(file, args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, file), ...args], { cwd: ROOT, stdio: "inherit" });
    child.on("error", () => resolve(1));
    child.on("close", (code, signal) => resolve(signal === null ? code : 1));
  });
}

const checks = [
  ["the generated types", run("scripts/types.mjs", ["--check"])],
  ["tsc --noEmit", run("node_modules/typescript/bin/tsc", ["--noEmit"])],
  ["biome check .", run("node_modules/@biomejs/biome/bin/biome", ["check", "."])],
];
const suite = run("node_modules/vitest/vitest.mjs", ["run", ...process.argv.slice(2)]);
const failed = [];
for (const [name, done] of checks) if ((await done) !== 0) failed.push(name);
const status = await suite;
if (failed.length > 0) {
  if (process.env.VITEST_JSON_REPORT) rmSync(process.env.VITEST_JSON_REPORT, { force: true });
  console.error(`npm test: failed: ${failed.join(", ")}`);
  process.exit(1);
}
process.exit(status);

#!/usr/bin/env node
// `npm run fuzz -- [--minutes N] [--seed S]`: fuzzes the Extend and Alfred parsers and the Worker,
// and holds generated job lifecycles to the model of CONTRACT §4 (test/oracle.property.test.ts),
// for N minutes (default 1) from seed S (default: a fresh random one). Both run inside workerd, so
// this runs vitest on the two test files side by side with FUZZ_MINUTES and FUZZ_SEED
// (vitest.config.ts hands them to the tests). Prints the seed and case count at the start and the end, progress every
// minute, and on a failure the counterexample and the command that replays it; exits 1 then.
import { spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import path from "node:path";
import { usage } from "./cli.mjs";
import { ROOT } from "./lib.mjs";

const USAGE = `Usage: npm run fuzz -- [--minutes N] [--seed S]

  --minutes  how long to fuzz (default 1; decimals allowed)
  --seed     an integer seed, to replay a run (default: a fresh random seed)`;

const { fail, unknownOption } = usage("fuzz", "npm run fuzz");

const options = { minutes: "1", seed: undefined };
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === "--help" || arg === "-h") {
    console.log(USAGE);
    process.exit(0);
  }
  if (arg !== "--minutes" && arg !== "--seed") {
    if (arg.startsWith("-")) unknownOption(arg, ["--minutes", "--seed", "--help"]);
    fail(`unexpected argument ${arg}`);
  }
  const value = args[++i];
  if (value === undefined || value.startsWith("--")) fail(`${arg} needs a value`);
  options[arg.slice(2)] = value;
}
const minutes = Number(options.minutes);
if (!(minutes > 0) || minutes > 24 * 60) fail("--minutes must be a number of minutes above 0");
const seed = options.seed === undefined ? randomInt(-(2 ** 31), 2 ** 31) : Number(options.seed);
if (!Number.isInteger(seed) || seed < -(2 ** 31) || seed >= 2 ** 31) fail("--seed must be a 32-bit integer");

const started = Date.now();
const replay = `npm run fuzz -- --seed ${seed} --minutes ${minutes}`;
console.log(`fuzz: seed ${seed}, ${minutes} min, cases 0 (replay with: ${replay})`);

const vitest = path.join(ROOT, "node_modules", "vitest", "vitest.mjs");
const child = spawn(
  process.execPath,
  [vitest, "run", "--project", "worker", "test/fuzz.test.ts", "test/oracle.property.test.ts"],
  {
    cwd: ROOT,
    env: { ...process.env, FUZZ_MINUTES: String(minutes), FUZZ_SEED: String(seed) },
    stdio: ["ignore", "pipe", "inherit"],
  },
);

// The tests print `fuzz: … cases=N (…)` and `oracle: <vendor> … cases=N` lines; the last of each
// kind is that property's count so far.
const counts = new Map();
const total = () => [...counts.values()].reduce((sum, n) => sum + n, 0);
let pending = "";
child.stdout.on("data", (chunk) => {
  process.stdout.write(chunk);
  pending += chunk.toString("utf8");
  const lines = pending.split("\n");
  pending = lines.pop() ?? "";
  for (const line of lines) {
    const match = /(fuzz|oracle: \w+)\b.*?cases=(\d+)/.exec(line);
    if (match) counts.set(match[1], Number(match[2]));
  }
});

child.on("close", (code, signal) => {
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const verdict = code === 0 ? "clean" : `FAILED (vitest exited ${signal ?? code})`;
  console.log(`\nfuzz: seed ${seed}, ${minutes} min, cases ${total()}, ${seconds} s wall: ${verdict}`);
  if (code !== 0) console.log(`fuzz: the counterexample is above; replay with: ${replay}`);
  process.exit(code === 0 ? 0 : 1);
});

import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";
import { experimental_readRawConfig } from "wrangler";

/** Test-only secrets: the Worker under test sees these instead of `.dev.vars`. */
export const TEST_BINDINGS = {
  EXTEND_SIGNING_SECRETS: "wss_test_secret_do_not_use,wss_second_secret",
  ALFRED_WEBHOOK_TOKENS: "alfred-test-token,alfred-other-token",
  ALFRED_COMPANY_IDS: "",
  // Standard Webhooks secrets are `whsec_` + base64 of the key: "runledger-test-standard-key" and
  // "runledger-other-standard-key".
  STANDARD_WEBHOOK_SECRETS:
    "whsec_cnVubGVkZ2VyLXRlc3Qtc3RhbmRhcmQta2V5,whsec_cnVubGVkZ2VyLW90aGVyLXN0YW5kYXJkLWtleQ==",
  SIGNATURE_TOLERANCE_SECONDS: "300",
  MAX_BODY_BYTES: "5242880",
};

/**
 * The Worker's own wrangler config, copied into a folder of its own for the tests: wrangler loads
 * (and announces) the `.dev.vars` beside a config, and the tests use their own secrets, never the
 * developer's. Paths in it are made absolute so it means the same thing from there.
 */
function testWranglerConfig(): string {
  const root = import.meta.dirname;
  const { rawConfig } = experimental_readRawConfig({ config: path.join(root, "wrangler.jsonc") });
  const { $schema: _schema, ...config } = rawConfig;
  // The projection queue's batches wait up to 1 s to fill in production; tests that read the list
  // right after writing would each wait that long, so the test copy gathers for 50 ms.
  const queues = config.queues && {
    ...config.queues,
    consumers: config.queues.consumers?.map((consumer) => ({ ...consumer, max_batch_timeout: 0.05 })),
  };
  const dir = path.join(root, ".wrangler", "vitest");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "wrangler.json");
  const assets = config.assets && {
    ...config.assets,
    directory: path.join(root, String(config.assets.directory)),
  };
  writeFileSync(
    file,
    JSON.stringify({ ...config, queues, assets, main: path.join(root, String(config.main)) }, null, 2),
  );
  return file;
}

/**
 * `npm run fuzz` (scripts/fuzz.mjs) runs test/fuzz.test.ts and test/oracle.property.test.ts for
 * minutes, from a seed, through these variables; the test reads them as the provided `fuzz` value (workerd has no `process.env`).
 */
function fuzzRun(): { minutes: number; seed: number } | null {
  const minutes = Number(process.env.FUZZ_MINUTES);
  if (!(minutes > 0)) return null;
  const seed = Number(process.env.FUZZ_SEED);
  return { minutes, seed: Number.isInteger(seed) ? seed : 0 };
}

/**
 * Test files that read the whole of a store — the unfiltered jobs list, the quarantine list, the
 * change feed from its start — and hold it to exactly what they wrote. Each runs in a workerd of
 * its own, with empty storage. Every other file runs in one of two shared workerd processes
 * (`isolate: false`), one file after another, on the storage the files before it left: starting a
 * workerd and loading the Worker's modules for each of ~50 files cost ~1.3 s a file. So those
 * files use ids of their own and read what they wrote, never "the whole list".
 */
const ALONE = [
  "test/corpus.test.ts",
  "test/api.list.test.ts",
  "test/changes.test.ts",
  "test/changes.property.test.ts",
  // Reprojection walks every ledger there is: alone, it walks only its own.
  "test/reproject.test.ts",
  // A long poll on every Standard Webhooks job: another file's late projection would answer it.
  "test/stream-limits.test.ts",
];

function workerProject(name: string, files: { isolate: boolean; include?: string[]; exclude?: string[] }) {
  return {
    plugins: [
      cloudflareTest(async () => ({
        wrangler: { configPath: testWranglerConfig() },
        miniflare: {
          bindings: {
            ...TEST_BINDINGS,
            TEST_MIGRATIONS: await readD1Migrations(path.join(import.meta.dirname, "migrations")),
          },
        },
      })),
    ],
    test: {
      name,
      isolate: files.isolate,
      setupFiles: ["./test/setup.ts"],
      provide: { fuzz: fuzzRun() },
      include: files.include ?? ["src/**/*.test.ts", "test/**/*.test.ts"],
      exclude: files.exclude ?? [],
      // Most tests take well under a second; this budget is for a loaded 2-core machine. Storms
      // and property runs set their own, larger budgets.
      testTimeout: 30_000,
      hookTimeout: 30_000,
    },
  };
}

/**
 * The order the test files start in: longest first, whatever their project, so every slot stays
 * busy to the end. Vitest's own order runs the projects one after another and, on a clean clone (no
 * timings cached), each project's largest files first — which left the scripts' two longest files
 * running side by side at the start and one long file alone at the end. Seconds measured on an idle
 * 2-core machine; a file not listed counts as one. Only the order depends on them.
 */
const SECONDS: Record<string, number> = {
  "scripts/console.test.mjs": 18,
  "scripts/token.test.mjs": 14,
  "test/corpus.test.ts": 12,
  "scripts/cli-manners.test.mjs": 10,
  "scripts/deploy.test.mjs": 8,
  "test/projection.test.ts": 7,
  "test/oracle.property.test.ts": 6,
  "scripts/start.test.mjs": 6,
  "test/alfred.events.test.ts": 5,
  "test/api.list.test.ts": 5,
  "test/stats.test.ts": 5,
  "test/changes.property.test.ts": 4,
  "scripts/cli.test.mjs": 4,
  "test/alfred.lifecycle.test.ts": 3,
  "test/extend.error.test.ts": 3,
  "test/robustness.test.ts": 3,
  "test/reproject.test.ts": 2,
  "test/shuffles.test.ts": 2,
  "test/changes.test.ts": 2,
};

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const ordered = await super.sort(files);
    const seconds = (file: TestSpecification) =>
      SECONDS[path.relative(import.meta.dirname, file.moduleId)] ?? 1;
    return ordered
      .map((file, index) => ({ file, index }))
      .sort((a, b) => seconds(b.file) - seconds(a.file) || a.index - b.index)
      .map(({ file }) => file);
  }
}

export default defineConfig({
  test: {
    // The Worker logs one JSON line per delivery, and the failure tests provoke warnings and errors
    // on purpose: the tests assert what a user sees, so keep those lines out of the output unless
    // RUNLEDGER_TEST_LOGS is set.
    onConsoleLog: (log) => process.env.RUNLEDGER_TEST_LOGS !== undefined || !log.startsWith('{"level":'),
    // Three test files at a time on 2 cores. Vitest's default there is one (cores − 1), which ran
    // the whole suite file after file; the `worker` files wait on workerd and the `scripts` files on
    // child processes, so slots idle unless there are more of them than cores, and with another
    // process on the machine more of them get more of its CPU. Measured on clean clones with
    // another process keeping one core busy: 130 s with two, 119–121 s with three; with four, 117 s
    // once and 126 s once (each shared workerd loads every module: more of them cost more CPU).
    maxWorkers: 3,
    sequence: { sequencer: LongestFirst },
    // .ci/run reads the JSON report to print `N passed, N failed`.
    reporters: process.env.VITEST_JSON_REPORT
      ? ["default", ["json", { outputFile: process.env.VITEST_JSON_REPORT }]]
      : ["default"],
    projects: [
      // The Worker, its Durable Objects and D1, inside workerd, in two projects (see below).
      workerProject("worker", { isolate: false, exclude: ALONE }),
      workerProject("worker-alone", { isolate: true, include: ALONE }),
      {
        // The command-line scripts, run as a user runs them, in Node.
        test: {
          name: "scripts",
          // The scripts' files share their Node workers (their modules hold no state between files;
          // each test runs the commands as child processes): ~3 s of CPU less than a fork per file.
          isolate: false,
          environment: "node",
          include: ["scripts/**/*.test.mjs"],
          // The two `npm start` dev servers start.test.mjs and console.test.mjs share, started once
          // (on their first request) instead of three times.
          globalSetup: ["./scripts/dev-servers.setup.mjs"],
          testTimeout: 60_000,
        },
      },
    ],
  },
});

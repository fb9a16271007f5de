import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

/** Test-only secrets: the Worker under test sees these instead of `.dev.vars`. */
export const TEST_BINDINGS = {
  EXTEND_SIGNING_SECRETS: "wss_test_secret_do_not_use,wss_second_secret",
  ALFRED_WEBHOOK_TOKENS: "alfred-test-token,alfred-other-token",
  ALFRED_COMPANY_IDS: "",
  SIGNATURE_TOLERANCE_SECONDS: "300",
  MAX_BODY_BYTES: "5242880",
};

export default defineConfig({
  test: {
    // The Worker logs one JSON line per delivery; keep test output to warnings and errors.
    onConsoleLog: (log) => !log.startsWith('{"level":"info"'),
    // .ci/run reads the JSON report to print `N passed, N failed`.
    reporters: process.env.VITEST_JSON_REPORT
      ? ["default", ["json", { outputFile: process.env.VITEST_JSON_REPORT }]]
      : ["default"],
    projects: [
      {
        // The Worker, its Durable Objects and D1, inside workerd.
        plugins: [
          cloudflareTest(async () => ({
            wrangler: { configPath: "./wrangler.jsonc" },
            miniflare: {
              bindings: {
                ...TEST_BINDINGS,
                TEST_MIGRATIONS: await readD1Migrations(path.join(import.meta.dirname, "migrations")),
              },
            },
          })),
        ],
        test: {
          name: "worker",
          setupFiles: ["./test/setup.ts"],
          include: ["src/**/*.test.ts", "test/**/*.test.ts"],
        },
      },
      {
        // The command-line scripts, run as a user runs them, in Node.
        test: {
          name: "scripts",
          environment: "node",
          include: ["scripts/**/*.test.mjs"],
          testTimeout: 60_000,
        },
      },
    ],
  },
});

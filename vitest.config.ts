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
    setupFiles: ["./test/setup.ts"],
    // The Worker logs one JSON line per delivery; keep test output to warnings and errors.
    onConsoleLog: (log) => !log.startsWith('{"level":"info"'),
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // .ci/run reads the JSON report to print `N passed, N failed`.
    reporters: process.env.VITEST_JSON_REPORT
      ? ["default", ["json", { outputFile: process.env.VITEST_JSON_REPORT }]]
      : ["default"],
  },
});

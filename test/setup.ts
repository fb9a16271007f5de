import { applyD1Migrations, env } from "cloudflare:test";

// Before each test file: the D1 schema (a no-op when a file before it in the same workerd applied
// it already; see ALONE in vitest.config.ts for which files share storage).
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS ?? []);

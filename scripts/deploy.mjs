#!/usr/bin/env node
// `npm run deploy [-- wrangler deploy options]`: applies pending D1 migrations to the deployed
// database, then `wrangler deploy`. With `--dry-run` it only builds the bundle (offline, no
// account): nothing is migrated or uploaded. One-time setup is in the README ("Deploy").
import { applyMigrations, runWrangler } from "./lib.mjs";

const forwarded = process.argv.slice(2);
try {
  // `--dry-run` in any form (`--dry-run=true` too) must never reach the remote migrations.
  if (forwarded.some((arg) => arg === "--dry-run" || arg.startsWith("--dry-run="))) {
    runWrangler(["deploy", ...forwarded]);
  } else {
    applyMigrations("--remote");
    runWrangler(["deploy", ...forwarded]);
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}

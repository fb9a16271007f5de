#!/usr/bin/env node
// `npm run deploy [-- wrangler deploy options]`: applies pending D1 migrations to the deployed
// database, then `wrangler deploy`. With `--dry-run` it only builds the bundle (offline, no
// account): nothing is migrated or uploaded. One-time setup is in the README ("Deploy").
import { applyMigrations, runWrangler } from "./lib.mjs";

const USAGE = `Usage: npm run deploy [-- wrangler deploy options]
  Applies pending D1 migrations to the deployed database, then runs \`wrangler deploy\` with the
  options given. --dry-run only builds the bundle (offline, no account; nothing is migrated).
  The options are wrangler's: \`npx wrangler deploy --help\` lists them.`;

const forwarded = process.argv.slice(2);
if (forwarded.includes("--help") || forwarded.includes("-h")) {
  console.log(USAGE);
  process.exit(0);
}

/**
 * Runs wrangler (its output shown if `show`); an option it does not know is a usage error (exit 2),
 * any other failure exit 1 with wrangler's output.
 */
function wrangler(args, { show }) {
  try {
    const output = runWrangler(args, { quiet: true, silent: true });
    if (show) process.stdout.write(output);
  } catch (error) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: wrangler colours its errors (ANSI)
    const output = (error.output ?? "").replace(/\u001b\[[0-9;]*m/g, "");
    const unknown = /Unknown arguments?: ([^\n]+)/.exec(output);
    if (unknown) {
      console.error(`Unknown option for wrangler deploy: ${unknown[1].trim()}\n\n${USAGE}`);
      process.exit(2);
    }
    process.stderr.write(output);
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}

// `--dry-run` in any form (`--dry-run=true` too) must never reach the remote migrations.
if (forwarded.some((arg) => arg === "--dry-run" || arg.startsWith("--dry-run="))) {
  wrangler(["deploy", ...forwarded], { show: true });
} else {
  // Build first with the same options: a mistyped option or a build error stops here, before the
  // deployed database is migrated for a Worker that would not deploy.
  wrangler(["deploy", "--dry-run", ...forwarded], { show: false });
  try {
    applyMigrations("--remote");
    runWrangler(["deploy", ...forwarded]);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}

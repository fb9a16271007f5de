#!/usr/bin/env node
// `npm run screenshots`: starts a throwaway dev server, fills it with a few realistic jobs (a late
// delivery, a repeat, a failure, an Alfred job with a file, a configuration resource, a quarantined
// body, refused deliveries), and writes the console at 1280×800 to docs/console/ with headless Debian
// Chromium: the overview (`/`), a job with its waterfall, the quarantine, and the overview and the
// job in the dark theme.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, HAVE_CHROMIUM } from "./browser.mjs";
import { usageError } from "./cli.mjs";
import { startDevServer } from "./dev-server.mjs";
import { signExtendBody } from "./extend-signature.mjs";
import { ROOT } from "./lib.mjs";

const SHOTS = ["overview", "job", "quarantine", "overview-dark", "job-dark"];
const SCREENSHOTS_USAGE = `usage: npm run screenshots   (writes docs/console/{${SHOTS.join(",")}}.png)`;
if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(SCREENSHOTS_USAGE);
  process.exit(0);
}
if (process.argv.length > 2) {
  const arg = process.argv[2];
  const what = arg.startsWith("-") ? "unknown option" : "unexpected argument";
  usageError("screenshots", `${what} ${arg}: it takes none`, "npm run screenshots -- --help");
}
if (!HAVE_CHROMIUM) {
  console.error(`No Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH.`);
  process.exit(1);
}

const out = path.join(ROOT, "docs", "console");
const state = mkdtempSync(path.join(tmpdir(), "runledger-shots-"));
const envFile = path.join(state, "shots.env");
const SECRET = "wss_screenshots";
const ALFRED = "shots-token";
writeFileSync(
  envFile,
  `EXTEND_SIGNING_SECRETS=${SECRET}\nALFRED_WEBHOOK_TOKENS=${ALFRED}\nALFRED_COMPANY_IDS=\n`,
);
const server = await startDevServer({ state, envFile });
const base = server.base;

async function extend(body) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const timestamp = String(Math.floor(Date.now() / 1000));
  await fetch(`${base}/webhooks/extend`, {
    method: "POST",
    headers: {
      "x-extend-request-timestamp": timestamp,
      "x-extend-request-signature": await signExtendBody(SECRET, timestamp, text),
    },
    body: text,
  });
}

/** A delivery signed with a wrong secret: refused (401), counted in the overview, stored nowhere. */
async function forged(body) {
  const text = JSON.stringify(body);
  const timestamp = String(Math.floor(Date.now() / 1000));
  await fetch(`${base}/webhooks/extend`, {
    method: "POST",
    headers: {
      "x-extend-request-timestamp": timestamp,
      "x-extend-request-signature": await signExtendBody("wss_not_the_secret", timestamp, text),
    },
    body: text,
  });
}

async function alfred(body) {
  await fetch(`${base}/webhooks/alfred/${ALFRED}`, { method: "POST", body: JSON.stringify(body) });
}

/** Minute `minute` of a story that started ten minutes ago (so the console's times read "3 min ago"). */
const STORY = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
const at = (minute) => new Date(STORY + minute * 60_000).toISOString();

try {
  const created = spawnSync(
    process.execPath,
    [path.join(ROOT, "scripts", "token.mjs"), "create", "--name", "screenshots", "--persist-to", state],
    { cwd: ROOT, encoding: "utf8" },
  );
  const token = created.stdout.trimEnd().split("\n").at(-1);

  const run = "wr_invoice_batch_7";
  const step = (id, minute) => ({
    eventId: `evt_${id}`,
    eventType: "workflow_run.step_run.processed",
    payload: {
      object: "workflow_step_run",
      id,
      workflowRunId: run,
      updatedAt: at(minute),
      step: { name: id },
    },
  });
  await extend({
    eventId: "evt_wr_start",
    eventType: "workflow_run.step_run.processed",
    payload: step("wsr_classify", 1).payload,
  });
  await extend(step("wsr_extract", 4));
  await extend(step("wsr_split", 2)); // arrives after a later step: late
  await extend({
    eventId: "evt_wr_review",
    eventType: "workflow_run.needs_review",
    payload: {
      object: "workflow_run",
      id: run,
      status: "NEEDS_REVIEW",
      name: "Invoice intake",
      updatedAt: at(6),
    },
  });
  await extend({
    eventId: "evt_wr_review",
    eventType: "workflow_run.needs_review",
    payload: {
      object: "workflow_run",
      id: run,
      status: "NEEDS_REVIEW",
      name: "Invoice intake",
      updatedAt: at(6),
    },
  });
  await extend({
    eventId: "evt_exr_fail",
    eventType: "extract_run.failed",
    payload: {
      object: "extract_run",
      id: "exr_receipt_42",
      status: "FAILED",
      failureReason: "PARSING_ERROR",
      failureMessage: "The document could not be parsed: page 3 is unreadable.",
      updatedAt: at(8),
    },
  });
  await extend({
    eventId: "evt_clr_ok",
    eventType: "classify_run.processed",
    payload: { object: "classify_run", id: "clr_contract_9", status: "PROCESSED", updatedAt: at(9) },
  });
  const job = (name, minute, extra = {}) =>
    alfred({
      event_id: `al_${name}_${minute}`,
      event_type: "job_event_type",
      event_time: String(Date.parse(at(minute)) / 1000),
      event: {
        event_name: name,
        job_id: "job-7f3a",
        company_id: "acme",
        company_name: "Acme Corp",
        ...extra,
      },
    });
  await job("job_create_event", 3);
  await job("job_start_event", 3);
  await job("job_stage_update_event", 5, { stage: "ocr" });
  await alfred({
    event_id: "al_file_add",
    event_type: "file_event_type",
    event_time: String(Date.parse(at(5)) / 1000),
    event: {
      event_name: "file_added_to_job_event",
      file_id: "file-19c",
      job_id: "job-7f3a",
      file_name: "scan.pdf",
    },
  });
  await extend({
    eventId: "evt_cl_created",
    eventType: "classifier.created",
    payload: { object: "classifier", id: "cl_invoice_types", name: "Invoice types", updatedAt: at(2) },
  });
  await extend('{ "eventId": "evt_truncated", "eventType": "extract_run.proce');
  for (let n = 0; n < 3; n++)
    await forged({ eventId: `evt_forged_${n}`, eventType: "extract_run.processed" });

  // Let the projection reach D1 before the list is shot.
  for (let until = Date.now() + 20_000; Date.now() < until; ) {
    const page = await (
      await fetch(`${base}/v1/jobs`, { headers: { authorization: `Bearer ${token}` } })
    ).json();
    if (page.data.length >= 5) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  mkdirSync(out, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("pageerror", (error) => console.error(`error in the page: ${error.message}`));
  const jobPage = `${base}/jobs/${encodeURIComponent(`extend:workflow_run:${run}`)}`;
  /** The overview with its counts (or the note of a server without GET /v1/stats) and the list. */
  const overview = async (name) => {
    await page.goto(`${base}/?window=1h`);
    await page.locator("tr[data-job-key]").first().waitFor();
    await page.locator(".counts li, .overview p.muted:not([hidden])").first().waitFor();
    await page.screenshot({ path: path.join(out, `${name}.png`) });
  };
  const jobView = async (name) => {
    await page.goto(jobPage);
    await page.locator("button.entry").nth(3).waitFor();
    await page.locator('button.entry[data-event-id="evt_wr_review"]').click();
    await page.getByLabel("Raw body of evt_wr_review").waitFor();
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(out, `${name}.png`) });
  };
  await page.goto(`${base}/#token=${encodeURIComponent(token)}`);
  await overview("overview");
  await jobView("job");
  await page.goto(`${base}/quarantine`);
  await page.locator("tr[data-quarantine-id]").first().waitFor();
  await page.screenshot({ path: path.join(out, "quarantine.png") });
  await page.emulateMedia({ colorScheme: "dark" });
  await overview("overview-dark");
  await jobView("job-dark");
  await browser.close();
  console.log(`Wrote ${SHOTS.map((name) => `docs/console/${name}.png`).join(", ")}`);
} finally {
  await server.stop();
  rmSync(state, { recursive: true, force: true });
}

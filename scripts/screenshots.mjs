#!/usr/bin/env node
// `npm run screenshots`: starts a throwaway dev server, fills it with a few realistic jobs (a late
// delivery, a repeat, a failure, an Alfred job with a file, a quarantined body), and writes the
// console's three views at 1280×800 to docs/console/ with headless Debian Chromium.
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

const SCREENSHOTS_USAGE = "usage: npm run screenshots   (writes docs/console/{jobs,job,quarantine}.png)";
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

async function alfred(body) {
  await fetch(`${base}/webhooks/alfred/${ALFRED}`, { method: "POST", body: JSON.stringify(body) });
}

const at = (minute) => `2026-11-27T09:${String(minute).padStart(2, "0")}:00Z`;

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
  await extend('{ "eventId": "evt_truncated", "eventType": "extract_run.proce');

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
  await page.goto(`${base}/#token=${encodeURIComponent(token)}`);
  await page.locator("tr[data-job-key]").first().waitFor();
  await page.screenshot({ path: path.join(out, "jobs.png") });
  await page.goto(`${base}/jobs/${encodeURIComponent(`extend:workflow_run:${run}`)}`);
  await page.locator("button.entry").nth(3).waitFor();
  await page.locator('button.entry[data-event-id="evt_wr_review"]').click();
  await page.locator(".raw pre").waitFor();
  await page.screenshot({ path: path.join(out, "job.png") });
  await page.goto(`${base}/quarantine`);
  await page.locator("tr[data-quarantine-id]").first().waitFor();
  await page.screenshot({ path: path.join(out, "quarantine.png") });
  await browser.close();
  console.log(`Wrote ${["jobs", "job", "quarantine"].map((name) => `docs/console/${name}.png`).join(", ")}`);
} finally {
  await server.stop();
  rmSync(state, { recursive: true, force: true });
}

// The console in a real browser (CONTRACT §8): headless Chromium from Debian's `chromium` package,
// driven by playwright-core, against `npm start`'s dev server (the second of the run's two,
// dev-servers.setup.mjs; start.test.mjs only checks that it answers). Nothing downloads a browser;
// where Chromium is missing the tests say so loudly and are skipped (.ci/run installs it).
// The dev server may hold other files' jobs: each test uses ids of its own and asserts on those.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, CHROMIUM_ARGS, HAVE_CHROMIUM } from "./browser.mjs";
import { runScript, spawnNode } from "./dev-server.mjs";
import { devServers, SECRETS } from "./dev-servers.setup.mjs";
import { signExtendBody } from "./extend-signature.mjs";
import { ROOT } from "./lib.mjs";

if (!HAVE_CHROMIUM) {
  console.warn(
    `\n*** console browser tests SKIPPED: no Chromium at ${CHROMIUM}. Install Debian's package ` +
      "(apt-get install -y chromium, as .ci/run does) or set CHROMIUM_PATH. ***\n",
  );
}

const SECRET = SECRETS.EXTEND_SIGNING_SECRETS;
/** Waits for a condition on a loaded machine: generous, never a fixed sleep. */
const LIMIT_MS = 20_000;

/** axe-core, injected into the page under test (the page's CSP does not apply to DevTools). */
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
/** This run's ids: the dev server outlives no run, but other files may use it too. */
const RUN = Math.random().toString(36).slice(2, 8);

let base;
let browser;
let token;
let adminToken;

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  // The browser starts while the dev server does (or is asked for); the token is made once the
  // server has migrated its state (it answers only then).
  const [started, launched] = await Promise.allSettled([
    devServers().then(async ({ second }) => {
      if (second.error !== undefined) throw new Error(`npm start did not come up: ${second.error}`);
      base = second.base;
      const create = async (...extra) => {
        const created = await runScript("token.mjs", [
          "create",
          "--name",
          "console-test",
          "--persist-to",
          second.state,
          ...extra,
        ]);
        expect(created.status, created.stderr).toBe(0);
        return created.stdout.trimEnd().split("\n").at(-1);
      };
      token = await create();
      adminToken = await create("--name", "console-admin", "--admin");
    }),
    chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }).then((up) => {
      browser = up;
    }),
  ]);
  for (const outcome of [started, launched]) if (outcome.status === "rejected") throw outcome.reason;
}, 120_000);

afterAll(async () => {
  await browser?.close();
}, 30_000);

/** Delivers a signed Extend event to the dev server. */
async function deliver(body) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const response = await fetch(`${base}/webhooks/extend`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-extend-request-timestamp": timestamp,
      "x-extend-request-signature": await signExtendBody(SECRET, timestamp, text),
    },
    body: text,
  });
  expect([200, 202]).toContain(response.status);
  return response.json();
}

const run = (id, type, minute, eventId, updatedAt) => ({
  eventId: eventId ?? `evt_${id}_${minute}_${type}`,
  eventType: type,
  payload: {
    object: "extract_run",
    id,
    name: `${id}.pdf`,
    updatedAt: updatedAt ?? `2026-09-01T10:${String(minute).padStart(2, "0")}:00Z`,
    ...(type.endsWith(".failed")
      ? { failureReason: "PARSING_ERROR", failureMessage: "page 3 unreadable" }
      : {}),
  },
});

/** The serious and critical accessibility violations axe finds in the page as it is. */
async function axeViolations(page) {
  await page.evaluate(AXE);
  // The WCAG 2.0/2.1 A and AA rules (axe's "best-practice" rules aside); details kept for the
  // violations only, which is most of axe's time on a page this size.
  const results = await page.evaluate(() =>
    globalThis.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
      resultTypes: ["violations"],
    }),
  );
  // A check that checked nothing would pass: axe must have run its rules on this page.
  expect(results.passes.length).toBeGreaterThan(10);
  return results.violations
    .filter((violation) => ["serious", "critical"].includes(violation.impact))
    .map(
      (violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`,
    );
}

/** A fresh browser context (its own sessionStorage) whose request URLs are all recorded. */
async function openPage(viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const urls = [];
  page.on("request", (request) => urls.push(request.url()));
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  return { context, page, urls, errors };
}

describe.skipIf(!HAVE_CHROMIUM)("console in Chromium", () => {
  it("signs in from /#token=…, keeps the token in sessionStorage, removes it from the address bar, never sends it in a URL", async () => {
    const { context, page, urls, errors } = await openPage();
    try {
      await page.goto(`${base}/#token=${encodeURIComponent(token)}`);
      await page.getByRole("heading", { name: "Jobs" }).waitFor({ timeout: LIMIT_MS });
      expect(new URL(page.url()).hash).toBe("");
      expect(await page.evaluate(() => sessionStorage.getItem("runledger.token"))).toBe(token);
      await page.goto(`${base}/quarantine`);
      await page.getByRole("heading", { name: "Quarantine" }).waitFor({ timeout: LIMIT_MS });
      expect(urls.length).toBeGreaterThan(3);
      expect(urls.filter((url) => url.includes(token) || url.includes(encodeURIComponent(token)))).toEqual(
        [],
      );
      expect(errors, "errors in the page").toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("asks for a token without one, and signs in with the field", async () => {
    const { context, page, errors } = await openPage();
    try {
      await page.goto(`${base}/`);
      await page.getByLabel("Read token").fill(token);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("heading", { name: "Jobs" }).waitFor({ timeout: LIMIT_MS });
      // Signed in for the tab: another page needs no token; signing out forgets it.
      await page.goto(`${base}/quarantine`);
      await page.getByRole("heading", { name: "Quarantine" }).waitFor({ timeout: LIMIT_MS });
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByLabel("Read token").fill("rl_wrong");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("alert").filter({ hasText: "refused" }).waitFor({ timeout: LIMIT_MS });
      expect(errors, "errors in the page").toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("the jobs list: a new job without a reload, status as text, failure reason, relative times with ISO on hover, runs apart from resources, phone width", async () => {
    const first = `exr_console_first_${RUN}`;
    const fresh = `exr_console_new_${RUN}`;
    const classifier = `cl_console_${RUN}`;
    // Three minutes ago, so its time reads "3 min ago".
    const threeMinutesAgo = new Date(Date.now() - 3 * 60_000 - 10_000).toISOString();
    await deliver(run(first, "extract_run.processed", 1, undefined, threeMinutesAgo));
    await deliver({
      eventId: `evt_${classifier}`,
      eventType: "classifier.created",
      payload: { object: "classifier", id: classifier, name: "Invoice types" },
    });
    const { context, page, errors } = await openPage();
    try {
      await page.goto(`${base}/#token=${encodeURIComponent(token)}`);
      const firstRow = page.locator(`tr[data-job-key="extend:extract_run:${first}"]`);
      await firstRow.waitFor({ timeout: LIMIT_MS });
      await page.getByText("Loading…").waitFor({ state: "detached", timeout: LIMIT_MS });
      // Relative, in words; the exact ISO time on hover and for machines; on one line.
      const time = firstRow.locator("time");
      expect(await time.textContent()).toBe("3 min ago");
      const iso = await time.getAttribute("datetime");
      expect(iso).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(await time.getAttribute("title")).toMatch(new RegExp(`^${iso.replace(/\./g, "\\.")} \\(`));
      // Measured in the page in one step: the list re-renders as it polls, and a box read between
      // finding the element and measuring it could be of one that has just been replaced.
      expect(await time.evaluate((element) => element.getBoundingClientRect().height)).toBeLessThan(30);
      // Runs by default: the configuration resource is one click away.
      expect(await page.locator(`tr[data-job-key="extend:classifier:${classifier}"]`).count()).toBe(0);

      const loads = [];
      page.on("load", () => loads.push(page.url()));
      // A new job, delivered while the page is open.
      await deliver(run(fresh, "extract_run.failed", 2));
      const row = page.locator(`tr[data-job-key="extend:extract_run:${fresh}"]`);
      await row.waitFor({ timeout: LIMIT_MS });
      expect(await row.locator(".status").textContent()).toBe("failed");
      expect(await row.locator("td.failure-reason").textContent()).toBe("PARSING_ERROR");
      expect(
        await row.getByRole("button", { name: `Copy job key extend:extract_run:${fresh}` }).count(),
      ).toBe(1);
      expect(loads).toEqual([]);

      // At phone width the rows are cards: a key is never squeezed to a character per line.
      await page.setViewportSize({ width: 390, height: 844 });
      const key = row.locator("a.key");
      expect(await key.evaluate((element) => element.getBoundingClientRect().width)).toBeGreaterThan(200);
      await page.setViewportSize({ width: 1280, height: 800 });

      // Filters: failed jobs only.
      await page.locator("#f-status").selectOption("failed");
      await page.getByRole("button", { name: "Apply" }).click();
      await row.waitFor({ timeout: LIMIT_MS });
      expect(await firstRow.count()).toBe(0);
      // Configuration resources: one click.
      await page.getByRole("link", { name: "Configuration resources" }).click();
      await page.locator("#f-status").selectOption("");
      await page.getByRole("button", { name: "Apply" }).click();
      await page.locator(`tr[data-job-key="extend:classifier:${classifier}"]`).waitFor({ timeout: LIMIT_MS });
      expect(await page.locator(`tr[data-job-key="extend:extract_run:${fresh}"]`).count()).toBe(0);
      expect(errors, "errors in the page").toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("the job view: timeline in history order, a late marker, time since the previous entry, delays, each delivery's time, the waterfall, a raw body, curl this, and a new delivery without a reload", async () => {
    const id = `exr_console_job_${RUN}`;
    const jobKey = `extend:extract_run:${id}`;
    // 10:05 arrives first, then the older 10:01: the older one is "late". The 10:01 one is sent twice.
    await deliver(run(id, "extract_run.failed", 5, "evt_cj_late_after"));
    await deliver(run(id, "extract_run.processed", 1, "evt_cj_early"));
    await deliver(run(id, "extract_run.processed", 1, "evt_cj_early"));
    const { context, page, errors } = await openPage({ width: 390, height: 844 });
    try {
      await page.goto(`${base}/#token=${encodeURIComponent(token)}`);
      await page.getByRole("heading", { name: "Jobs" }).waitFor({ timeout: LIMIT_MS });
      await page.goto(`${base}/jobs/${encodeURIComponent(jobKey)}`);
      await page.getByRole("heading", { name: jobKey }).waitFor({ timeout: LIMIT_MS });
      const entries = page.locator("button.entry");
      await expect.poll(() => entries.count(), { timeout: LIMIT_MS }).toBe(2);
      expect(await entries.evaluateAll((items) => items.map((item) => item.dataset.eventId))).toEqual([
        "evt_cj_early",
        "evt_cj_late_after",
      ]);
      expect(await page.locator('section[aria-labelledby="job-title"]').textContent()).not.toMatch(
        /null|undefined/,
      );
      expect(await entries.nth(0).locator(".badge.late").textContent()).toBe("late");
      expect(await entries.nth(1).locator(".badge.late").count()).toBe(0);
      // Time since the previous entry, and each delivery's delay (receivedAt − occurredAt).
      expect(await entries.nth(0).locator(".since").textContent()).toBe("first event");
      expect(await entries.nth(1).locator(".since").textContent()).toBe("+4 min after the previous");
      expect(await entries.nth(1).locator(".delay").textContent()).toMatch(/^delay \d+ d( \d+ h)?$/);
      // Each delivery with its receipt time, the ISO time on hover.
      const deliveries = page.locator("ol.timeline li").nth(0).locator("p.deliveries");
      expect(await deliveries.textContent()).toMatch(/^2 deliveries, received /);
      const receipts = await deliveries
        .locator("time")
        .evaluateAll((times) => times.map((time) => [time.dateTime, time.title]));
      expect(receipts).toHaveLength(2);
      for (const [datetime, title] of receipts) expect(title).toBe(datetime);
      // The waterfall: one row per entry, from the first event to the last, the late one marked.
      const rows = page.locator("ol.waterfall li");
      expect(await rows.evaluateAll((items) => items.map((item) => item.dataset.eventId))).toEqual([
        "evt_cj_early",
        "evt_cj_late_after",
      ]);
      expect(await rows.nth(0).getAttribute("class")).toBe("late");
      expect(await rows.nth(0).textContent()).toContain("late");
      expect(await rows.nth(1).textContent()).toContain("+4 min");

      // The raw body, pretty-printed, from the keyboard.
      await entries.nth(0).focus();
      await page.keyboard.press("Enter");
      const raw = page.getByLabel("Raw body of evt_cj_early", { exact: true });
      await raw.waitFor({ timeout: LIMIT_MS });
      expect(JSON.parse(await raw.textContent())).toMatchObject({ eventId: "evt_cj_early" });
      expect(await raw.textContent()).toContain('\n  "eventType": "extract_run.processed"');
      expect(await page.getByRole("button", { name: "Copy event id evt_cj_early" }).count()).toBe(1);

      // curl this: the job, without the token unless asked for.
      await page.getByText("curl this job").click();
      const curl = page.getByLabel("curl command for job", { exact: true });
      expect(await curl.textContent()).toContain('"authorization: Bearer $RUNLEDGER_TOKEN"');
      expect(await curl.textContent()).toContain(`/v1/jobs/${encodeURIComponent(jobKey)}'`);
      await page.locator(".curl-this").first().getByLabel("write my token into the command").check();
      expect(await curl.textContent()).toContain(`Bearer ${token}"`);

      // A new delivery shows up without a reload.
      await page.locator("#live").filter({ hasText: "live" }).waitFor({ timeout: LIMIT_MS });
      await deliver(run(id, "extract_run.processed", 9, "evt_cj_new"));
      await expect.poll(() => entries.count(), { timeout: LIMIT_MS }).toBe(3);
      expect(await entries.nth(2).getAttribute("data-event-id")).toBe("evt_cj_new");
      expect(await page.locator(".status").first().textContent()).toBe("succeeded");
      expect(await page.locator("ol.waterfall li").count()).toBe(3);
      expect(errors, "errors in the page").toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("the quarantine view lists deliveries that could not be parsed, with reasons and the body; Retry only for an admin token", async () => {
    const answer = await deliver(`{ this is not json ${RUN}`);
    expect(answer.quarantined).toBe(true);
    const { context, page, errors } = await openPage();
    try {
      await page.goto(`${base}/#token=${encodeURIComponent(token)}`);
      await page.getByRole("heading", { name: "Jobs" }).waitFor({ timeout: LIMIT_MS });
      await page.getByRole("link", { name: "Quarantine", exact: true }).click();
      const row = page.locator(`tr[data-quarantine-id="${answer.quarantineId}"]`);
      await row.waitFor({ timeout: LIMIT_MS });
      expect(await row.textContent()).toContain("not valid JSON");
      expect(await row.textContent()).toContain("extend");
      await row.getByRole("button", { name: "Show body" }).click();
      await row.locator("pre").filter({ hasText: "{ this is not json" }).waitFor({ timeout: LIMIT_MS });
      // A read token is not offered Retry, and is told why.
      await page.getByText("Retrying a delivery needs an admin token").waitFor({ timeout: LIMIT_MS });
      expect(await row.getByRole("button", { name: "Retry" }).count()).toBe(0);
      expect(await page.locator("#whoami").textContent()).toBe("console-test · read-only");

      // An admin token is offered Retry, and sees the server's answer.
      await page.evaluate(() => sessionStorage.clear());
      await page.goto(`${base}/#token=${encodeURIComponent(adminToken)}`);
      await page.getByRole("heading", { name: "Jobs" }).waitFor({ timeout: LIMIT_MS });
      await page.goto(`${base}/quarantine`);
      await row.getByRole("button", { name: "Retry" }).click();
      await row.getByRole("status").filter({ hasText: /JSON/ }).waitFor({ timeout: LIMIT_MS });
      expect(errors, "errors in the page").toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("the overview: counts by status agree with the list, a count filters the list, a new delivery updates counts and chart", async () => {
    const failedKey = (n) => `extend:extract_run:exr_console_overview_${RUN}_${n}`;
    await deliver(run(`exr_console_overview_${RUN}_1`, "extract_run.failed", 3));
    // The list's count of failed jobs, walked page by page, once the new job is in it.
    const listed = async (status) => {
      const keys = [];
      let cursor = null;
      do {
        const query = new URLSearchParams({ status, limit: "200" });
        if (cursor) query.set("cursor", cursor);
        const page = await (
          await fetch(`${base}/v1/jobs?${query}`, { headers: { authorization: `Bearer ${token}` } })
        ).json();
        keys.push(...page.data.map((job) => job.jobKey));
        cursor = page.nextCursor;
      } while (cursor);
      return keys;
    };
    await expect
      .poll(async () => (await listed("failed")).includes(failedKey(1)), { timeout: LIMIT_MS })
      .toBe(true);
    const { context, page, errors } = await openPage();
    try {
      await page.goto(`${base}/?window=1h#token=${encodeURIComponent(token)}`);
      const count = (status) => page.locator(`a.count[data-count="${status}"] .count-n`);
      await count("failed").waitFor({ timeout: LIMIT_MS });
      // Each count equals what the list holds for that status (both follow D1 within 2 s).
      for (const status of ["failed", "succeeded"]) {
        const expected = (await listed(status)).length;
        await expect
          .poll(async () => Number(await count(status).textContent()), { timeout: LIMIT_MS })
          .toBe(expected);
      }
      const accepted = page.locator('[data-total="accepted"]');
      const acceptedBefore = Number(await accepted.textContent());
      const failedBefore = Number(await count("failed").textContent());
      expect(await page.locator("svg.deliveries g.bucket").count()).toBe(60);

      // A new delivery: once D1 has it, the counts and the chart follow without a reload (the page
      // polls every 2 s and on each change; §8 asks for 5 s — the limit here is for a loaded machine).
      await deliver(run(`exr_console_overview_${RUN}_2`, "extract_run.failed", 4));
      await expect
        .poll(async () => (await listed("failed")).includes(failedKey(2)), { timeout: LIMIT_MS })
        .toBe(true);
      await expect
        .poll(async () => Number(await count("failed").textContent()), { timeout: LIMIT_MS })
        .toBe(failedBefore + 1);
      await expect
        .poll(async () => Number(await accepted.textContent()), { timeout: LIMIT_MS })
        .toBeGreaterThan(acceptedBefore);

      // The count is a link that filters the list to that status.
      await page.locator('a.count[data-count="failed"]').click();
      await page.waitForURL((url) => new URL(url).searchParams.get("status") === "failed", {
        timeout: LIMIT_MS,
      });
      const rows = page.locator("tr[data-job-key]");
      await page.locator(`tr[data-job-key="${failedKey(2)}"]`).waitFor({ timeout: LIMIT_MS });
      const statuses = await rows.locator(".status").allTextContents();
      expect(new Set(statuses)).toEqual(new Set(["failed"]));
      expect(errors, "errors in the page").toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("has no serious or critical accessibility violations (axe-core): the jobs view with its overview and the job view in both themes, the quarantine view dark", async () => {
    const id = `exr_console_axe_${RUN}`;
    await deliver(run(id, "extract_run.failed", 2));
    await deliver(run(id, "extract_run.processed", 1));
    await deliver(`{ not json for axe ${RUN}`);
    const { context, page, errors } = await openPage();
    try {
      const jobsView = async () => {
        await page.goto(`${base}/`);
        await page.locator("tr[data-job-key]").first().waitFor({ timeout: LIMIT_MS });
        await page.locator("svg.deliveries g.bucket").first().waitFor({ timeout: LIMIT_MS });
      };
      await page.goto(`${base}/#token=${encodeURIComponent(token)}`);
      await jobsView();
      expect(await axeViolations(page), "the jobs view and its overview").toEqual([]);
      await page.goto(`${base}/jobs/${encodeURIComponent(`extend:extract_run:${id}`)}`);
      await page.locator("ol.waterfall li").nth(1).waitFor({ timeout: LIMIT_MS });
      await page.locator("button.entry").first().click();
      await page.locator(".raw pre").first().waitFor({ timeout: LIMIT_MS });
      expect(await axeViolations(page), "the job view").toEqual([]);
      await page.emulateMedia({ colorScheme: "dark" });
      expect(await axeViolations(page), "the job view, dark").toEqual([]);
      await page.goto(`${base}/quarantine`);
      await page.locator("tr[data-quarantine-id]").first().waitFor({ timeout: LIMIT_MS });
      expect(await axeViolations(page), "the quarantine view, dark").toEqual([]);
      await jobsView();
      expect(await axeViolations(page), "the jobs view and its overview, dark").toEqual([]);
      expect(errors, "errors in the page").toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("npm run watch on a job with no event yet says so, keeps waiting, and prints its first event", async () => {
    const id = `exr_console_watch_${RUN}`;
    const { child, output } = spawnNode(
      path.join(ROOT, "scripts", "watch.mjs"),
      [`extend:extract_run:${id}`, "--url", base],
      { env: { ...process.env, RUNLEDGER_TOKEN: token } },
    );
    try {
      await expect.poll(() => output.stderr, { timeout: LIMIT_MS }).toContain("has no event yet");
      expect(output.stderr).toContain("waiting for its first one");
      expect(child.exitCode).toBe(null);
      await deliver(run(id, "extract_run.processed", 1));
      await expect
        .poll(() => output.stdout, { timeout: LIMIT_MS })
        .toMatch(/extract_run\.processed\s+succeeded/);
      expect(child.exitCode).toBe(null);
    } finally {
      child.kill();
    }
  });
});

// The console in a real browser (CONTRACT §8): headless Chromium from Debian's `chromium` package,
// driven by playwright-core, against `npm start`'s dev server (the second of the run's two,
// dev-servers.setup.mjs; start.test.mjs only checks that it answers). Nothing downloads a browser;
// where Chromium is missing the tests say so loudly and are skipped (.ci/run installs it).
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, CHROMIUM_ARGS, HAVE_CHROMIUM } from "./browser.mjs";
import { runScript } from "./dev-server.mjs";
import { devServers, SECRETS } from "./dev-servers.setup.mjs";
import { signExtendBody } from "./extend-signature.mjs";

if (!HAVE_CHROMIUM) {
  console.warn(
    `\n*** console browser tests SKIPPED: no Chromium at ${CHROMIUM}. Install Debian's package ` +
      "(apt-get install -y chromium, as .ci/run does) or set CHROMIUM_PATH. ***\n",
  );
}

const SECRET = SECRETS.EXTEND_SIGNING_SECRETS;
/** Waits for a condition on a loaded machine: generous, never a fixed sleep. */
const LIMIT_MS = 20_000;

let base;
let browser;
let token;

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  // The browser starts while the dev server does (or is asked for); the token is made once the
  // server has migrated its state (it answers only then).
  const [started, launched] = await Promise.allSettled([
    devServers().then(async ({ second }) => {
      if (second.error !== undefined) throw new Error(`npm start did not come up: ${second.error}`);
      base = second.base;
      const created = await runScript("token.mjs", [
        "create",
        "--name",
        "console-test",
        "--persist-to",
        second.state,
      ]);
      expect(created.status, created.stderr).toBe(0);
      token = created.stdout.trimEnd().split("\n").at(-1);
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

const run = (id, type, minute, eventId) => ({
  eventId: eventId ?? `evt_${id}_${minute}_${type}`,
  eventType: type,
  payload: {
    object: "extract_run",
    id,
    name: `${id}.pdf`,
    updatedAt: `2026-09-01T10:${String(minute).padStart(2, "0")}:00Z`,
  },
});

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

  it("the jobs list shows a new job without a reload, with its status as text", async () => {
    await deliver(run("exr_console_first", "extract_run.processed", 1));
    const { context, page, errors } = await openPage();
    try {
      await page.goto(`${base}/#token=${encodeURIComponent(token)}`);
      await page
        .locator('tr[data-job-key="extend:extract_run:exr_console_first"]')
        .waitFor({ timeout: LIMIT_MS });
      await page.getByText("Loading…").waitFor({ state: "detached", timeout: LIMIT_MS });
      const loads = [];
      page.on("load", () => loads.push(page.url()));
      // A new job, delivered while the page is open.
      await deliver(run("exr_console_new", "extract_run.failed", 2));
      const row = page.locator('tr[data-job-key="extend:extract_run:exr_console_new"]');
      await row.waitFor({ timeout: LIMIT_MS });
      expect(await row.locator(".status").textContent()).toBe("failed");
      expect(loads).toEqual([]);
      // Filters: failed jobs only.
      await page.getByLabel("Status").selectOption("failed");
      await page.getByRole("button", { name: "Apply" }).click();
      await page
        .locator('tr[data-job-key="extend:extract_run:exr_console_new"]')
        .waitFor({ timeout: LIMIT_MS });
      expect(await page.locator('tr[data-job-key="extend:extract_run:exr_console_first"]').count()).toBe(0);
      expect(errors, "errors in the page").toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("the job view: timeline in history order, a late marker, a raw body, and a new delivery without a reload", async () => {
    const jobKey = "extend:extract_run:exr_console_job";
    // 10:05 arrives first, then the older 10:01: the older one is "late".
    await deliver(run("exr_console_job", "extract_run.failed", 5, "evt_cj_late_after"));
    await deliver(run("exr_console_job", "extract_run.processed", 1, "evt_cj_early"));
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

      // The raw body, pretty-printed, from the keyboard.
      await entries.nth(0).focus();
      await page.keyboard.press("Enter");
      const raw = page.getByLabel("Raw body of evt_cj_early");
      await raw.waitFor({ timeout: LIMIT_MS });
      expect(JSON.parse(await raw.textContent())).toMatchObject({ eventId: "evt_cj_early" });
      expect(await raw.textContent()).toContain('\n  "eventType": "extract_run.processed"');

      // A new delivery shows up without a reload.
      await page.locator("#live").filter({ hasText: "live" }).waitFor({ timeout: LIMIT_MS });
      await deliver(run("exr_console_job", "extract_run.processed", 9, "evt_cj_new"));
      await expect.poll(() => entries.count(), { timeout: LIMIT_MS }).toBe(3);
      expect(await entries.nth(2).getAttribute("data-event-id")).toBe("evt_cj_new");
      expect(await page.locator(".status").first().textContent()).toBe("succeeded");
      expect(errors, "errors in the page").toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("the quarantine view lists deliveries that could not be parsed, with reasons and the body", async () => {
    const answer = await deliver("{ this is not json");
    expect(answer.quarantined).toBe(true);
    const { context, page, errors } = await openPage();
    try {
      await page.goto(`${base}/#token=${encodeURIComponent(token)}`);
      await page.getByRole("heading", { name: "Jobs" }).waitFor({ timeout: LIMIT_MS });
      await page.getByRole("link", { name: "Quarantine" }).click();
      const row = page.locator(`tr[data-quarantine-id="${answer.quarantineId}"]`);
      await row.waitFor({ timeout: LIMIT_MS });
      expect(await row.textContent()).toContain("not valid JSON");
      expect(await row.textContent()).toContain("extend");
      await row.getByRole("button", { name: "Show body" }).click();
      await row.locator("pre").filter({ hasText: "{ this is not json" }).waitFor({ timeout: LIMIT_MS });
      // Retrying is for admin tokens; this one is a read token.
      await row.getByRole("button", { name: "Retry" }).click();
      await row.getByText("Retrying needs an admin token.").waitFor({ timeout: LIMIT_MS });
      expect(errors, "errors in the page").toEqual([]);
    } finally {
      await context.close();
    }
  });
});

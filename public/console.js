/**
 * @module The runledger console (CONTRACT §8): an overview and the jobs, a live job timeline with its
 * waterfall, and the quarantine, built only on the read API (§5–§7, §10) with a read token. The token
 * comes from `/#token=…` or the sign-in form, is kept in this tab's sessionStorage, and only ever
 * travels in an Authorization header — never in a URL sent to the server. Every value from the API
 * is put into the page as text (or as an SVG attribute the script computed).
 */

const TOKEN_KEY = "runledger.token";
const JOB_KEY = /^[^:]+:[^:]+:.+$/;
const SVG = "http://www.w3.org/2000/svg";
/** A list the server put into the page's head (src/console.ts): the statuses, the sources. */
function served(name) {
  const content = document.querySelector(`meta[name="runledger-${name}"]`)?.getAttribute("content") ?? "";
  return content.split(",").filter((item) => item.length > 0);
}
const STATUSES = served("statuses");
const SOURCES = served("sources");
/** How many receipt times the server keeps per event (docs/API.md, "Read API"). */
const RECEIPTS_KEPT = 5;
/** How often the overview asks again for its counts: a new delivery shows within 5 s (§8). */
const OVERVIEW_POLL_MS = 2000;
const WINDOWS = ["1h", "24h", "7d"];

class SignedOut extends Error {}

/** Creates an element: `h("a", { href: "/" }, "text", child)`. Children are text or nodes. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  return fill(element, attributes, children);
}

/** An SVG element, as {@link h}. */
function s(tag, attributes = {}, ...children) {
  return fill(document.createElementNS(SVG, tag), attributes, children);
}

function fill(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "className") element.setAttribute("class", value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const main = () => document.getElementById("main");
const live = (text) => {
  document.getElementById("live").textContent = text;
};

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** `/#token=T` signs in with T, then the fragment leaves the address bar. */
function takeTokenFromFragment() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match === null) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
  history.replaceState(null, "", location.pathname + location.search);
}

/** A read-API call with the bearer token; a refused token signs the tab out. */
async function api(path, init = {}) {
  const response = await fetch(path, {
    ...init,
    headers: { authorization: `Bearer ${token()}`, ...(init.headers ?? {}) },
  });
  if (response.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    renderSignIn("That token was refused (unknown or revoked). Enter another.");
    throw new SignedOut();
  }
  return response;
}

async function apiJson(path, init) {
  const response = await api(path, init);
  const body = await response.json();
  if (!response.ok) throw Object.assign(new Error(body?.error?.message ?? response.statusText), { response });
  return body;
}

/** What the token may do (`GET /v1/me`), asked once per page. */
let me;
function whoAmI() {
  me ??= apiJson("/v1/me").catch((error) => {
    if (error instanceof SignedOut) throw error;
    return { name: null, admin: false, scope: { source: null, companyId: null } };
  });
  return me;
}

function statusBadge(status) {
  const text = status ?? "no status";
  return h("span", { className: `status s-${status ?? "none"}` }, text);
}

function jobHref(jobKey) {
  return `/jobs/${encodeURIComponent(jobKey)}`;
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

// ---- times as people read them --------------------------------------------------------------

/** A span of time in the largest units that say it: "850 ms", "12 s", "3 min 4 s", "2 h 5 min". */
function duration(ms) {
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(abs)} ms`;
  const seconds = Math.round(abs / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 ? `${minutes} min ${seconds % 60} s` : `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
}

const LOCAL_DATE = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const LOCAL_TIME = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });
const LOCAL_FULL = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "long" });

/** "just now", "3 min ago", "in 2 h"; past a week, the date in the reader's time zone. */
function relative(iso, now = Date.now()) {
  const ms = Date.parse(iso);
  const ago = now - ms;
  if (Math.abs(ago) < 5000) return "just now";
  if (Math.abs(ago) > 7 * 86_400_000) return LOCAL_DATE.format(ms);
  const span = duration(ago).replace(/ \d+ (s|min|h)$/, "");
  return ago > 0 ? `${span} ago` : `in ${span}`;
}

/**
 * A time as people read it: relative, in the reader's time zone, the exact ISO time on hover (the
 * `title`) and for machines (`datetime`). Kept current by {@link tickTimes}.
 */
function timeAgo(iso) {
  return h(
    "time",
    { datetime: iso, title: `${iso} (${LOCAL_FULL.format(Date.parse(iso))})`, "data-relative": "" },
    relative(iso),
  );
}

const LOCAL_DAY_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "medium" });

/** A clock time in the reader's time zone (with its date unless today), the ISO time on hover. */
function clock(iso) {
  const ms = Date.parse(iso);
  const today = new Date(ms).toDateString() === new Date().toDateString();
  return h(
    "time",
    { datetime: iso, title: iso, className: "clock" },
    (today ? LOCAL_TIME : LOCAL_DAY_TIME).format(ms),
  );
}

/** Keeps every relative time on the page current. */
function tickTimes() {
  const now = Date.now();
  for (const element of document.querySelectorAll("time[data-relative]")) {
    const text = relative(element.dateTime, now);
    if (element.textContent !== text) element.textContent = text;
  }
}
setInterval(tickTimes, 15_000);

// ---- small things: copy, curl ----------------------------------------------------------------

/** A button that copies `text`, named for what it copies. */
function copyButton(text, what) {
  const button = h(
    "button",
    {
      type: "button",
      className: "copy",
      "aria-label": `Copy ${what}`,
      title: `Copy ${what}`,
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(typeof text === "function" ? text() : text);
          button.textContent = "Copied";
        } catch {
          button.textContent = "Copy failed";
        }
        setTimeout(() => {
          button.textContent = "Copy";
        }, 1500);
      },
    },
    "Copy",
  );
  return button;
}

/**
 * "curl this": the command that fetches `path` from this server, with `$RUNLEDGER_TOKEN` in place
 * of the token unless the reader asks for it to be written in.
 */
function curlThis(path, what) {
  const command = (withToken) =>
    `curl -sS '${location.origin}${path.replaceAll("'", "%27")}' -H "authorization: Bearer ${withToken ? token() : "$RUNLEDGER_TOKEN"}"`;
  const pre = h("pre", { className: "curl", tabindex: "0", "aria-label": `curl command for ${what}` });
  const include = h("input", { type: "checkbox" });
  const show = () => {
    pre.textContent = command(include.checked);
  };
  include.addEventListener("change", show);
  show();
  return h(
    "details",
    { className: "curl-this" },
    h("summary", {}, `curl this ${what}`),
    pre,
    h(
      "div",
      { className: "row" },
      copyButton(() => pre.textContent, `curl command for ${what}`),
      h("label", { className: "inline" }, include, "write my token into the command"),
    ),
  );
}

// ---- sign-in ---------------------------------------------------------------------------------

function renderSignIn(message) {
  me = undefined;
  document.getElementById("sign-out").hidden = true;
  document.getElementById("whoami").textContent = "";
  live("");
  const input = h("input", {
    id: "token",
    name: "token",
    type: "password",
    autocomplete: "off",
    required: true,
    "aria-describedby": "token-help",
  });
  const form = h(
    "form",
    {
      className: "signin",
      onsubmit: (event) => {
        event.preventDefault();
        sessionStorage.setItem(TOKEN_KEY, input.value.trim());
        start();
      },
    },
    h("h1", {}, "Sign in"),
    message ? h("p", { className: "error", role: "alert" }, message) : null,
    h("label", { for: "token" }, "Read token", input),
    h(
      "p",
      { id: "token-help", className: "muted" },
      "Create one with npm run token -- create --name me. It stays in this tab only.",
    ),
    h("button", { className: "primary", type: "submit" }, "Sign in"),
  );
  main().replaceChildren(form);
  input.focus();
}

// ---- overview --------------------------------------------------------------------------------

/**
 * The overview (CONTRACT §8, §10): the job counts by status for the token's scope, each a link that
 * filters the list to that status, and a chart of the deliveries over the window — new, repeats,
 * quarantined and refused told apart by colour, pattern and legend. Asked again every
 * {@link OVERVIEW_POLL_MS} and whenever the change feed brings something.
 */
function overview(params) {
  const chosen = WINDOWS.includes(params.get("window")) ? params.get("window") : "24h";
  const section = h("section", { className: "overview", "aria-labelledby": "overview-title" });
  const counts = h("ul", { className: "counts", "aria-label": "Jobs by status" });
  const chart = h("div", { className: "chart" });
  const legend = h("p", { className: "legend" });
  const note = h("p", { className: "muted", hidden: true });
  const windowLinks = WINDOWS.map((name) => {
    const query = new URLSearchParams(params);
    query.set("window", name);
    return h(
      "a",
      { href: `/?${query}`, "aria-current": name === chosen ? "true" : undefined, className: "window" },
      name,
    );
  });
  section.append(
    h(
      "div",
      { className: "overview-head" },
      h("h2", { id: "overview-title" }, "Overview"),
      h("nav", { "aria-label": "Chart window", className: "windows" }, windowLinks),
    ),
    counts,
    chart,
    legend,
    note,
  );

  let waiting = null;
  let last = "";
  const refresh = async () => {
    const response = await api(`/v1/stats?window=${chosen}`);
    if (response.status === 404) {
      note.hidden = false;
      note.textContent = "This server has no overview yet (GET /v1/stats answers 404).";
      return false;
    }
    const stats = await response.json();
    if (!response.ok) throw new Error(stats?.error?.message ?? response.statusText);
    const text = JSON.stringify({
      jobs: stats.jobs,
      deliveries: stats.deliveries,
      quarantine: stats.quarantine,
    });
    if (text !== last) {
      last = text;
      drawCounts(counts, stats, params);
      drawChart(chart, legend, stats, chosen);
    }
    section.dataset.generatedAt = stats.generatedAt;
    return true;
  };
  const loop = async () => {
    for (;;) {
      try {
        if ((await refresh()) === false) return;
      } catch (error) {
        if (error instanceof SignedOut) return;
        note.hidden = false;
        note.textContent = `The overview could not be read: ${error.message}`;
      }
      const wake = new AbortController();
      waiting = wake;
      await sleep(OVERVIEW_POLL_MS, wake.signal);
    }
  };
  loop();
  return {
    element: section,
    /** Something changed: ask now rather than at the next poll. */
    poke: () => waiting?.abort(),
  };
}

function drawCounts(list, stats, params) {
  const current = params.get("status");
  const byStatus = stats.jobs?.byStatus ?? {};
  const link = (label, href, count, className, active) =>
    h(
      "li",
      {},
      h(
        "a",
        {
          href,
          className: `count ${className}`,
          "aria-current": active ? "true" : undefined,
          "data-count": label,
        },
        h("span", { className: "count-n" }, String(count)),
        h("span", { className: "count-label" }, label),
      ),
    );
  const items = [link("all jobs", "/?show=all", stats.jobs?.total ?? 0, "s-all", current === null)];
  for (const status of STATUSES) {
    const count = byStatus[status] ?? 0;
    if (count === 0 && !["failed", "processing", "needs_review"].includes(status)) continue;
    items.push(link(status, `/?show=all&status=${status}`, count, `s-${status}`, current === status));
  }
  const open = stats.quarantine?.open ?? 0;
  items.push(
    h(
      "li",
      {},
      h(
        "a",
        { href: "/quarantine", className: "count s-quarantine", "data-count": "quarantine" },
        h("span", { className: "count-n" }, String(open)),
        h("span", { className: "count-label" }, "in quarantine"),
      ),
    ),
  );
  list.replaceChildren(...items);
}

/** The deliveries of each bucket as stacked bars: new, repeats, quarantined up; refused below the axis. */
function drawChart(container, legend, stats, window) {
  const buckets = stats.deliveries?.buckets ?? [];
  const step = (stats.deliveries?.bucketSeconds ?? 900) * 1000;
  const refusedOf = (bucket) => Object.values(bucket.refused ?? {}).reduce((sum, n) => sum + n, 0);
  const width = 960;
  const height = 180;
  const top = 14;
  const axis = 130;
  const below = 34;
  const left = 36;
  const barWidth = (width - left) / Math.max(buckets.length, 1);
  const maxUp = Math.max(1, ...buckets.map((b) => b.accepted + b.quarantined));
  const maxDown = Math.max(1, ...buckets.map(refusedOf));
  const up = (n) => (n / maxUp) * (axis - top);
  const down = (n) => (n / maxDown) * (below - 6);
  const totals = { accepted: 0, duplicates: 0, quarantined: 0, refused: 0 };
  const codes = {};
  const bars = [];
  buckets.forEach((bucket, n) => {
    const refused = refusedOf(bucket);
    totals.accepted += bucket.accepted;
    totals.duplicates += bucket.duplicates;
    totals.quarantined += bucket.quarantined;
    totals.refused += refused;
    for (const [code, count] of Object.entries(bucket.refused ?? {}))
      codes[code] = (codes[code] ?? 0) + count;
    const x = left + n * barWidth + 0.5;
    const w = Math.max(barWidth - 1, 1);
    let y = axis;
    const parts = [
      ["fresh", bucket.accepted - bucket.duplicates],
      ["repeat", bucket.duplicates],
      ["quarantined", bucket.quarantined],
    ];
    const group = s("g", { className: "bucket", "data-start": bucket.start });
    for (const [kind, count] of parts) {
      if (count <= 0) continue;
      const barHeight = up(count);
      y -= barHeight;
      group.append(s("rect", { x, y, width: w, height: barHeight, className: `bar ${kind}` }));
    }
    if (refused > 0)
      group.append(s("rect", { x, y: axis + 2, width: w, height: down(refused), className: "bar refused" }));
    const start = Date.parse(bucket.start);
    group.append(
      s(
        "title",
        {},
        `${LOCAL_TIME.format(start)}–${LOCAL_TIME.format(start + step)}: ${bucket.accepted} accepted (${bucket.duplicates} repeats), ${bucket.quarantined} quarantined, ${refused} refused`,
      ),
    );
    // A full-height target, so hovering anywhere in the bucket shows its numbers.
    group.prepend(s("rect", { x, y: top, width: w, height: axis + below - top, className: "hit" }));
    bars.push(group);
  });
  const first = buckets[0]?.start;
  const labels = first
    ? [
        s("text", { x: left, y: height - 2, className: "tick" }, LOCAL_TIME.format(Date.parse(first))),
        s("text", { x: width, y: height - 2, className: "tick end" }, "now"),
      ]
    : [];
  const svg = s(
    "svg",
    {
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": `Deliveries over the last ${window}: ${totals.accepted} accepted, of which ${totals.duplicates} repeats; ${totals.quarantined} quarantined; ${totals.refused} refused.`,
      preserveAspectRatio: "none",
      className: "deliveries",
    },
    s(
      "defs",
      {},
      s(
        "pattern",
        { id: "hatch", width: 4, height: 4, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
        s("rect", { width: 2, height: 4, className: "hatch" }),
      ),
    ),
    s("text", { x: 0, y: top + 4, className: "tick" }, String(maxUp)),
    s("text", { x: 0, y: axis + below - 4, className: "tick" }, `−${maxDown}`),
    s("line", { x1: left, x2: width, y1: axis + 0.5, y2: axis + 0.5, className: "axis" }),
    bars,
    labels,
  );
  container.replaceChildren(svg);
  const refusedCodes = Object.entries(codes)
    .map(([code, count]) => `${code} ${count}`)
    .join(", ");
  legend.replaceChildren(
    h("span", { className: "swatch fresh" }, "new"),
    ` ${totals.accepted - totals.duplicates}  `,
    h("span", { className: "swatch repeat" }, "repeats"),
    ` ${totals.duplicates}  `,
    h("span", { className: "swatch quarantined" }, "quarantined"),
    ` ${totals.quarantined}  `,
    h("span", { className: "swatch refused" }, "refused (below the line)"),
    ` ${totals.refused}${refusedCodes ? ` (${refusedCodes})` : ""}`,
    h("span", { className: "muted" }, ` · accepted deliveries in the last ${window}: `),
    h("strong", { "data-total": "accepted" }, String(totals.accepted)),
  );
}

// ---- jobs ------------------------------------------------------------------------------------

const FILTERS = ["source", "kind", "status", "company"];
/** The list's tabs: runs (the default), configuration resources, or both. */
const SHOWS = {
  runs: { label: "Runs", category: "run" },
  resources: { label: "Configuration resources", category: "resource" },
  all: { label: "All", category: null },
};

function renderJobs() {
  const params = new URLSearchParams(location.search);
  const filters = new URLSearchParams();
  for (const name of FILTERS) if (params.get(name)) filters.set(name, params.get(name));
  const show = Object.hasOwn(SHOWS, params.get("show") ?? "") ? params.get("show") : "runs";
  if (SHOWS[show].category !== null) filters.set("category", SHOWS[show].category);
  const rows = new Map();
  let cursor = null;
  const search = params.get("q") ?? "";

  const select = (name, options) =>
    h(
      "select",
      { name, id: `f-${name}` },
      h("option", { value: "" }, "any"),
      options.map((value) => h("option", { value, selected: params.get(name) === value }, value)),
    );
  const form = h(
    "form",
    { className: "filters", method: "get", action: "/", role: "search", "aria-label": "Filter jobs" },
    h("input", { type: "hidden", name: "show", value: show }),
    h("label", { for: "f-source" }, "Source", select("source", SOURCES)),
    h("label", { for: "f-status" }, "Status", select("status", STATUSES)),
    h(
      "label",
      { for: "f-kind" },
      "Kind",
      h("input", { id: "f-kind", name: "kind", value: params.get("kind") ?? "", size: 14 }),
    ),
    h(
      "label",
      { for: "f-company" },
      "Company",
      h("input", { id: "f-company", name: "company", value: params.get("company") ?? "", size: 14 }),
    ),
    h(
      "label",
      { for: "f-q" },
      "Job key",
      h("input", {
        id: "f-q",
        name: "q",
        value: search,
        size: 28,
        placeholder: "source:kind:id or part of it",
      }),
    ),
    h("button", { type: "submit" }, "Apply"),
  );
  form.addEventListener("submit", (event) => {
    // An exact job key opens that job; anything else filters.
    const q = new FormData(form).get("q")?.toString().trim() ?? "";
    if (JOB_KEY.test(q)) {
      event.preventDefault();
      location.assign(jobHref(q));
    }
  });
  const tabs = h(
    "nav",
    { className: "tabs", "aria-label": "What the list shows" },
    Object.entries(SHOWS).map(([name, { label }]) => {
      const query = new URLSearchParams(params);
      query.set("show", name);
      return h("a", { href: `/?${query}`, "aria-current": name === show ? "page" : undefined }, label);
    }),
  );
  const tbody = h("tbody", { id: "job-rows" });
  const empty = h("p", { className: "muted", hidden: true }, "No jobs match.");
  const more = h("button", { className: "more", type: "button", hidden: true }, "Load more");
  const board = overview(params);
  main().replaceChildren(
    board.element,
    h("h1", {}, "Jobs"),
    tabs,
    form,
    h(
      "div",
      { className: "table-wrap" },
      h(
        "table",
        { className: "jobs", "aria-label": `${SHOWS[show].label}, newest event first` },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, "Job"),
            h("th", { scope: "col" }, "Status"),
            h("th", { scope: "col" }, "Failure"),
            h("th", { scope: "col", className: "num" }, "Events"),
            h("th", { scope: "col", className: "num" }, "Duration"),
            h("th", { scope: "col" }, "Last event"),
          ),
        ),
        tbody,
      ),
    ),
    empty,
    more,
  );

  const fresh = new Set();
  const draw = () => {
    const needle = search.toLowerCase();
    const shown = [...rows.values()]
      .filter((job) => needle === "" || job.jobKey.toLowerCase().includes(needle))
      .sort((a, b) => b.lastEventAt.localeCompare(a.lastEventAt) || a.jobKey.localeCompare(b.jobKey));
    tbody.replaceChildren(
      ...shown.map((job) => {
        const spent = Date.parse(job.lastEventAt) - Date.parse(job.firstEventAt);
        return h(
          "tr",
          { className: fresh.has(job.jobKey) ? "fresh" : undefined, "data-job-key": job.jobKey },
          h(
            "td",
            { className: "job", "data-label": "Job" },
            h("a", { href: jobHref(job.jobKey), className: "key" }, job.jobKey),
            " ",
            copyButton(job.jobKey, `job key ${job.jobKey}`),
            job.name ? h("span", { className: "name" }, job.name) : null,
          ),
          h(
            "td",
            { "data-label": "Status" },
            statusBadge(job.status),
            job.terminal ? h("span", { className: "muted" }, " final") : null,
          ),
          h(
            "td",
            { className: "failure-reason", "data-label": "Failure" },
            job.failure ? (job.failure.reason ?? job.failure.messages[0] ?? "failed") : "",
          ),
          h(
            "td",
            {
              className: "num",
              "data-label": "Events",
              title: `${job.eventCount} events, ${job.deliveryCount} deliveries`,
            },
            String(job.eventCount),
            job.deliveryCount > job.eventCount
              ? h("span", { className: "muted" }, ` (${job.deliveryCount} deliveries)`)
              : null,
          ),
          h("td", { className: "num", "data-label": "Duration" }, spent > 0 ? duration(spent) : "—"),
          h("td", { className: "when", "data-label": "Last event" }, timeAgo(job.lastEventAt)),
        );
      }),
    );
    fresh.clear();
    empty.hidden = shown.length > 0;
    more.hidden = cursor === null;
  };

  const loadPage = async () => {
    const query = new URLSearchParams(filters);
    query.set("limit", "50");
    if (cursor !== null) query.set("cursor", cursor);
    more.disabled = true;
    try {
      const page = await apiJson(`/v1/jobs?${query}`);
      for (const job of page.data) if (!rows.has(job.jobKey)) rows.set(job.jobKey, job);
      cursor = page.nextCursor;
      draw();
    } catch (error) {
      if (!(error instanceof SignedOut))
        main().append(h("p", { className: "error", role: "alert" }, String(error.message)));
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", loadPage);

  // Live: follow the change feed from where it stood before the first page was read, so a change
  // made between the two reads is not missed; each change replaces or adds its job.
  const follow = async (from) => {
    let after = from;
    for (;;) {
      try {
        live("live");
        const query = new URLSearchParams(filters);
        query.set("after", after);
        query.set("wait", "25");
        query.set("limit", "200");
        const page = await apiJson(`/v1/changes?${query}`);
        for (const job of page.data) {
          const kept = rows.get(job.jobKey);
          if (kept === undefined || kept.version < job.version) {
            rows.set(job.jobKey, job);
            fresh.add(job.jobKey);
          }
        }
        after = page.nextCursor;
        if (page.data.length > 0) {
          draw();
          board.poke();
        }
      } catch (error) {
        if (error instanceof SignedOut) return;
        live("reconnecting…");
        await sleep(2000);
      }
    }
  };

  apiJson(`/v1/changes?after=latest&${filters}`)
    .then(async (start) => {
      await loadPage();
      await follow(start.nextCursor);
    })
    .catch(() => undefined);
}

// ---- one job ---------------------------------------------------------------------------------

/** Entries that arrived after an entry that follows them in the timeline. */
function lateEntries(history) {
  const late = new Set();
  let earliestAfter = Number.POSITIVE_INFINITY;
  for (let i = history.length - 1; i >= 0; i--) {
    const received = Date.parse(history[i].receivedAt);
    if (received > earliestAfter) late.add(history[i].eventId);
    earliestAfter = Math.min(earliestAfter, received);
  }
  return late;
}

/**
 * The whole job, or null if it is unknown: the detail's first answer, then the following pages of
 * its history and files (a big job's detail comes a page at a time; docs/API.md, "Read API"). An event
 * that lands behind the walk's cursor shows as a history shorter than `eventCount`: walk again.
 */
async function loadJob(jobKey) {
  const path = `/v1/jobs/${encodeURIComponent(jobKey)}`;
  for (let attempt = 1; ; attempt++) {
    const response = await api(path);
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(`The job could not be read (${response.status}).`);
    const job = await response.json();
    let history = job.historyNextCursor;
    let files = job.filesNextCursor;
    while (history !== undefined || files !== undefined) {
      // A list already complete is asked for as little as possible: one history entry.
      const query = new URLSearchParams(
        history === undefined ? { historyLimit: "1" } : { historyCursor: history },
      );
      if (files !== undefined) query.set("filesCursor", files);
      const page = await apiJson(`${path}?${query}`);
      if (history !== undefined) job.history.push(...page.history);
      if (files !== undefined) job.files.push(...page.files);
      history = history === undefined ? undefined : page.historyNextCursor;
      files = files === undefined ? undefined : page.filesNextCursor;
      if (page.eventCount > job.eventCount) job.eventCount = page.eventCount;
    }
    delete job.historyNextCursor;
    delete job.filesNextCursor;
    if (job.history.length >= job.eventCount || attempt === 3) return job;
  }
}

/**
 * The job from its first to its last event, one row per entry in history order: a bar from the
 * previous entry's time to this one's (the step this event closed), and a whisker from when it
 * happened to when it was received (its delivery delay). A late entry is drawn in the late colour
 * and says "late". Times past the last event are clipped at the right edge, with the delay in text.
 */
function waterfall(history, late) {
  const times = history.map((entry) => Date.parse(entry.occurredAt));
  const from = Math.min(...times);
  const to = Math.max(...times);
  const span = Math.max(to - from, 1);
  const at = (ms) => Math.min(100, Math.max(0, ((ms - from) / span) * 100));
  const list = h("ol", {
    className: "waterfall",
    "aria-label": "Waterfall: each entry from the previous one, and its delivery delay",
  });
  history.forEach((entry, n) => {
    const occurred = times[n];
    const previous = n === 0 ? occurred : times[n - 1];
    const received = Date.parse(entry.receivedAt);
    const track = h("div", { className: "track" });
    const bar = h("span", { className: "bar" });
    bar.style.left = `${at(Math.min(previous, occurred))}%`;
    bar.style.width = `${Math.max(at(Math.max(previous, occurred)) - at(Math.min(previous, occurred)), 0.6)}%`;
    const whisker = h("span", { className: "delay" });
    whisker.style.left = `${at(occurred)}%`;
    whisker.style.width = `${Math.max(at(received) - at(occurred), 0)}%`;
    track.append(whisker, bar);
    const isLate = late.has(entry.eventId);
    list.append(
      h(
        "li",
        { className: isLate ? "late" : undefined, "data-event-id": entry.eventId },
        h("span", { className: "label", title: entry.eventType }, entry.eventType),
        track,
        h(
          "span",
          { className: "numbers" },
          n === 0 ? "start" : `+${duration(occurred - previous)}`,
          h("span", { className: "muted" }, ` · delay ${duration(received - occurred)}`),
          isLate ? h("span", { className: "badge late" }, "late") : null,
        ),
      ),
    );
  });
  return h(
    "figure",
    { className: "waterfall-wrap" },
    list,
    h(
      "figcaption",
      { className: "muted" },
      `From the first event (${LOCAL_FULL.format(from)}) to the last (${duration(to - from)} later). Bar: since the previous entry; thin line: delivery delay.`,
    ),
  );
}

function renderJob(jobKey) {
  const expanded = new Map();
  const header = h("section", { "aria-labelledby": "job-title" });
  const flow = h("section", { "aria-labelledby": "waterfall-title" });
  const timeline = h("ol", { className: "timeline", "aria-label": "History, oldest first" });
  main().replaceChildren(
    h("p", {}, h("a", { href: "/" }, "← Jobs")),
    header,
    flow,
    h("h2", { id: "timeline" }, "Timeline"),
    timeline,
  );

  const field = (name, value) => h("div", {}, h("dt", {}, name), h("dd", {}, value ?? "—"));
  const link = (linked) =>
    h("li", {}, h("a", { href: jobHref(linked.jobKey) }, linked.jobKey), " ", statusBadge(linked.status));
  const eventPath = (eventId) =>
    `/v1/jobs/${encodeURIComponent(jobKey)}/events/${encodeURIComponent(eventId)}`;

  const rawPanel = (eventId) => {
    const panel = h(
      "div",
      { className: "raw", id: `raw-${cssId(eventId)}` },
      h("p", { className: "muted" }, "Loading…"),
    );
    const show = (text) => {
      let pretty = text;
      try {
        pretty = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        // Shown as received.
      }
      panel.replaceChildren(
        h("pre", { tabindex: "0", "aria-label": `Raw body of ${eventId}` }, pretty),
        h(
          "div",
          { className: "row" },
          copyButton(pretty, `body of ${eventId}`),
          h("span", { className: "muted" }, "event id "),
          h("code", {}, eventId),
          copyButton(eventId, `event id ${eventId}`),
        ),
        curlThis(eventPath(eventId), "raw event"),
      );
    };
    const cached = expanded.get(eventId);
    if (typeof cached === "string") show(cached);
    else
      api(eventPath(eventId))
        .then((response) => response.text())
        .then((text) => {
          expanded.set(eventId, text);
          show(text);
        })
        .catch(() => panel.replaceChildren(h("p", { className: "error" }, "Could not load the raw body.")));
    return panel;
  };

  const draw = (job) => {
    document.title = `${job.jobKey} — runledger`;
    const spent = Date.parse(job.lastEventAt) - Date.parse(job.firstEventAt);
    const parts = [
      h(
        "div",
        { className: "title-row" },
        h("h1", { id: "job-title" }, job.jobKey),
        copyButton(job.jobKey, "job key"),
      ),
      h(
        "p",
        {},
        statusBadge(job.status),
        " ",
        job.terminal ? "final" : "not final",
        " · vendor status ",
        h("code", {}, job.vendorStatus),
        job.name ? ` · ${job.name}` : "",
      ),
      h(
        "dl",
        { className: "summary" },
        field("Source", job.source),
        field("Kind", job.kind),
        field("Company", job.companyName ?? job.companyId),
        field("Stage", job.stage),
        field("Retries", job.retries),
        field("First event", timeAgo(job.firstEventAt)),
        field("Last event", timeAgo(job.lastEventAt)),
        field("Duration", spent > 0 ? duration(spent) : "—"),
        field("Last received", timeAgo(job.lastReceivedAt)),
        field("Events", `${job.eventCount} (${job.deliveryCount} deliveries)`),
        field("Version", job.version),
      ),
      job.failure
        ? h(
            "div",
            { className: "failure", role: "note" },
            h("strong", {}, "Failure: "),
            job.failure.reason ?? "no reason given",
            h(
              "ul",
              {},
              job.failure.messages.map((message) => h("li", {}, message)),
            ),
          )
        : null,
      curlThis(`/v1/jobs/${encodeURIComponent(job.jobKey)}`, "job"),
      job.files?.length ? h("h2", {}, `Files (${job.files.length})`) : null,
      job.files?.length ? h("ul", { className: "links" }, job.files.map(link)) : null,
      job.job !== undefined ? h("h2", {}, "Job") : null,
      job.job !== undefined
        ? job.job
          ? h("ul", { className: "links" }, link(job.job))
          : h("p", { className: "muted" }, "Not linked to a job yet.")
        : null,
    ];
    header.replaceChildren(...parts.filter((part) => part !== null));
    const late = lateEntries(job.history);
    flow.replaceChildren(
      h("h2", { id: "waterfall-title" }, "Waterfall"),
      job.history.length > 0
        ? waterfall(job.history, late)
        : h("p", { className: "muted" }, "No events yet."),
    );
    let status = null;
    let previous = null;
    timeline.replaceChildren(
      ...job.history.map((entry) => {
        const changes = entry.status !== null && entry.status !== status;
        if (entry.status !== null) status = entry.status;
        const occurred = Date.parse(entry.occurredAt);
        const since = previous === null ? null : occurred - previous;
        previous = occurred;
        const delay = Date.parse(entry.receivedAt) - occurred;
        const panelId = `raw-${cssId(entry.eventId)}`;
        const open = expanded.has(entry.eventId);
        const button = h(
          "button",
          {
            type: "button",
            className: "entry",
            "aria-expanded": open ? "true" : "false",
            "aria-controls": panelId,
            "data-event-id": entry.eventId,
          },
          h("span", { className: "type" }, entry.eventType),
          h(
            "span",
            {},
            statusBadge(entry.status),
            changes ? h("span", { className: "badge change" }, " status change") : null,
          ),
          h("span", { className: "when" }, "occurred ", timeAgo(entry.occurredAt)),
          h(
            "span",
            { className: "when since" },
            since === null ? "first event" : `${since < 0 ? "−" : "+"}${duration(since)} after the previous`,
          ),
          h("span", { className: "when delay" }, `delay ${delay < 0 ? "−" : ""}${duration(delay)}`),
          h("span", {}, late.has(entry.eventId) ? h("span", { className: "badge late" }, "late") : null),
        );
        const receipts = entry.receipts ?? [entry.receivedAt];
        const deliveries = h(
          "p",
          { className: "deliveries" },
          `${entry.deliveries} ${entry.deliveries === 1 ? "delivery" : "deliveries"}, received `,
          receipts.flatMap((time, n) => [n === 0 ? "" : ", ", clock(time)]),
          entry.deliveries > receipts.length
            ? h(
                "span",
                { className: "muted" },
                ` (the last ${RECEIPTS_KEPT} kept; first received `,
                clock(entry.receivedAt),
                ")",
              )
            : null,
        );
        const item = h(
          "li",
          { className: changes ? "changes" : undefined },
          button,
          deliveries,
          open ? rawPanel(entry.eventId) : null,
        );
        button.addEventListener("click", () => {
          if (expanded.has(entry.eventId)) {
            expanded.delete(entry.eventId);
            item.querySelector(".raw")?.remove();
            button.setAttribute("aria-expanded", "false");
          } else {
            expanded.set(entry.eventId, true);
            item.append(rawPanel(entry.eventId));
            button.setAttribute("aria-expanded", "true");
          }
        });
        return item;
      }),
    );
  };

  let refreshing = null;
  let again = false;
  const refresh = async () => {
    if (refreshing !== null) {
      again = true;
      return refreshing;
    }
    refreshing = (async () => {
      do {
        again = false;
        const job = await loadJob(jobKey);
        if (job === null) {
          header.replaceChildren(
            h("h1", { id: "job-title" }, "No such job"),
            h("p", {}, `${jobKey} is unknown, or outside your token's scope.`),
          );
          flow.replaceChildren();
          timeline.replaceChildren();
          return false;
        }
        draw(job);
      } while (again);
      return true;
    })().finally(() => {
      refreshing = null;
    });
    return refreshing;
  };

  // Live: the job's stream (§7). Each change re-reads the detail, so order and "late" stay exact.
  const follow = async () => {
    for (;;) {
      try {
        const response = await api(`/v1/jobs/${encodeURIComponent(jobKey)}/stream`);
        if (!response.ok || response.body === null) return;
        live("live");
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          buffer += value;
          let end = buffer.indexOf("\n\n");
          while (end !== -1) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = /^event: (.+)$/m.exec(block)?.[1];
            const data = /^data: (.+)$/m.exec(block)?.[1];
            if (event === "snapshot" && data) {
              // The snapshot is the detail's first answer: a big job's other pages are read.
              const snapshot = JSON.parse(data);
              if (snapshot.historyNextCursor || snapshot.filesNextCursor) refresh().catch(() => undefined);
              else draw(snapshot);
            } else if (event === "change") refresh().catch(() => undefined);
            end = buffer.indexOf("\n\n");
          }
        }
      } catch (error) {
        if (error instanceof SignedOut) return;
      }
      live("reconnecting…");
      await sleep(2000);
    }
  };

  refresh()
    .then((found) => {
      if (found) follow();
    })
    .catch((error) => {
      if (!(error instanceof SignedOut))
        header.replaceChildren(h("p", { className: "error", role: "alert" }, String(error.message)));
    });
}

function cssId(text) {
  return Array.from(text, (char) =>
    /[A-Za-z0-9_-]/.test(char) ? char : `_${char.codePointAt(0).toString(16)}`,
  ).join("");
}

// ---- quarantine ------------------------------------------------------------------------------

function renderQuarantine() {
  let cursor = null;
  const tbody = h("tbody", {});
  const empty = h("p", { className: "muted", hidden: true }, "Nothing is in quarantine.");
  const more = h("button", { className: "more", type: "button", hidden: true }, "Load more");
  const note = h("p", { className: "muted" }, "Authentic deliveries that could not be parsed, newest first.");
  main().replaceChildren(
    h("h1", {}, "Quarantine"),
    note,
    h(
      "div",
      { className: "table-wrap" },
      h(
        "table",
        { className: "quarantine", "aria-label": "Quarantined deliveries" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, "Received"),
            h("th", { scope: "col" }, "Source"),
            h("th", { scope: "col", className: "num" }, "Size"),
            h("th", { scope: "col" }, "Reasons"),
            h("th", { scope: "col" }, "Body"),
          ),
        ),
        tbody,
      ),
    ),
    empty,
    more,
  );
  const load = async () => {
    const query = new URLSearchParams({ limit: "50" });
    if (cursor !== null) query.set("cursor", cursor);
    const [page, { admin }] = await Promise.all([apiJson(`/v1/quarantine?${query}`), whoAmI()]);
    if (!admin && cursor === null)
      note.append(" Retrying a delivery needs an admin token; this one may only read.");
    for (const item of page.data) {
      const cell = h("td", { "data-label": "Body" });
      const show = h(
        "button",
        {
          type: "button",
          onclick: async () => {
            const text = await (await api(`/v1/quarantine/${encodeURIComponent(item.id)}`)).text();
            let pretty = text;
            try {
              pretty = JSON.stringify(JSON.parse(text), null, 2);
            } catch {
              // Not JSON: shown as received.
            }
            show.remove();
            bodySlot.replaceChildren(h("pre", { tabindex: "0", className: "raw" }, pretty));
          },
        },
        "Show body",
      );
      const bodySlot = h("div", {});
      cell.append(show);
      if (item.resolvedAt) {
        cell.append(
          " ",
          h("span", { className: "muted" }, "retried → "),
          h("a", { href: jobHref(item.jobKey) }, item.jobKey),
        );
      } else if (admin) {
        const result = h("span", { role: "status" });
        const retry = h(
          "button",
          {
            type: "button",
            onclick: async () => {
              retry.disabled = true;
              const response = await api(`/v1/quarantine/${encodeURIComponent(item.id)}/retry`, {
                method: "POST",
              });
              const body = await response.json();
              if (response.ok) {
                result.replaceChildren(" stored → ", h("a", { href: jobHref(body.jobKey) }, body.jobKey));
                retry.remove();
              } else {
                result.textContent = ` ${body.error?.message ?? response.statusText}`;
                retry.disabled = false;
              }
            },
          },
          "Retry",
        );
        cell.append(" ", retry, result);
      }
      cell.append(bodySlot);
      tbody.append(
        h(
          "tr",
          { "data-quarantine-id": item.id },
          h("td", { className: "when", "data-label": "Received" }, timeAgo(item.receivedAt)),
          h("td", { "data-label": "Source" }, item.source),
          h("td", { className: "num", "data-label": "Size" }, `${item.size} B`),
          h(
            "td",
            { "data-label": "Reasons" },
            h(
              "ul",
              {},
              item.reason.map((issue) =>
                h(
                  "li",
                  {},
                  issue.path ? h("code", {}, issue.path) : null,
                  issue.path ? ": " : "",
                  issue.message,
                ),
              ),
            ),
          ),
          cell,
        ),
      );
    }
    cursor = page.nextCursor;
    more.hidden = cursor === null;
    empty.hidden = tbody.children.length > 0;
  };
  more.addEventListener("click", () => load().catch(() => undefined));
  load().catch((error) => {
    if (!(error instanceof SignedOut))
      main().append(h("p", { className: "error", role: "alert" }, String(error.message)));
  });
}

// ---- start -----------------------------------------------------------------------------------

function start() {
  takeTokenFromFragment();
  const path = location.pathname;
  const view = path.startsWith("/jobs/") ? "job" : path === "/quarantine" ? "quarantine" : "jobs";
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === (view === "job" ? "jobs" : view)) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (!token()) {
    renderSignIn();
    return;
  }
  const signOut = document.getElementById("sign-out");
  signOut.hidden = false;
  signOut.onclick = () => {
    sessionStorage.removeItem(TOKEN_KEY);
    location.assign("/");
  };
  whoAmI()
    .then(({ name, admin }) => {
      if (name !== null)
        document.getElementById("whoami").textContent = `${name} · ${admin ? "admin" : "read-only"}`;
    })
    .catch(() => undefined);
  if (view === "job") renderJob(decodeURIComponent(path.slice("/jobs/".length)));
  else if (view === "quarantine") renderQuarantine();
  else renderJobs();
}

start();

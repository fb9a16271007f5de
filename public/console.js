/**
 * @module The runledger console (CONTRACT §8): jobs, a live job timeline and the quarantine, built
 * only on the read API (§5–§7) with a read token. The token comes from `/#token=…` or the sign-in
 * form, is kept in this tab's sessionStorage, and only ever travels in an Authorization header —
 * never in a URL sent to the server. Every value from the API is put into the page as text.
 */

const TOKEN_KEY = "runledger.token";
const JOB_KEY = /^[^:]+:[^:]+:.+$/;
/** A list the server put into the page's head (src/console.ts): the statuses, the sources. */
function served(name) {
  const content = document.querySelector(`meta[name="runledger-${name}"]`)?.getAttribute("content") ?? "";
  return content.split(",").filter((item) => item.length > 0);
}
const STATUSES = served("statuses");
const SOURCES = served("sources");

class SignedOut extends Error {}

/** Creates an element: `h("a", { href: "/" }, "text", child)`. Children are text or nodes. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "className") element.className = value;
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

// ---- sign-in ---------------------------------------------------------------------------------

function renderSignIn(message) {
  document.getElementById("sign-out").hidden = true;
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

// ---- jobs ------------------------------------------------------------------------------------

const FILTERS = ["source", "kind", "status", "company"];

function renderJobs() {
  const params = new URLSearchParams(location.search);
  const filters = new URLSearchParams();
  for (const name of FILTERS) if (params.get(name)) filters.set(name, params.get(name));
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
  const tbody = h("tbody", { id: "job-rows" });
  const empty = h("p", { className: "muted", hidden: true }, "No jobs match.");
  const more = h("button", { className: "more", type: "button", hidden: true }, "Load more");
  main().replaceChildren(
    h("h1", {}, "Jobs"),
    form,
    h(
      "div",
      { className: "table-wrap" },
      h(
        "table",
        { "aria-label": "Jobs, newest event first" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, "Job key"),
            h("th", { scope: "col" }, "Status"),
            h("th", { scope: "col", className: "optional" }, "Source"),
            h("th", { scope: "col", className: "optional" }, "Kind"),
            h("th", { scope: "col", className: "optional" }, "Name"),
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
      ...shown.map((job) =>
        h(
          "tr",
          { className: fresh.has(job.jobKey) ? "fresh" : undefined, "data-job-key": job.jobKey },
          h("td", { className: "key" }, h("a", { href: jobHref(job.jobKey) }, job.jobKey)),
          h(
            "td",
            {},
            statusBadge(job.status),
            job.terminal ? h("span", { className: "muted" }, " (final)") : null,
          ),
          h("td", { className: "optional" }, job.source),
          h("td", { className: "optional" }, job.kind),
          h("td", { className: "optional" }, job.name ?? ""),
          h("td", {}, h("time", { datetime: job.lastEventAt }, job.lastEventAt)),
        ),
      ),
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
        if (page.data.length > 0) draw();
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

function renderJob(jobKey) {
  const expanded = new Map();
  const header = h("section", { "aria-labelledby": "job-title" });
  const timeline = h("ol", { className: "timeline", "aria-label": "History, oldest first" });
  main().replaceChildren(
    h("p", {}, h("a", { href: "/" }, "← Jobs")),
    header,
    h("h2", { id: "timeline" }, "Timeline"),
    timeline,
  );

  const field = (name, value) => h("div", {}, h("dt", {}, name), h("dd", {}, value ?? "—"));
  const link = (linked) =>
    h("li", {}, h("a", { href: jobHref(linked.jobKey) }, linked.jobKey), " ", statusBadge(linked.status));

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
      const copy = h(
        "button",
        {
          type: "button",
          onclick: async () => {
            await navigator.clipboard.writeText(pretty);
            copy.textContent = "Copied";
          },
        },
        "Copy",
      );
      panel.replaceChildren(
        h("pre", { tabindex: "0", "aria-label": `Raw body of ${eventId}` }, pretty),
        copy,
      );
    };
    const cached = expanded.get(eventId);
    if (typeof cached === "string") show(cached);
    else
      api(`/v1/jobs/${encodeURIComponent(jobKey)}/events/${encodeURIComponent(eventId)}`)
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
    const parts = [
      h("h1", { id: "job-title" }, job.jobKey),
      h(
        "p",
        {},
        statusBadge(job.status),
        " ",
        job.terminal ? "final" : "not final",
        " · vendor status ",
        h("code", {}, job.vendorStatus),
      ),
      h(
        "dl",
        { className: "summary" },
        field("Source", job.source),
        field("Kind", job.kind),
        field("Name", job.name),
        field("Company", job.companyName ?? job.companyId),
        field("Stage", job.stage),
        field("Retries", job.retries),
        field("First event", job.firstEventAt),
        field("Last event", job.lastEventAt),
        field("Last received", job.lastReceivedAt),
        field("Events", job.eventCount),
        field("Deliveries", job.deliveryCount),
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
    let status = null;
    timeline.replaceChildren(
      ...job.history.map((entry) => {
        const changes = entry.status !== null && entry.status !== status;
        if (entry.status !== null) status = entry.status;
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
          h(
            "span",
            { className: "when" },
            "occurred ",
            h("time", { datetime: entry.occurredAt }, entry.occurredAt),
          ),
          h(
            "span",
            { className: "when" },
            "received ",
            h("time", { datetime: entry.receivedAt }, entry.receivedAt),
          ),
          h(
            "span",
            {},
            entry.deliveries > 1
              ? h("span", { className: "badge" }, `×${entry.deliveries} deliveries`)
              : null,
            late.has(entry.eventId) ? h("span", { className: "badge late" }, "late") : null,
          ),
        );
        const item = h(
          "li",
          { className: changes ? "changes" : undefined },
          button,
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
  main().replaceChildren(
    h("h1", {}, "Quarantine"),
    h("p", { className: "muted" }, "Authentic deliveries that could not be parsed, newest first."),
    h(
      "div",
      { className: "table-wrap" },
      h(
        "table",
        { "aria-label": "Quarantined deliveries" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, "Received"),
            h("th", { scope: "col" }, "Source"),
            h("th", { scope: "col" }, "Size"),
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
    const page = await apiJson(`/v1/quarantine?${query}`);
    for (const item of page.data) {
      const cell = h("td", {});
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
      } else {
        const note = h("span", { role: "status" });
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
                note.replaceChildren(" stored → ", h("a", { href: jobHref(body.jobKey) }, body.jobKey));
                retry.remove();
              } else {
                note.textContent =
                  response.status === 403
                    ? " Retrying needs an admin token."
                    : ` ${body.error?.message ?? response.statusText}`;
                retry.disabled = false;
              }
            },
          },
          "Retry",
        );
        cell.append(" ", retry, note);
      }
      cell.append(bodySlot);
      tbody.append(
        h(
          "tr",
          { "data-quarantine-id": item.id },
          h("td", {}, h("time", { datetime: item.receivedAt }, item.receivedAt)),
          h("td", {}, item.source),
          h("td", {}, `${item.size} B`),
          h(
            "td",
            {},
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
  if (view === "job") renderJob(decodeURIComponent(path.slice("/jobs/".length)));
  else if (view === "quarantine") renderQuarantine();
  else renderJobs();
}

start();

/**
 * @module The console's pages (CONTRACT §8): `/`, `/jobs/<key>` and `/quarantine` are one HTML
 * shell from `public/` (Workers Static Assets) whose script renders the view for its path; its
 * other files (`/console.js`, `/console.css`) are served from the assets as they are. The page
 * only talks to the read API, with the token the user gives it.
 */
import type { Context } from "hono";
import type { ApiEnv } from "./api/auth";
import { SOURCES, STATUSES } from "./core/vocabulary";

/**
 * What the console's page may do: load its own script and style, call this origin's API, nothing
 * else — no third-party code, and no token leaking through a referrer.
 */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
};

/**
 * The lists the console offers (its status and source filters), from the server's own vocabulary
 * rather than a copy in the script: put into the shell's `<head>` as `<meta>` elements, which the
 * content security policy lets the script read without another request.
 */
const VOCABULARY_META = [
  `<meta name="runledger-statuses" content="${STATUSES.join(",")}">`,
  `<meta name="runledger-sources" content="${SOURCES.join(",")}">`,
].join("");

/** The console's HTML shell, whatever the view. */
export async function consolePage(c: Context<ApiEnv>): Promise<Response> {
  const assets = await c.env.ASSETS.fetch(new Request(new URL("/", c.req.url)));
  const shell = new HTMLRewriter()
    .on("head", { element: (head) => void head.append(VOCABULARY_META, { html: true }) })
    .transform(assets);
  const response = new Response(shell.body, shell);
  response.headers.set("content-type", "text/html; charset=utf-8");
  response.headers.set("cache-control", "no-cache");
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.headers.set(name, value);
  return response;
}

/**
 * A console file (script, style) as the assets answer it — including 304 Not Modified to a
 * browser's revalidation — or null when the assets have no such file.
 */
export async function consoleFile(c: Context<ApiEnv>): Promise<Response | null> {
  if (c.req.method !== "GET" && c.req.method !== "HEAD") return null;
  const response = await c.env.ASSETS.fetch(c.req.raw);
  if (response.status === 404) {
    await response.body?.cancel();
    return null;
  }
  return response;
}

/**
 * `/favicon.ico`, which a browser asks for by itself wherever a page names no icon (the API's JSON,
 * `/openapi.json`): the console's icon (`public/favicon.svg`, which the shell links), as the assets
 * serve it, rather than a 404 in the console's network log. The policy's `img-src 'self'` allows it.
 */
export async function consoleIcon(c: Context<ApiEnv>): Promise<Response> {
  const icon = await c.env.ASSETS.fetch(new Request(new URL("/favicon.svg", c.req.url)));
  const response = new Response(icon.body, icon);
  response.headers.set("cache-control", "public, max-age=86400");
  response.headers.set("x-content-type-options", "nosniff");
  return response;
}

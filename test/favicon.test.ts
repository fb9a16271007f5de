/**
 * The console's icon (issue 24): the shell links `/favicon.svg`, and `/favicon.ico` — which a browser
 * asks for by itself — answers the same icon instead of a 404.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

const BASE = "https://runledger.test";

describe("the console's icon", () => {
  it("the shell links /favicon.svg, which is a small SVG", async () => {
    const html = await (await SELF.fetch(`${BASE}/`)).text();
    expect(html).toMatch(/<link rel="icon" href="\/favicon\.svg"[^>]*>/);
    const icon = await SELF.fetch(`${BASE}/favicon.svg`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get("content-type")).toContain("image/svg+xml");
    const svg = await icon.text();
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).not.toMatch(/<script|href=|on\w+=/i);
    expect(svg.length).toBeLessThan(2_000);
  });

  it.each(["GET", "HEAD"])("%s /favicon.ico answers the same icon, not a 404", async (method) => {
    const [ico, svg] = await Promise.all([
      SELF.fetch(`${BASE}/favicon.ico`, { method }),
      SELF.fetch(`${BASE}/favicon.svg`, { method }),
    ]);
    expect(ico.status).toBe(200);
    expect(ico.headers.get("content-type")).toContain("image/svg+xml");
    expect(await ico.text()).toBe(await svg.text());
  });
});

/**
 * The console's pages are served by the Worker (CONTRACT §8): `/`, `/jobs/<key>` and `/quarantine`
 * answer 200 `text/html` without a token (the page asks for one), with a policy that allows nothing
 * from outside this origin; its script and style come from the assets; other paths stay JSON 404s.
 * What the page does in a browser is tested in scripts/console.test.mjs (headless Chromium).
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

const BASE = "https://runledger.test";

describe("console pages", () => {
  it.each(["/", "/jobs/extend%3Aclassify_run%3Aclr_x", "/jobs/alfred:job:j1", "/quarantine"])(
    "GET %s → the console's HTML shell",
    async (path) => {
      const response = await SELF.fetch(`${BASE}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
      expect(response.headers.get("referrer-policy")).toBe("no-referrer");
      const html = await response.text();
      expect(html).toContain('<script type="module" src="/console.js"></script>');
      expect(html).not.toMatch(/https?:\/\//);
    },
  );

  it("serves the script and the style, small", async () => {
    let bytes = 0;
    for (const [path, type] of [
      ["/console.js", "javascript"],
      ["/console.css", "text/css"],
    ] as const) {
      const response = await SELF.fetch(`${BASE}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toContain(type);
      bytes += (await response.arrayBuffer()).byteLength;
    }
    expect(bytes).toBeLessThan(100_000);
  });

  it("a browser's revalidation of the script gets 304, not a 404", async () => {
    const first = await SELF.fetch(`${BASE}/console.js`);
    const etag = first.headers.get("etag");
    await first.arrayBuffer();
    expect(etag).not.toBeNull();
    const again = await SELF.fetch(`${BASE}/console.js`, { headers: { "if-none-match": etag ?? "" } });
    expect(again.status).toBe(304);
  });

  it("other paths are still the API's JSON 404", async () => {
    const response = await SELF.fetch(`${BASE}/nope.txt`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { code: "not_found", message: expect.any(String) } });
  });
});

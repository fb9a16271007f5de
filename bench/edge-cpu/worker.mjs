/**
 * @module A bench-only Worker that runs runledger's edge work — the vendor adapter's admit,
 * authenticate (Extend HMAC / Alfred URL token), UTF-8 decode, parse and normalize (src/vendors,
 * through the registry, as src/ingest/pipeline.ts runs them) — K times per request, with no
 * storage behind it. bench/edge-cpu.mjs bundles it with esbuild, serves it with Miniflare and
 * times it from outside: inside workerd the clocks do not advance during synchronous work.
 *
 * POST /setup?case=NAME&vendor=extend|alfred[&token=T] stores a delivery (its headers and raw
 * bytes, signed by the caller); GET /run?case=NAME&k=K processes it K times.
 */
import { readSettings } from "../../src/config";
import { settingsFor } from "../../src/vendors/index";
import { vendorFor } from "../../src/vendors/registry";

const cases = new Map();
const refuseFetch = () => Promise.reject(new Error("the edge CPU bench does not fetch"));

async function processOnce(stored, env) {
  // What the pipeline builds per delivery; `receivedAt` is the (frozen) request time.
  const delivery = {
    request: stored.request,
    params: stored.params,
    settings: settingsFor(stored.adapter, readSettings(env), env),
    receivedAt: Date.now(),
    fetch: refuseFetch,
  };
  await stored.adapter.admit(delivery);
  await stored.adapter.authenticate(delivery, stored.bytes);
  const text = new TextDecoder("utf-8", { fatal: true }).decode(stored.bytes);
  const interpretation = await stored.adapter.interpret(delivery, text);
  return interpretation.outcome;
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const name = url.searchParams.get("case") ?? "";
    if (url.pathname === "/setup") {
      const adapter = vendorFor(url.searchParams.get("vendor") ?? "");
      if (adapter === undefined) return Response.json({ error: "unknown vendor" }, { status: 400 });
      const bytes = new Uint8Array(await request.arrayBuffer());
      cases.set(name, {
        adapter,
        bytes,
        // Adapters read only the headers of the request; its body was taken above.
        request: new Request("https://bench.invalid/", { method: "POST", headers: request.headers }),
        params: { token: url.searchParams.get("token") ?? undefined },
      });
      return Response.json({ ok: true, bytes: bytes.byteLength });
    }
    if (url.pathname === "/run") {
      const stored = cases.get(name);
      if (stored === undefined) return Response.json({ error: "unknown case" }, { status: 404 });
      const k = Number(url.searchParams.get("k") ?? "0");
      let outcome = "none";
      for (let i = 0; i < k; i++) outcome = await processOnce(stored, env);
      return Response.json({ ok: true, k, outcome });
    }
    return Response.json({ error: "not found" }, { status: 404 });
  },
};

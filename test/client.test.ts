/**
 * The typed client: the README's example (examples/client.ts, quoted there verbatim) run against the
 * Worker — `hc<App>()` with `SELF.fetch` as its fetch — and its types. `App` comes from
 * types/runledger.d.ts, the declaration file `npm run client:types` generates, which needs nothing
 * of this repository but `hono`; the type-level checks below fail `npm run typecheck` (part of
 * `npm test`) when that file no longer matches the routes, or when a misspelt status or source would
 * compile.
 */
import { SELF } from "cloudflare:test";
import type { hc } from "hono/client";
import type { HonoBase } from "hono/hono-base";
import { describe, expect, expectTypeOf, it } from "vitest";
import readme from "../docs/API.md?raw";
import { failedJobs } from "../examples/client";
import example from "../examples/client.ts?raw";
import runner from "../examples/failed-jobs.ts?raw";
import type { createApp } from "../src/app";
import type { Source, Status } from "../src/core/vocabulary";
import type { App } from "../types/runledger";
import { BASE, createToken, eventually, extendEvent, sendExtend } from "./helpers";

type RoutesOf<T> = T extends HonoBase<infer _Env, infer Routes, infer _Base> ? Routes : never;

describe("the typed client's types", () => {
  it("are the routes' own: types/runledger.d.ts is up to date (else: npm run client:types)", () => {
    expectTypeOf<RoutesOf<App>>().toEqualTypeOf<RoutesOf<ReturnType<typeof createApp>>>();
  });

  it("type statuses and sources as the vocabulary's unions, in answers and in query filters", () => {
    // Never called: what matters is what compiles.
    async function typed(api: ReturnType<typeof hc<App>>) {
      const list = await (
        await api.v1.jobs.$get({ query: { status: "failed,rejected", source: "extend" } })
      ).json();
      const [job] = list.data;
      if (job === undefined) return;
      expectTypeOf(job.status).toEqualTypeOf<Status>();
      expectTypeOf(job.source).toEqualTypeOf<Source>();
      // @ts-expect-error a misspelt status does not compile, as an answer's…
      expect(job.status === "faild").toBe(false);
      // @ts-expect-error …or as a filter
      await api.v1.jobs.$get({ query: { status: "faild" } });
      // @ts-expect-error a misspelt source does not compile either
      await api.v1.changes.$get({ query: { source: "extnd" } });
      const detail = await (await api.v1.jobs[":jobKey"].$get({ param: { jobKey: job.jobKey } })).json();
      expectTypeOf(detail.history[0]?.status).toEqualTypeOf<Status | null | undefined>();
      expectTypeOf(detail.files?.[0]?.status).toEqualTypeOf<Status | undefined>();
      const changes = await (await api.v1.changes.$get({ query: { status: "succeeded" } })).json();
      expectTypeOf(changes.data[0]?.status).toEqualTypeOf<Status | undefined>();
    }
    expect(typed).toBeTypeOf("function");
  });
});

describe("the typed client example", () => {
  it("is quoted in docs/API.md verbatim, is a dozen-odd lines, and needs none of the Worker's sources", () => {
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
    expect(example.trim().split("\n").length).toBeLessThanOrEqual(15);
    for (const source of [example, runner]) expect(source).not.toMatch(/from "\.\.\/(src|test)\//);
    expect(example).toContain('from "../types/runledger"');
  });

  it("lists failed jobs and reads their histories from a live Worker", async () => {
    const id = `exr_client_${crypto.randomUUID()}`;
    const failed = extendEvent("extract_run.failed", { id, status: "FAILED" });
    expect((await sendExtend(failed)).status).toBe(200);
    const token = await createToken();
    // The list is answered from D1, which the job reaches shortly after the 200.
    const jobs = await eventually(async () => {
      const found = await failedJobs(BASE, token, (input, init) => SELF.fetch(input, init));
      expect(found.map((job) => job.jobKey)).toContain(`extend:extract_run:${id}`);
      return found;
    });
    expect(jobs).toContainEqual({ jobKey: `extend:extract_run:${id}`, events: ["extract_run.failed"] });
  });

  it("throws on a refused request instead of reading a body it does not have", async () => {
    await expect(
      failedJobs(BASE, "rl_not_a_token", (input, init) => SELF.fetch(input, init)),
    ).rejects.toMatchObject({ statusCode: 401, detail: { data: { error: { code: "unauthorized" } } } });
  });
});

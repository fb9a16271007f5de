import { hc, parseResponse } from "hono/client";
import type { App } from "../types/runledger";

/** The failed jobs (one page) with each one's event types in history order, through the typed client. */
export async function failedJobs(baseUrl: string, token: string, fetch?: typeof globalThis.fetch) {
  const api = hc<App>(baseUrl, { fetch, headers: { authorization: `Bearer ${token}` } });
  const list = await parseResponse(api.v1.jobs.$get({ query: { status: "failed", limit: "20" } }));
  const jobs = list.data.map(async ({ jobKey }) => {
    const job = await parseResponse(
      api.v1.jobs[":jobKey"].$get({ param: { jobKey: encodeURIComponent(jobKey) } }),
    );
    return { jobKey, events: job.history.map((entry) => entry.eventType) };
  });
  return Promise.all(jobs);
}

// The scripts project's global setup (vitest.config.ts): the two throwaway `npm start` dev servers
// that start.test.mjs and console.test.mjs share, instead of three started and stopped by the files.
// They are started at the same moment (start.test checks that two can be), the first time a test
// file asks for them, so a run without those files starts none; stopped when the run ends.
//
// A test file asks with `await devServers()` below: a request to a small HTTP endpoint this setup
// serves (files run in processes of their own; `inject` carries the endpoint's address).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { startDevServer } from "./dev-server.mjs";

/** The servers' secrets (their env file), whatever the developer's .dev.vars says. */
export const SECRETS = {
  EXTEND_SIGNING_SECRETS: "wss_start_test_secret",
  ALFRED_WEBHOOK_TOKENS: "start-test-token",
  ALFRED_COMPANY_IDS: "",
  STANDARD_WEBHOOK_SECRETS: "whsec_c3RhcnQtdGVzdC1zdGFuZGFyZC1rZXk=",
};

/**
 * In a test file: `{ first, second }`, each `{ base, port, state, envFile }` of a server that
 * answers, or `{ error }` when it did not come up.
 */
export async function devServers() {
  const { inject } = await import("vitest");
  const response = await fetch(inject("devServers"));
  if (!response.ok) throw new Error(`the dev servers' setup answered ${response.status}`);
  return response.json();
}

export default async function setup(project) {
  const root = mkdtempSync(path.join(tmpdir(), "runledger-dev-servers-"));
  const envFile = path.join(root, "test.env");
  writeFileSync(
    envFile,
    `${Object.entries(SECRETS)
      .map(([name, value]) => `${name}=${value}`)
      .join("\n")}\n`,
  );
  /** Settles to each server's outcome, once started. */
  let started;
  function startBoth() {
    return Promise.allSettled(
      ["first", "second"].map((name) => {
        const state = path.join(root, name);
        return startDevServer({ state, envFile }).then((server) => ({ server, state }));
      }),
    );
  }
  const describe = (outcome) =>
    outcome.status === "fulfilled"
      ? {
          base: outcome.value.server.base,
          port: outcome.value.server.port,
          state: outcome.value.state,
          envFile,
        }
      : { error: String(outcome.reason?.stack ?? outcome.reason) };

  const endpoint = createServer((_request, response) => {
    started ??= startBoth();
    started.then(([first, second]) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ first: describe(first), second: describe(second) }));
    });
  });
  await new Promise((resolve) => endpoint.listen(0, "127.0.0.1", resolve));
  project.provide("devServers", `http://127.0.0.1:${endpoint.address().port}/`);

  return async () => {
    endpoint.closeAllConnections();
    endpoint.close();
    const outcomes = (await started) ?? [];
    await Promise.all(outcomes.map((outcome) => outcome.value?.server.stop()));
    rmSync(root, { recursive: true, force: true });
  };
}

// A throwaway `npm start` for the scripts' tests and screenshots: its own port, state and secrets,
// started in its own process group (wrangler dev is several processes) and stopped by that group.
import { spawn } from "node:child_process";
import path from "node:path";
import { freePort, ROOT } from "./lib.mjs";

/** Resolves once `url` answers 2xx; throws after `ms`. */
export async function waitUntilUp(url, ms) {
  const until = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${url} did not come up within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops a process group (SIGTERM, then SIGKILL after `graceMs`) and waits until it is gone. */
export async function stopGroup(pid, graceMs = 15_000) {
  if (pid === undefined || !groupAlive(pid)) return;
  process.kill(-pid, "SIGTERM");
  const until = Date.now() + graceMs;
  while (groupAlive(pid) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 200));
  if (groupAlive(pid)) process.kill(-pid, "SIGKILL");
}

/** `npm start` on a free port with `--persist-to state` and `--env-file envFile`, once it answers. */
export async function startDevServer({ state, envFile, readyMs = 60_000 }) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, "scripts", "start.mjs"),
      "--port",
      String(port),
      "--persist-to",
      state,
      "--env-file",
      envFile,
    ],
    { cwd: ROOT, detached: true, stdio: "ignore" },
  );
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitUntilUp(`${base}/healthz`, readyMs);
  } catch (error) {
    await stopGroup(child.pid);
    throw error;
  }
  return { child, port, base, stop: () => stopGroup(child.pid) };
}

/**
 * Starts `node <file> ...args` in the project's folder (stdin closed unless `options.stdio` says
 * otherwise) with what it prints collected as it comes: `output.stdout` and `output.stderr` grow
 * while it runs; `done` settles with its exit status once it has closed.
 */
export function spawnNode(file, args, options = {}) {
  const child = spawn(process.execPath, [file, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    ...options,
  });
  const output = { stdout: "", stderr: "" };
  child.stdout.on("data", (chunk) => {
    output.stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    output.stderr += chunk;
  });
  const done = new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  return { child, output, done };
}

/**
 * Runs `node scripts/<script> ...args` as a user runs it (stdin closed), without blocking, so
 * several may run at once; resolves with its exit status and what it printed.
 */
export async function runScript(script, args, { env = process.env } = {}) {
  const { output, done } = spawnNode(path.join(ROOT, "scripts", script), args, { env });
  const status = await done;
  return { status, ...output };
}

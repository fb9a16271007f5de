/**
 * @module Servers under test run as their own process groups (detached children): the load
 * generator then shares no event loop with them, their whole tree (Node + workerd) is stopped with
 * one signal to the group (never by process name), and their CPU time is read from /proc per group.
 */
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout) || 100;

/**
 * Starts `node script` detached (a new process group) with an IPC channel; stdout and stderr are
 * piped to the caller. Resolves with the child and the first IPC message it sends (its address).
 */
export async function startNodeServer(script, { cwd, env, readyTimeoutMs = 60_000 }) {
  const child = spawn(process.execPath, [script], {
    cwd,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${script} was not ready within ${readyTimeoutMs} ms`)),
      readyTimeoutMs,
    );
    child.once("message", (message) => {
      clearTimeout(timer);
      resolve(message);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${signal ?? code}) before it was ready:\n${stderr.slice(-4000)}`));
    });
  }).catch(async (error) => {
    await stopGroup(child.pid);
    throw error;
  });
  // The IPC channel must not keep the bench alive, nor the piped streams once the child is gone.
  child.unref();
  child.channel?.unref();
  return { child, ready, stderrTail: () => stderr };
}

/** Live processes (pid, parent pid, process group, CPU seconds so far) that `keep` selects. */
function liveProcesses(keep) {
  const found = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited while we looked
    }
    // The command name is in parentheses and may contain spaces: read the fields after it.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // A zombie has used all it will; one nobody reaps (no init in a container) must not count as alive.
    if (fields[0] === "Z") continue;
    const process = {
      pid: Number(entry),
      ppid: Number(fields[1]),
      pgid: Number(fields[2]),
      cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS,
    };
    if (keep(process)) found.push(process);
  }
  return found;
}

const groupProcesses = (pgid) => liveProcesses((process) => process.pgid === pgid);

/** CPU seconds used so far by the live children of `ppid` (the workerd an in-process Miniflare runs). */
export function childrenCpuSeconds(ppid) {
  return liveProcesses((process) => process.ppid === ppid).reduce((sum, child) => sum + child.cpuSeconds, 0);
}

/** CPU seconds (user + system) used so far by the live processes of a group. */
export function groupCpuSeconds(pgid) {
  return groupProcesses(pgid).reduce((sum, process) => sum + process.cpuSeconds, 0);
}

/**
 * CPU seconds the whole machine has been busy since boot (all cores, /proc/stat): with the CPU of
 * the bench's own processes taken off, what other programs took during a load.
 */
export function machineBusySeconds() {
  const [, ...fields] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS;
}

/**
 * Waits until a group has been (nearly) idle for `quietMs`: how the bench knows that background
 * work a load left behind (alarms, queue batches, D1 writes) is done before the next load starts.
 * Resolves with whether it got quiet before `maxMs`.
 */
export async function waitForQuiet(pgid, { quietMs = 1000, maxMs = 30_000, idleShare = 0.03 } = {}) {
  const step = 250;
  const window = Math.ceil(quietMs / step) + 1;
  const started = performance.now();
  const samples = [];
  while (performance.now() - started < maxMs) {
    samples.push({ at: performance.now(), cpu: groupCpuSeconds(pgid) });
    if (samples.length > window) samples.shift();
    if (samples.length === window) {
      const [first, last] = [samples[0], samples[window - 1]];
      if ((last.cpu - first.cpu) / ((last.at - first.at) / 1000) <= idleShare) return true;
    }
    await sleep(step);
  }
  return false;
}

/** Stops a whole process group: SIGTERM, then SIGKILL if anything is left after `graceMs`. */
export async function stopGroup(pgid, { graceMs = 5000 } = {}) {
  const signal = (name) => {
    try {
      process.kill(-pgid, name);
      return true;
    } catch {
      return false; // the group is already gone
    }
  };
  if (!signal("SIGTERM")) return;
  const deadline = performance.now() + graceMs;
  while (performance.now() < deadline) {
    if (groupProcesses(pgid).length === 0) return;
    await sleep(100);
  }
  signal("SIGKILL");
  while (groupProcesses(pgid).length > 0) await sleep(100);
}

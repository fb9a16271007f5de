/**
 * @module The peer as a bench target: installs bench/peer on first use (its own package, so the
 * project does not carry Express or better-sqlite3) and serves bench/peer/server.mjs from a child
 * process, state on tmpfs.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { startNodeServer, stopGroup } from "./process-group.mjs";

export const PEER_DIR = path.join(import.meta.dirname, "peer");

/**
 * `npm ci` from the committed lockfile when bench/peer/node_modules is missing. better-sqlite3
 * compiles from source here (no prebuilt binary is reachable): about a minute, once.
 */
export function ensurePeerInstalled() {
  if (existsSync(path.join(PEER_DIR, "node_modules"))) return;
  console.log("bench: installing bench/peer (npm ci; better-sqlite3 builds from source, ~1 min)…");
  const result = spawnSync("npm", ["ci", "--prefix", PEER_DIR, "--no-audit", "--no-fund"], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (result.status !== 0) throw new Error(`npm ci in bench/peer failed (exit ${result.status})`);
}

/** The exact versions the peer runs, for the report. */
export function peerVersions() {
  const version = (name) =>
    JSON.parse(readFileSync(path.join(PEER_DIR, "node_modules", name, "package.json"), "utf8")).version;
  return {
    express: version("express"),
    "extend-ai": version("extend-ai"),
    "better-sqlite3": version("better-sqlite3"),
  };
}

/** Starts the peer. Resolves with its URL, process group id and `stop()`. */
export async function startPeerTarget({ stateDir, secret }) {
  const server = await startNodeServer(path.join(PEER_DIR, "server.mjs"), {
    cwd: PEER_DIR,
    env: { PEER_STATE_DIR: stateDir, EXTEND_SIGNING_SECRET: secret },
  });
  server.child.stdout.resume(); // nothing to read, but a full pipe would block the peer
  return {
    url: server.ready.url,
    pgid: server.child.pid,
    stderrTail: server.stderrTail,
    stop: () => stopGroup(server.child.pid),
  };
}

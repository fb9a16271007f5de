import { describe, expect, it } from "vitest";
import { runScript } from "./dev-server.mjs";
import { signExtendBody } from "./extend-signature.mjs";

function run(script, ...args) {
  // Nothing here may reach a server or a secret: a script that ignored --help would fail loudly.
  return runScript(script, args, {
    env: { ...process.env, RUNLEDGER_TOKEN: "", EXTEND_SIGNING_SECRET: "wss_cli_test" },
  });
}

const SCRIPTS = [
  ["start.mjs", "npm start"],
  ["token.mjs", "npm run token"],
  ["send.mjs", "npm run send"],
  ["sign-extend.mjs", "npm run -s sign"],
  ["watch.mjs", "npm run watch"],
  ["deploy.mjs", "npm run deploy"],
  ["screenshots.mjs", "npm run screenshots"],
];

describe("--help on every script", () => {
  it("--help and -h (also after other arguments) print the usage, exit 0 and do nothing else", async () => {
    const runs = SCRIPTS.flatMap(([script, usage]) =>
      [["--help"], ["-h"], ["--url", "http://127.0.0.1:9", "--help"]].map(async (args) => ({
        script,
        usage,
        args,
        result: await run(script, ...args),
      })),
    );
    for (const { script, usage, args, result } of await Promise.all(runs)) {
      expect(result.status, `${script} ${args.join(" ")}: ${result.stderr}`).toBe(0);
      expect(result.stdout, `${script} ${args.join(" ")}`).toMatch(/usage/i);
      expect(result.stdout).toContain(usage);
      // Printing the usage is all it did: no signature, no request, no server.
      expect(result.stdout).not.toMatch(/^(TS|SIG)=/m);
      expect(result.stdout).not.toContain("Applying local D1 migrations");
    }
  });

  it("sign no longer signs the string '--help' (nor any option)", async () => {
    const [help, option, body] = await Promise.all([
      run("sign-extend.mjs", "--help"),
      run("sign-extend.mjs", "--bogus"),
      run("sign-extend.mjs", '{"eventId":"evt_1"}'),
    ]);
    expect(help.stdout).not.toMatch(/^SIG=/m);
    expect(option.status).toBe(2);
    expect(option.stderr).toContain("unknown option --bogus");
    expect(body.status, body.stderr).toBe(0);
    const [, timestamp, signature] = /^TS=(\d+)\nSIG=(\S+)\n$/.exec(body.stdout) ?? [];
    expect(signature).toBe(await signExtendBody("wss_cli_test", timestamp, '{"eventId":"evt_1"}'));
  });

  // Each is a process of its own that exits at once: they run at the same time.
  it.concurrent.each([
    ["token.mjs", ["list", "--bogus"], "unknown option --bogus"],
    ["token.mjs", ["--bogus"], "unknown option --bogus"],
    ["send.mjs", ["extend", "classify_run.failed", "--bogus"], "unknown option --bogus"],
    ["send.mjs", ["--shuffle"], "--shuffle goes with --lifecycle"],
    ["send.mjs", ["--lifecycle", "stripe"], "--lifecycle needs a vendor: extend or alfred"],
    ["send.mjs", ["--lifecycle", "extend", "--repeat", "0"], "--repeat must be an integer from 1 to 100"],
    ["send.mjs", ["--lifecycle", "extend", "--seed", "7"], "--seed goes with --shuffle"],
    ["sign-extend.mjs", ["{}", "{}"], "give one body"],
    ["watch.mjs", ["job", "--token", "t", "--bogus"], "unknown option --bogus"],
    ["watch.mjs", ["job", "--token"], "--token needs a value"],
    ["screenshots.mjs", ["--bogus"], "unknown option --bogus"],
    ["deploy.mjs", ["--bogus"], "unknown option for wrangler deploy: bogus"],
  ])("%s %j exits 2 with a clear message", async (script, args, message) => {
    const result = await run(script, ...args);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain(message);
  });
});

#!/usr/bin/env node
// `npm run -s sign -- '<json body>'`: prints TS=… and SIG=… for a body, signed as Extend signs
// (HMAC-SHA256 over `v0:${timestamp}:${body}`, WebCrypto) with the first secret in .dev.vars.
import { signExtendBody } from "./extend-signature.mjs";
import { readDevVars } from "./lib.mjs";

const USAGE = "Usage: npm run -s sign -- '<json body>'   (prints TS=… and SIG=… for curl)";
const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(USAGE);
  process.exit(0);
}
// A JSON body never starts with "-": such an argument is a mistyped option, not something to sign.
const option = args.find((arg) => arg.startsWith("-"));
if (option !== undefined || args.length !== 1) {
  const problem =
    option !== undefined
      ? `Unknown option: ${option}`
      : args.length === 0
        ? "Give a body."
        : "Give one body (quote it).";
  console.error(`${problem}\n${USAGE}`);
  process.exit(2);
}
const [body] = args;
const secret = (process.env.EXTEND_SIGNING_SECRET ?? readDevVars().EXTEND_SIGNING_SECRETS ?? "").split(
  ",",
)[0];
if (!secret) {
  console.error("No secret: run `npm start` once (it creates .dev.vars) or set EXTEND_SIGNING_SECRET.");
  process.exit(2);
}
const timestamp = String(Math.floor(Date.now() / 1000));
console.log(`TS=${timestamp}`);
console.log(`SIG=${await signExtendBody(secret, timestamp, body)}`);

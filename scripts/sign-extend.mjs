#!/usr/bin/env node
// `npm run -s sign -- '<json body>'`: prints TS=… and SIG=… for a body, signed as Extend signs
// (HMAC-SHA256 over `v0:${timestamp}:${body}`, WebCrypto) with the first secret in .dev.vars.
import { signExtendBody } from "./extend-signature.mjs";
import { readDevVars } from "./lib.mjs";

const USAGE = "Usage: npm run -s sign -- '<json body>'   (prints TS=… and SIG=… for curl)";
const body = process.argv[2];
if (body === "--help" || body === "-h") {
  console.log(USAGE);
  process.exit(0);
}
if (body === undefined) {
  console.error(USAGE);
  process.exit(2);
}
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

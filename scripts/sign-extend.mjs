#!/usr/bin/env node
// `npm run -s sign -- '<json body>'`: prints TS=… and SIG=… for a body, signed as Extend signs
// (HMAC-SHA256 over `v0:${timestamp}:${body}`, WebCrypto) with the first secret in .dev.vars.
import { readDevVars } from "./lib.mjs";

const body = process.argv[2];
if (body === undefined) {
  console.error("Usage: npm run -s sign -- '<json body>'   (prints TS=… and SIG=… for curl)");
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
const encoder = new TextEncoder();
const key = await crypto.subtle.importKey(
  "raw",
  encoder.encode(secret),
  { name: "HMAC", hash: "SHA-256" },
  false,
  ["sign"],
);
const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`v0:${timestamp}:${body}`));
console.log(`TS=${timestamp}`);
console.log(`SIG=${Buffer.from(mac).toString("hex")}`);

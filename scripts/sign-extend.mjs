#!/usr/bin/env node
// `npm run -s sign -- '<json body>'`: prints TS=… and SIG=… for a body, signed as Extend signs
// (HMAC-SHA256 over `v0:${timestamp}:${body}`, WebCrypto) with the first secret in .dev.vars.
import { usage } from "./cli.mjs";
import { signExtendBody } from "./extend-signature.mjs";
import { readDevVars } from "./lib.mjs";

const USAGE = "Usage: npm run -s sign -- '<json body>'   (prints TS=… and SIG=… for curl)";
const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(USAGE);
  process.exit(0);
}
const { fail, unknownOption } = usage("sign", "npm run sign");
// A JSON body never starts with "-": such an argument is a mistyped option, not something to sign.
const option = args.find((arg) => arg.startsWith("-"));
if (option !== undefined) unknownOption(option, ["--help"]);
if (args.length === 0) fail("give a body");
if (args.length > 1) fail("give one body (quote it)");
const [body] = args;
const secret = (process.env.EXTEND_SIGNING_SECRET ?? readDevVars().EXTEND_SIGNING_SECRETS ?? "").split(
  ",",
)[0];
if (!secret) {
  console.error(
    "runledger sign: no secret: run `npm start` once (it creates .dev.vars) or set EXTEND_SIGNING_SECRET",
  );
  process.exit(1);
}
const timestamp = String(Math.floor(Date.now() / 1000));
console.log(`TS=${timestamp}`);
console.log(`SIG=${await signExtendBody(secret, timestamp, body)}`);

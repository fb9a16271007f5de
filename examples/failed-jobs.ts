/**
 * `npm run example -- TOKEN [BASE_URL]`: prints the failed jobs of a running runledger (by default
 * `npm start`'s, http://127.0.0.1:8787), each with its event types, through the typed client of
 * ./client.ts. TOKEN is a read token (`npm run token -- create --name example`).
 */
import { DetailedError } from "hono/client";
import { failedJobs } from "./client.js";

// Node's, declared here so the example needs no @types/node.
declare const process: { argv: string[]; exitCode?: number };

const [token, baseUrl = "http://127.0.0.1:8787"] = process.argv.slice(2);
if (token === undefined) {
  console.error("usage: npm run example -- TOKEN [BASE_URL]");
  process.exitCode = 2;
} else {
  try {
    console.log(JSON.stringify(await failedJobs(baseUrl, token), null, 2));
  } catch (error) {
    // A refused request: its status and the API's error envelope, {"error":{"code","message"}}.
    const answer =
      error instanceof DetailedError
        ? `${error.statusCode} ${JSON.stringify(error.detail?.data ?? error.detail)}`
        : String(error);
    console.error(`${baseUrl}: ${answer}`);
    process.exitCode = 1;
  }
}

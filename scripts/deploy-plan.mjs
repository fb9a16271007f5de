// What `npm run deploy` sets up on an account, as data and pure functions; scripts/deploy.mjs runs
// them against wrangler. docs/DEPLOY.md describes the whole flow.
import { createHash, randomBytes } from "node:crypto";
import { parseJsonc } from "./lib.mjs";

/** The `database_id` wrangler.jsonc ships with: any UUID works locally, never on an account. */
export const PLACEHOLDER_DATABASE_ID = "00000000-0000-4000-8000-000000000000";

/** The admin token the first deploy creates in the deployed database (`revoke --name` removes it). */
export const ADMIN_TOKEN_NAME = "deploy-admin";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Each vendor's secret (CONTRACT §2; declared by its adapter in src/vendors/<vendor>/index.ts) and
 * where its value comes from. A signing secret is made by the vendor, so it can only come from the
 * environment of the deploy; Alfred's URL token is ours to choose, so it is generated when absent.
 */
export const VENDOR_SECRETS = [
  {
    vendor: "Extend",
    name: "EXTEND_SIGNING_SECRETS",
    origin: "environment",
    example: "wss_…",
    route: "/webhooks/extend",
    refusal: "/webhooks/extend answers 401 invalid_signature to every delivery",
  },
  {
    vendor: "Alfred",
    name: "ALFRED_WEBHOOK_TOKENS",
    origin: "generated",
    route: "/webhooks/alfred/<token>",
    refusal: "/webhooks/alfred/<token> answers 401 unauthorized to every delivery",
  },
  {
    vendor: "Standard Webhooks",
    name: "STANDARD_WEBHOOK_SECRETS",
    origin: "environment",
    example: "whsec_…",
    route: "/webhooks/standard",
    refusal: "/webhooks/standard answers 401 invalid_signature to every delivery",
  },
];

/** What the config asks of the account: the Worker's name, the `DB` database, every queue. */
export function deployTargets(configText) {
  const config = parseJsonc(configText);
  const database = (config.d1_databases ?? []).find((entry) => entry.binding === "DB");
  if (!database?.database_name)
    throw new Error("the config has no D1 database bound as DB (with a database_name).");
  const queues = [];
  for (const producer of config.queues?.producers ?? []) queues.push(producer.queue);
  for (const consumer of config.queues?.consumers ?? [])
    queues.push(consumer.queue, consumer.dead_letter_queue);
  return {
    worker: config.name,
    database: { binding: "DB", name: database.database_name, id: database.database_id },
    queues: [...new Set(queues.filter(Boolean))],
  };
}

export function isPlaceholderId(id) {
  return id === undefined || id === PLACEHOLDER_DATABASE_ID;
}

/**
 * The config text with the placeholder `database_id` replaced by `id`, everything else (comments,
 * layout) unchanged. Throws unless the placeholder appears exactly once.
 */
export function recordDatabaseId(configText, id) {
  if (!UUID.test(id)) throw new Error(`"${id}" is not a D1 database id (a UUID).`);
  const placeholder = new RegExp(`("database_id"\\s*:\\s*")${PLACEHOLDER_DATABASE_ID}(")`, "g");
  const found = configText.match(placeholder)?.length ?? 0;
  if (found !== 1) {
    throw new Error(
      `expected the placeholder "database_id": "${PLACEHOLDER_DATABASE_ID}" once in the config, found it ${found} times; put ${id} in by hand.`,
    );
  }
  const text = configText.replace(placeholder, `$1${id}$2`);
  if (deployTargets(text).database.id !== id)
    throw new Error("the placeholder is not the DB binding's database_id.");
  return text;
}

/** The database id `wrangler d1 create` prints in its config snippet (JSON or TOML), or null. */
export function createdDatabaseId(output) {
  return /database_id["']?\s*[:=]\s*["']([0-9a-f-]{36})["']/i.exec(output)?.[1] ?? null;
}

/** The first JSON array in a wrangler output (`d1 list --json`, `secret list`, `d1 execute --json`). */
export function jsonArray(output) {
  const start = output.indexOf("[");
  if (start < 0) throw new Error(`expected JSON from wrangler, got: ${output.trim().slice(0, 200)}`);
  return JSON.parse(output.slice(start));
}

/**
 * What to do with each vendor secret, given the names the Worker already has and the environment:
 * an existing secret is kept (never overwritten); an absent one is set from the environment, or
 * generated (Alfred), or left unset with a note (its vendor's endpoint then refuses deliveries).
 */
export function planSecrets(existingNames, env, generate = newAlfredToken) {
  return VENDOR_SECRETS.map((secret) => {
    const fromEnv = env[secret.name]?.trim();
    if (existingNames.includes(secret.name)) return { ...secret, action: "keep", inEnv: Boolean(fromEnv) };
    if (fromEnv) return { ...secret, action: "set", value: fromEnv };
    if (secret.origin === "generated") return { ...secret, action: "generate", value: generate() };
    return { ...secret, action: "missing" };
  });
}

/** A URL token for Alfred: 32 random bytes, base64url (no `,`, `=` or `|`, which the list syntax uses). */
export function newAlfredToken() {
  return randomBytes(32).toString("base64url");
}

/** A read-API token and its SHA-256, as scripts/token.mjs makes them. */
export function newApiToken() {
  const token = `rl_${randomBytes(32).toString("base64url")}`;
  return { token, hash: createHash("sha256").update(token).digest("hex") };
}

/**
 * The Worker's addresses from `wrangler deploy`'s output: the targets it lists under "Deployed …
 * triggers" — `https://<name>.<subdomain>.workers.dev`, custom domains (`host (custom domain…)`),
 * route patterns. Returns { urls, routes }: urls are https origins, custom domains first.
 */
export function deployedAddresses(output) {
  const lines = output.split(/\r?\n/);
  const start = lines.findIndex((line) => /^Deployed \S+ triggers/.test(line.trim()));
  const urls = [];
  const custom = [];
  const routes = [];
  if (start < 0) return { urls, routes };
  for (const line of lines.slice(start + 1)) {
    if (!/^\s/.test(line) || line.trim() === "") break;
    const target = line.trim();
    if (/^https:\/\/\S+$/.test(target)) urls.push(target.replace(/\/$/, ""));
    else if (/\(custom domain/.test(target)) custom.push(`https://${target.split(/\s/)[0]}`);
    else if (!/^(Producer|Consumer) for |^schedule: |^workflow: /.test(target)) routes.push(target);
  }
  return { urls: [...custom, ...urls], routes };
}

/**
 * What to register with each vendor, once the Worker answers at `base`. A token generated by this
 * run is the only secret ever printed: the Alfred URL has to be registered with it.
 */
export function registrationLines(base, secrets) {
  const lines = [];
  for (const secret of secrets) {
    const state = {
      keep: "set on the Worker (kept)",
      set: "set now from the environment",
      generate: "generated now",
      missing: `NOT SET: ${secret.refusal}`,
    }[secret.action];
    if (secret.vendor === "Extend") {
      lines.push(
        `Extend: create a webhook endpoint (API version 2026-02-09) for ${base}/webhooks/extend;`,
        `  its signing secret (wss_…) belongs in EXTEND_SIGNING_SECRETS — ${state}.`,
      );
    } else if (secret.vendor === "Alfred") {
      const token =
        secret.action === "generate"
          ? secret.value
          : secret.action === "set"
            ? "<a token of ALFRED_WEBHOOK_TOKENS>"
            : "<your token>";
      lines.push(
        `Alfred: register ${base}/webhooks/alfred/${token}`,
        `  (POST /api/account/webhook with {"url": "<that URL>"}, or the web UI's "Real-Time Reporting");`,
        `  ALFRED_WEBHOOK_TOKENS — ${state}${secret.action === "generate" ? "; this URL is shown once" : ""}.`,
      );
    } else {
      lines.push(
        `${secret.vendor}: register ${base}${secret.route} with the sender;`,
        `  the secret it shows (whsec_…) belongs in ${secret.name} — ${state}.`,
      );
    }
    if (secret.action === "missing") {
      lines.push(`  Set it with: ${secret.name}=${secret.example} npm run deploy`);
    }
  }
  return lines;
}

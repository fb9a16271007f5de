/**
 * @module The shared settings read from the environment, with the contract's defaults (CONTRACT
 * §2). Each vendor's own settings (its secrets, say) are declared and parsed by its adapter
 * (`VendorAdapter.readSettings`), beside these.
 */

export interface Settings {
  /** How old a signature timestamp may be, in seconds (Extend, Standard Webhooks). */
  toleranceSeconds: number;
  maxBodyBytes: number;
  /** Whether each accepted delivery gets a log line (refusals, quarantines and failures always do). */
  logDeliveries: boolean;
  /**
   * `FUTURE_HORIZON_SECONDS` (CONTRACT §4 "Clocks"): how far after its receipt an event's own time
   * is believed for ordering (`orderTime`), 24 h by default; null (`0`) believes it whatever it says.
   */
  futureHorizonMs: number | null;
}

export const DEFAULT_TOLERANCE_SECONDS = 300;
export const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024;
export const DEFAULT_FUTURE_HORIZON_SECONDS = 86_400;
export const DEFAULT_MAX_STREAMS_PER_TOKEN = 20;
/** Extend's SDK (and Standard Webhooks' libraries) allow this much clock skew into the future. */
export const FUTURE_SKEW_SECONDS = 60;

/** A comma-separated setting's items, trimmed, empty ones dropped; an unset one has none. */
export function commaList(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function positiveInt(value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === "") return fallback;
  const parsed = Number(value);
  return Number.isInteger(parsed) && parsed > 0 ? parsed : fallback;
}

/** `MAX_STREAMS_PER_TOKEN`: open job streams plus waiting long polls one read token may hold. */
export function maxStreamsPerToken(value: string | undefined): number {
  return positiveInt(value, DEFAULT_MAX_STREAMS_PER_TOKEN);
}

/** The future horizon in ms: `0` turns the cap off (null); unset or unreadable, the default. */
function horizonMs(value: string | undefined): number | null {
  if (value !== undefined && value.trim() !== "" && Number(value) === 0) return null;
  return positiveInt(value, DEFAULT_FUTURE_HORIZON_SECONDS) * 1000;
}

export function readSettings(env: Env): Settings {
  return {
    toleranceSeconds: positiveInt(env.SIGNATURE_TOLERANCE_SECONDS, DEFAULT_TOLERANCE_SECONDS),
    maxBodyBytes: positiveInt(env.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES),
    logDeliveries: env.LOG_DELIVERIES?.trim().toLowerCase() === "true",
    futureHorizonMs: horizonMs(env.FUTURE_HORIZON_SECONDS),
  };
}

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
   * `FUTURE_HORIZON_SECONDS`: how far after its receipt an event's own time is believed for
   * ordering (`orderTime`); null (the default) believes it whatever it says, as CONTRACT §4 does.
   */
  futureHorizonMs: number | null;
}

export const DEFAULT_TOLERANCE_SECONDS = 300;
export const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024;
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

export function readSettings(env: Env): Settings {
  return {
    toleranceSeconds: positiveInt(env.SIGNATURE_TOLERANCE_SECONDS, DEFAULT_TOLERANCE_SECONDS),
    maxBodyBytes: positiveInt(env.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES),
    logDeliveries: env.LOG_DELIVERIES?.trim().toLowerCase() === "true",
    futureHorizonMs:
      positiveInt(env.FUTURE_HORIZON_SECONDS, 0) === 0
        ? null
        : positiveInt(env.FUTURE_HORIZON_SECONDS, 0) * 1000,
  };
}

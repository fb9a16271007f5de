/**
 * @module The one error type and the one error envelope of the whole API:
 * `{"error":{"code":"…","message":"…"}}` (CONTRACT §3.3). Handlers throw {@link ApiError};
 * the app's `onError` renders it.
 */

/** Every error code the API answers with; `/openapi.json` lists them as the envelope's `code` enum. */
export const ERROR_CODES = [
  "missing_signature",
  "invalid_signature",
  "stale_timestamp",
  "unauthorized",
  "forbidden",
  "forbidden_company",
  "payload_too_large",
  "method_not_allowed",
  "storage_unavailable",
  "payload_fetch_failed",
  "too_many_streams",
  "invalid_request",
  "still_invalid",
  "retry_in_progress",
  "not_found",
  "internal_error",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Seconds a vendor (or client) is told to wait before retrying a 503 or a 429. */
export const RETRY_AFTER_SECONDS = 5;

/** The HTTP status of each code (one status per code, so a client can rely on either). */
export const ERROR_STATUS: Record<ErrorCode, number> = {
  missing_signature: 401,
  invalid_signature: 401,
  stale_timestamp: 401,
  unauthorized: 401,
  forbidden: 403,
  forbidden_company: 403,
  payload_too_large: 413,
  method_not_allowed: 405,
  storage_unavailable: 503,
  payload_fetch_failed: 503,
  too_many_streams: 429,
  invalid_request: 400,
  still_invalid: 422,
  retry_in_progress: 409,
  not_found: 404,
  internal_error: 500,
};

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Seconds the client is told to wait (`Retry-After`); every 503 has {@link RETRY_AFTER_SECONDS}. */
  readonly retryAfterSeconds: number | null;

  constructor(code: ErrorCode, message: string, options: { retryAfterSeconds?: number } = {}) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.retryAfterSeconds =
      options.retryAfterSeconds ?? (this.status === 503 || this.status === 429 ? RETRY_AFTER_SECONDS : null);
  }
}

/** Renders an error in the contract's envelope; 503s, 429s and a 409 `retry_in_progress` carry `Retry-After`. */
export function errorResponse(error: ApiError, extraHeaders?: HeadersInit): Response {
  const headers = new Headers(extraHeaders);
  headers.set("content-type", "application/json; charset=utf-8");
  if (error.retryAfterSeconds !== null) headers.set("retry-after", String(error.retryAfterSeconds));
  return new Response(JSON.stringify({ error: { code: error.code, message: error.message } }), {
    status: error.status,
    headers,
  });
}

export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

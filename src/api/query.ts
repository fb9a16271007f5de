/** @module Query-parameter parsing shared by the list routes: one clear 400 per bad parameter. */
import { ApiError } from "../http/errors";
import { decodeCursor, type Position } from "./cursor";

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 200;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

function invalid(name: string, message: string): never {
  throw new ApiError("invalid_request", `Invalid query parameter "${name}": ${message}`);
}

export function single(url: URL, name: string): string | null {
  const values = url.searchParams.getAll(name);
  if (values.length > 1) invalid(name, "give it once");
  return values[0] ?? null;
}

/** A comma-separated list; each item must pass `allowed` when given. */
export function list<T extends string>(url: URL, name: string, allowed?: readonly T[]): T[] | null {
  const raw = single(url, name);
  if (raw === null) return null;
  const items = raw.split(",").map((item) => item.trim());
  if (items.some((item) => item.length === 0)) invalid(name, "empty item in the list");
  if (allowed !== undefined) {
    for (const item of items) {
      if (!(allowed as readonly string[]).includes(item))
        invalid(name, `"${item}" is not one of ${allowed.join(", ")}`);
    }
  }
  return items as T[];
}

export function limit(url: URL): number {
  const raw = single(url, "limit");
  if (raw === null) return DEFAULT_LIMIT;
  if (!/^\d+$/.test(raw)) invalid("limit", `must be an integer from 1 to ${MAX_LIMIT}`);
  const value = Number(raw);
  if (value < 1 || value > MAX_LIMIT) invalid("limit", `must be an integer from 1 to ${MAX_LIMIT}`);
  return value;
}

export function time(url: URL, name: string): number | null {
  const raw = single(url, name);
  if (raw === null) return null;
  const ms = ISO_8601.test(raw) ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(ms)) invalid(name, "must be an ISO 8601 date-time");
  return ms;
}

export function cursor(url: URL): Position | null {
  const raw = single(url, "cursor");
  if (raw === null) return null;
  return decodeCursor(raw) ?? invalid("cursor", "not a cursor returned by this API");
}

/** Intersects a requested filter with a token's scope; an empty result means "nothing matches". */
export function within<T extends string>(requested: T[] | null, scoped: T | null): T[] | null {
  if (scoped === null) return requested;
  if (requested === null) return [scoped];
  return requested.filter((item) => item === scoped);
}

/**
 * @module Reprojection's cursors (src/api/reproject.ts): a place in the key registry and a job
 * key, in the codec of src/core/cursor.ts.
 */
import * as v from "valibot";
import { decode, encode } from "../core/cursor";
import { REGISTRY_SHARDS, type RegistryPosition } from "../registry/key-registry";

const registryPositionSchema = v.strictObject({
  s: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(REGISTRY_SHARDS - 1)),
  k: v.string(),
});

export function encodeRegistryCursor(position: RegistryPosition): string {
  return encode({ s: position.shard, k: position.after });
}

/** The position in a reprojection cursor, or null if the cursor is not one of reprojection's. */
export function decodeRegistryCursor(cursor: string): RegistryPosition | null {
  const position = decode(registryPositionSchema, cursor);
  return position === null ? null : { shard: position.s, after: position.k };
}

const keyPositionSchema = v.strictObject({ j: v.string() });

/** A position in D1's jobs by key, for seeding the registry from D1. */
export function encodeKeyCursor(jobKey: string): string {
  return encode({ j: jobKey });
}

export function decodeKeyCursor(cursor: string): string | null {
  return decode(keyPositionSchema, cursor)?.j ?? null;
}

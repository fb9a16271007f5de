/**
 * @module Intersecting a requested filter with a token's scope (CONTRACT §5), and the list's
 * `category` as conditions on the source and kind columns.
 */
import type { JobCategory } from "../projection/jobs";
import { RESOURCE_KINDS } from "../vendors/registry";

/** `category=run|resource` as the projection's filter: which kinds of which source are resources. */
export function categoryOf(only: "run" | "resource" | undefined): JobCategory | null {
  return only === undefined ? null : { only, resourceKinds: RESOURCE_KINDS };
}

/** The filter values both requested and in scope; an empty result means "nothing matches". */
export function within<T extends string>(requested: T[] | undefined | null, scoped: T | null): T[] | null {
  if (scoped === null) return requested ?? null;
  if (requested === undefined || requested === null) return [scoped];
  return requested.filter((item) => item === scoped);
}

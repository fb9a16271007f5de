/** @module Intersecting a requested filter with a token's scope (CONTRACT §5). */

/** The filter values both requested and in scope; an empty result means "nothing matches". */
export function within<T extends string>(requested: T[] | undefined | null, scoped: T | null): T[] | null {
  if (scoped === null) return requested ?? null;
  if (requested === undefined || requested === null) return [scoped];
  return requested.filter((item) => item === scoped);
}

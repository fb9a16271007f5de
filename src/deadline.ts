/** @module Waiting for work under a deadline: a ledger that hangs is as unavailable as one that fails. */

/** Resolves as `work` does, or rejects once `ms` have passed. */
export async function withDeadline<T>(work: Promise<T>, ms: number, what = "work"): Promise<T> {
  let timer: number | null = null;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `condition` every 10 ms until it holds, for tests that watch something another thread or
 * process changes.
 *
 * @throws Error when it does not hold within `timeoutMs`
 */
export async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`Condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

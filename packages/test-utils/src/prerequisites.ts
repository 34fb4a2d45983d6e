import { existsSync } from 'node:fs';

/** Whether a test file can use its real runtime, and what to do when it cannot. */
export interface Prerequisites {
  /** Why the runtime cannot run here; undefined when it can. */
  readonly missing: string | undefined;
  /**
   * True when something is missing and `CI=true`: the suite must then fail (a companion test throws
   * `missing`), never skip. On a developer machine without .NET the suite is skipped with a warning.
   */
  readonly mustFail: boolean;
}

/**
 * Checks the prerequisites of a test suite that needs a real runtime (the .NET SDK, a built host)
 * and applies the rule every such suite follows: skip with a warning on a developer machine, fail
 * in CI. `checks` run in order; the first that names a problem wins.
 *
 * @param suite - the package, for the warning (`executor-pwsh`)
 * @param checks - each returns why something is missing, or undefined
 * @returns `missing` and `mustFail` for `describe.skipIf` / `describe.runIf`
 * @example
 * export const { missing, mustFail } = checkPrerequisites('executor-pwsh', [
 *   () => (findDotnet() ? undefined : DOTNET_MISSING),
 *   () => notBuilt(getPwshHostPath()),
 * ]);
 */
export function checkPrerequisites(
  suite: string,
  checks: readonly (() => string | undefined)[],
): Prerequisites {
  let missing: string | undefined;
  for (const check of checks) {
    missing = check();
    if (missing !== undefined) break;
  }
  const mustFail = missing !== undefined && process.env.CI === 'true';
  if (missing !== undefined && !mustFail) console.warn(`[${suite} tests] skipped: ${missing}`);
  return { missing, mustFail };
}

/** What {@link checkPrerequisites} reports when `dotnet` cannot be found. */
export const DOTNET_MISSING = 'the .NET SDK (`dotnet`) is not on PATH';

/** A check for a build output: undefined when `path` exists. */
export function notBuilt(path: string): string | undefined {
  return existsSync(path) ? undefined : `${path} is not built (run \`pnpm turbo run build\`)`;
}

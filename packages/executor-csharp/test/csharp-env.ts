import { existsSync } from 'node:fs';
import { findDotnet } from '@kr/dotnet-host';
import { getCSharpHostPath } from '../src/index.js';

function whyMissing(): string | undefined {
  if (!findDotnet()) return 'the .NET SDK (`dotnet`) is not on PATH';
  if (!existsSync(getCSharpHostPath()))
    return `${getCSharpHostPath()} is not built (run \`pnpm turbo run build\`)`;
  return undefined;
}

/** Why the C# host cannot run here (undefined when it can). */
export const missing = whyMissing();
/** In CI (CI=true) a missing .NET or C# host is a failure, never a skip. */
export const mustFail = missing !== undefined && process.env.CI === 'true';
if (missing && !mustFail) console.warn(`[executor-csharp tests] skipped: ${missing}`);

/** The tutorial's C# task, verbatim (argument `total`, in ms). */
export const TUTORIAL_CS = `var steps = 5;
for (int i = 1; i <= steps; i++)
{
var pct = (i - 1) * 100 / steps;
TaskProgress.StatusMessage = $"Working {i}/{steps}";
TaskProgress.PercentComplete = pct;
await Task.Delay(total / steps);
}
TaskProgress.Complete("Completed");
"CS task done at " + DateTime.UtcNow.ToString("o")`;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

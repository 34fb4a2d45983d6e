import { existsSync } from 'node:fs';
import { findDotnet } from '@kr/dotnet-host';
import { getPwshHostPath } from '../src/index.js';

function whyMissing(): string | undefined {
  if (!findDotnet()) return 'the .NET SDK (`dotnet`) is not on PATH';
  if (!existsSync(getPwshHostPath()))
    return `${getPwshHostPath()} is not built (run \`pnpm turbo run build\`)`;
  return undefined;
}

/** Why the PowerShell host cannot run here (undefined when it can). */
export const missing = whyMissing();
/** In CI (CI=true) a missing .NET or PowerShell host is a failure, never a skip. */
export const mustFail = missing !== undefined && process.env.CI === 'true';
if (missing && !mustFail) console.warn(`[executor-pwsh tests] skipped: ${missing}`);

/** The tutorial's script, verbatim. */
export const TUTORIAL = `Write-Debug "Task started, will sleep for $sec seconds"
if ($sec -lt 1) { $sec = 1 }
for ($i = 1; $i -le $sec; $i++) {
if ($i -lt $sec) {
$TaskProgress.StatusMessage = "Sleeping ($i/$sec)"
$TaskProgress.PercentComplete = [int](($i - 1) * 100 / $sec)
}
Start-Sleep -Seconds 1
}
$TaskProgress.Complete('Completed')
'PS task done at ' + (Get-Date).ToString('o')`;

/** The tutorial's one-shot variant: `$seconds`, returns Get-Date. */
export const TUTORIAL_ONE_SHOT = `Write-Debug "Task started, will sleep for $seconds seconds"
if ($seconds -lt 1) { $seconds = 1 }
for ($i = 1; $i -le $seconds; $i++) {
if ($i -lt $seconds) {
$TaskProgress.StatusMessage = "Sleeping ($i/$seconds)"
$TaskProgress.PercentComplete = [int](($i - 1) * 100 / $seconds)
}
Start-Sleep -Seconds 1
}
$TaskProgress.Complete('Completed')
Get-Date`;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

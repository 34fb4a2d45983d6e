import { findDotnet } from '@kr/dotnet-host';
import { checkPrerequisites, DOTNET_MISSING, notBuilt } from '@kr/test-utils';
import { getPwshHostPath } from '../src/index.js';

/** Why the PowerShell host cannot run here (undefined when it can); in CI that fails the suite. */
export const { missing, mustFail } = checkPrerequisites('executor-pwsh', [
  () => (findDotnet() ? undefined : DOTNET_MISSING),
  () => notBuilt(getPwshHostPath()),
]);

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

export { sleep, waitFor } from '@kr/test-utils';

/**
 * The tutorial's scripts, verbatim (docs/pwsh/tutorial/20.Tasks/1.Tasks.md, example 20.1-Task.ps1).
 */

/** `/tasks/create/ps`: sleeps `$sec` seconds, reporting `Sleeping (i/n)`. */
export const PS_SLEEP_SCRIPT = `Write-Debug "Task started, will sleep for $sec seconds"
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

/** `/tasks/create/cs`: five steps over `total` milliseconds, reporting `Working i/5`. */
export const CS_WORK_SCRIPT = `var steps = 5;
for (int i = 1; i <= steps; i++)
{
var pct = (i - 1) * 100 / steps;
TaskProgress.StatusMessage = $"Working {i}/{steps}";
TaskProgress.PercentComplete = pct;
await Task.Delay(total / steps);
}
TaskProgress.Complete("Completed");
"CS task done at " + DateTime.UtcNow.ToString("o")`;

/** `/tasks/run/ps`: the one-shot task; its result is the current date. */
export const PS_ONE_SHOT_SCRIPT = `for (
$i = 1; $i -le $seconds; $i++
) {
if ($i -lt $seconds) {
$TaskProgress.StatusMessage = "Sleeping ($i/$seconds)"
$TaskProgress.PercentComplete = [int](($i - 1) * 100 / $seconds)
}
Start-Sleep -Seconds 1
}
$TaskProgress.Complete('Completed')
Get-Date`;

import { findDotnet } from '@kr/dotnet-host';
import { checkPrerequisites, DOTNET_MISSING, notBuilt } from '@kr/test-utils';
import { getCSharpHostPath } from '../src/index.js';

/** Why the C# host cannot run here (undefined when it can); in CI that fails the suite. */
export const { missing, mustFail } = checkPrerequisites('executor-csharp', [
  () => (findDotnet() ? undefined : DOTNET_MISSING),
  () => notBuilt(getCSharpHostPath()),
]);

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

export { sleep, waitFor } from '@kr/test-utils';

using Kr.Host;
using Kr.Pwsh.Host;

// The PowerShell script host: the shared Kr.Host loop around a pool of PowerShell 7.6 runspaces.
// Usage: kr-pwsh-host --socket PATH   (KR_PWSH_POOL_SIZE, KR_PWSH_RESULT_DEPTH in the environment)
var poolSize = int.TryParse(Environment.GetEnvironmentVariable("KR_PWSH_POOL_SIZE"), out var n) && n > 0 ? n : 8;
var depth = int.TryParse(Environment.GetEnvironmentVariable("KR_PWSH_RESULT_DEPTH"), out var d) && d > 0 ? d : ResultSerializer.DefaultDepth;
return await HostRuntime.RunAsync(args, new PwshEngine(poolSize, depth));

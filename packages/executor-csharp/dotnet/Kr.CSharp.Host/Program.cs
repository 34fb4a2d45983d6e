using Kr.Host;
using Kr.Roslyn;

// The C#/VB.NET script host: the shared Kr.Host loop around the Roslyn engine.
// Usage: kr-csharp-host --socket PATH   (KR_ROSLYN_CACHE_CAPACITY, KR_ROSLYN_MAX_RESULT_DEPTH,
// KR_ROSLYN_MAX_RESULT_NODES, KR_ROSLYN_COLLECT_AFTER_UNLOADS in the environment; defaults 256 / 64 /
// 100,000 / 32).
static int Env(string name, int fallback) =>
    int.TryParse(Environment.GetEnvironmentVariable(name), out var value) && value > 0 ? value : fallback;

var defaults = new RoslynEngineOptions();
var options = new RoslynEngineOptions
{
    CacheCapacity = Env("KR_ROSLYN_CACHE_CAPACITY", defaults.CacheCapacity),
    MaxResultDepth = Env("KR_ROSLYN_MAX_RESULT_DEPTH", defaults.MaxResultDepth),
    MaxResultNodes = Env("KR_ROSLYN_MAX_RESULT_NODES", defaults.MaxResultNodes),
    CollectAfterUnloads = int.TryParse(Environment.GetEnvironmentVariable("KR_ROSLYN_COLLECT_AFTER_UNLOADS"), out var c) && c >= 0
        ? c : defaults.CollectAfterUnloads,
};
// RunAsync may compile before its first await (a handle the host never saw, other argument types), so
// StartsRunsInline stays false: runs start on the pool, never on the channel's read loop.
return await HostRuntime.RunAsync(args, new RoslynScriptEngine(options));

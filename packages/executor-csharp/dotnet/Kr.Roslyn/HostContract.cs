// The engine implements the shared host contract (packages/dotnet-host/dotnet/Kr.Host/ScriptEngine.cs).
// Aliases rather than `using Kr.Host;`: Kr.Host's `Diagnostic` would clash with Microsoft.CodeAnalysis.Diagnostic.
global using IScriptEngine = Kr.Host.IScriptEngine;
global using ITaskContext = Kr.Host.ITaskContext;
global using PrepareRequest = Kr.Host.PrepareRequest;
global using PrepareResponse = Kr.Host.PrepareResponse;
global using RunRequest = Kr.Host.RunRequest;
global using RunResponse = Kr.Host.RunResponse;
global using ScriptDiagnostic = Kr.Host.Diagnostic;
global using ScriptError = Kr.Host.ScriptError;

namespace Kr.Roslyn;

/// <summary>The values of <see cref="RunResponse.Status"/>.</summary>
public static class RunStatus
{
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
}

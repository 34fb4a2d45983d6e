using System.Text.Json.Nodes;

namespace Kr.Host;

/// <summary>A compile or parse message positioned in the user's code (1-based).</summary>
public sealed record Diagnostic(string? Id, string Severity, string Message, int Line, int Column, int? EndLine = null, int? EndColumn = null);

/// <summary>What Node asks an engine to prepare: parse/compile once, run later.</summary>
public sealed record PrepareRequest(string Language, string Code, JsonObject Args);

/// <summary>The answer to <see cref="PrepareRequest"/>. <c>Handle</c> is opaque to Node and comes back in runs.</summary>
public sealed record PrepareResponse(bool Ok, string? Handle, IReadOnlyList<Diagnostic> Diagnostics)
{
    public static PrepareResponse Success(string handle, IReadOnlyList<Diagnostic>? warnings = null) => new(true, handle, warnings ?? []);
    public static PrepareResponse Failure(IReadOnlyList<Diagnostic> diagnostics) => new(false, null, diagnostics);
}

/// <summary>One task to run. <c>Code</c> is always sent, so a restarted host can run a handle it never saw.</summary>
public sealed record RunRequest(string TaskId, string Language, string? Handle, string Code, JsonObject Args);

/// <summary>A script failure as data.</summary>
public sealed record ScriptError(string Message, string Type, int? Line = null, int? Column = null, string? Code = null, string? Category = null, string? Stack = null);

/// <summary>How a run ended: <c>completed</c> (with <c>Result</c>), <c>failed</c> (with <c>Error</c>) or <c>cancelled</c>.</summary>
public sealed record RunResponse(string Status, JsonNode? Result, ScriptError? Error)
{
    public static RunResponse Completed(JsonNode? result) => new("completed", result, null);
    public static RunResponse Failed(ScriptError error) => new("failed", null, error);
    public static RunResponse Cancelled() => new("cancelled", null, null);
}

/// <summary>What a running task may report. Thread-safe; calls are cheap (coalesced by the host).</summary>
public interface ITaskContext
{
    string TaskId { get; }
    /// <summary>Latest wins: a flood of updates is coalesced, never queued without bound.</summary>
    void ReportProgress(int percent, string message);
    /// <summary>One record of output on a stream (<c>stdout</c>, <c>stderr</c>, <c>error</c>, <c>warning</c>, <c>verbose</c>, <c>debug</c>, <c>information</c>).</summary>
    void WriteOutput(string stream, string text);
    /// <summary>
    /// Routes <c>Console.Out</c>/<c>Console.Error</c> writes made on the given managed thread to this task
    /// until the task ends (for engines whose code runs on a thread they own, such as a PowerShell pipeline thread).
    /// Writes from async code that flows this task's ExecutionContext are attributed automatically.
    /// </summary>
    void BindThread(int managedThreadId);
}

/// <summary>
/// A language engine plugged into the shared host (<see cref="HostRuntime"/>). The PowerShell host and
/// the C#/VB host each implement it; the channel, attribution, coalescing and health are shared.
/// </summary>
public interface IScriptEngine
{
    /// <summary>Canonical language names, lower case.</summary>
    IReadOnlyList<string> Languages { get; }
    /// <summary>Called once before the host reports ready: make the first run fast.</summary>
    Task WarmupAsync(CancellationToken ct);
    /// <summary>After ready: finish warming in the background (remaining pool members, caches).</summary>
    Task BackgroundWarmupAsync(CancellationToken ct) => Task.CompletedTask;
    /// <summary>
    /// True when <see cref="RunAsync"/> never blocks before its first await, so the host may call it on
    /// the channel's read loop (one thread hop less per task). Default false: it is called on the pool.
    /// </summary>
    bool StartsRunsInline => false;
    /// <summary>Called on a pool thread; may block (compile).</summary>
    PrepareResponse Prepare(PrepareRequest request);
    /// <summary>Runs to the end. Cancellation is cooperative and must be acted on at once (never block the caller).</summary>
    Task<RunResponse> RunAsync(RunRequest request, ITaskContext context, CancellationToken cancellation);
    /// <summary>Abandons what a task left stuck (discard the runspace, abandon the thread). Its RunAsync must then end promptly.</summary>
    void ForceStop(string taskId);
    void Release(string handle);
    IDictionary<string, object?> Health();
}

/// <summary>A context that discards everything: for engine warm-up runs.</summary>
public sealed class NullTaskContext(string taskId) : ITaskContext
{
    public string TaskId { get; } = taskId;
    public void ReportProgress(int percent, string message) { }
    public void WriteOutput(string stream, string text) { }
    public void BindThread(int managedThreadId) { }
}

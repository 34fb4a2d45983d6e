using System.ComponentModel;

namespace Kr.Roslyn;

/// <summary>
/// The globals object of every C# script and the parameter of every VB wrapper. Its public members are
/// visible to C# scripts as plain identifiers. It lives in this (on-disk, default-ALC) assembly: script
/// assemblies reference it, never the other way round (roslyn#6101, #72366).
/// </summary>
public sealed class ScriptGlobals
{
    public ScriptGlobals(string taskId, ScriptTaskProgress progress, CancellationToken token, object?[] args)
    {
        TaskId = taskId;
        TaskProgress = progress;
        TaskCancellationToken = token;
        __KrArgs = args;
    }

    /// <summary>Id of the running task.</summary>
    public string TaskId { get; }

    /// <summary>Progress reporting (percent 0..100 + status message).</summary>
    public ScriptTaskProgress TaskProgress { get; }

    /// <summary>Cancelled when the task is cancelled.</summary>
    public CancellationToken TaskCancellationToken { get; }

    /// <summary>Short alias of <see cref="TaskCancellationToken"/>: <c>await Task.Delay(200, ct)</c>.</summary>
#pragma warning disable IDE1006
    public CancellationToken ct => TaskCancellationToken;

    /// <summary>Argument values in signature order; read by the generated preamble only.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public object?[] __KrArgs { get; }
#pragma warning restore IDE1006
}

/// <summary>
/// The <c>TaskProgress</c> object a script sees. Thread-safe; every change is reported to the host
/// through <see cref="ITaskContext.ReportProgress"/>.
/// </summary>
public sealed class ScriptTaskProgress
{
    private readonly object _gate = new();
    private readonly Action<int, string>? _report;
    private int _percent;
    private string _message;

    public ScriptTaskProgress(Action<int, string>? report, int percent = 0, string message = "Running")
    {
        _report = report;
        _percent = Math.Clamp(percent, 0, 100);
        _message = string.IsNullOrWhiteSpace(message) ? "Running" : message;
    }

    /// <summary>0..100; values outside are clamped.</summary>
    public int PercentComplete
    {
        get { lock (_gate) return _percent; }
        set => Set(value, null, false);
    }

    /// <summary>Never blank: setting null, empty or whitespace throws <see cref="ArgumentException"/>.</summary>
    public string StatusMessage
    {
        get { lock (_gate) return _message; }
        set => Set(null, value, true);
    }

    /// <summary>100% with the given message.</summary>
    public void Complete(string message = "Completed") => Set(100, message, true);

    /// <summary>Keeps the percentage; sets the message.</summary>
    public void Fail(string message = "Failed") => Set(null, message, true);

    /// <summary>Keeps the percentage; sets the message.</summary>
    public void Cancel(string message = "Cancelled") => Set(null, message, true);

    /// <summary>0% with the given message.</summary>
    public void Reset(string message = "Not started") => Set(0, message, true);

    public override string ToString()
    {
        lock (_gate) return $"{_percent}% - {_message}";
    }

    private void Set(int? percent, string? message, bool setMessage)
    {
        if (setMessage && string.IsNullOrWhiteSpace(message))
            throw new ArgumentException("StatusMessage must not be blank.", nameof(StatusMessage));
        int p; string m;
        lock (_gate)
        {
            if (percent is int v) _percent = Math.Clamp(v, 0, 100);
            if (setMessage) _message = message!;
            p = _percent; m = _message;
        }
        // Reported outside the lock; a failing sink must not break the script.
        try { _report?.Invoke(p, m); } catch { /* host sink failures are the host's problem */ }
    }
}

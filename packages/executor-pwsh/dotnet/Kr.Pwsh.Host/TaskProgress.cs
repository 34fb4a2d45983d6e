using Kr.Host;

namespace Kr.Pwsh.Host;

/// <summary>
/// <c>$TaskProgress</c> inside a script. Same rules as @kr/core's TaskProgress: PercentComplete is
/// clamped to 0..100, a blank StatusMessage is an error thrown into the script, Complete() sets 100,
/// Fail()/Cancel() keep the percentage, Reset() goes back to 0. Every change is reported (coalesced).
/// </summary>
public sealed class TaskProgress
{
    private readonly object _gate = new();
    private readonly ITaskContext _context;
    private int _percent;
    private string _message = "Running";

    public TaskProgress(ITaskContext context) => _context = context;

    public int PercentComplete
    {
        get { lock (_gate) return _percent; }
        set => Set(Math.Clamp(value, 0, 100), null);
    }

    public string StatusMessage
    {
        get { lock (_gate) return _message; }
        set => Set(null, Validate(value));
    }

    public void Complete() => Complete("Completed");
    public void Complete(string message) => Set(100, Validate(message));
    public void Fail() => Fail("Failed");
    public void Fail(string message) => Set(null, Validate(message));
    public void Cancel() => Cancel("Cancelled");
    public void Cancel(string message) => Set(null, Validate(message));
    public void Reset() => Reset("Not started");
    public void Reset(string message) => Set(0, Validate(message));

    public override string ToString() { lock (_gate) return $"{_percent}% - {_message}"; }

    private static string Validate(string? message) =>
        string.IsNullOrWhiteSpace(message) ? throw new ArgumentException("StatusMessage must be a non-blank string.", nameof(message)) : message;

    private void Set(int? percent, string? message)
    {
        int p; string m;
        lock (_gate)
        {
            p = percent ?? _percent;
            m = message ?? _message;
            if (p == _percent && m == _message) return;
            _percent = p;
            _message = m;
        }
        _context.ReportProgress(p, m);
    }
}

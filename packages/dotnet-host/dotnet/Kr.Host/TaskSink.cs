using System.Text;
using System.Text.Json.Nodes;

namespace Kr.Host;

/// <summary>Limits the host applies per task before anything crosses the channel.</summary>
public sealed record SinkLimits(int MaxRecordsPerTask = 10_000, int MaxRecordChars = 16 * 1024, int MaxPendingRecords = 2_000);

/// <summary>
/// One running task's event buffer: progress is latest-wins, output is batched, and the
/// <see cref="EventPump"/> flushes both within a few milliseconds. Bounded: records past the per-task
/// cap (or past the pending cap between two flushes) are counted as dropped, never queued.
/// </summary>
public sealed class TaskSink : ITaskContext
{
    private readonly object _gate = new();
    private readonly EventPump _pump;
    private readonly SinkLimits _limits;
    private (int Percent, string Message)? _progress;
    private List<JsonObject> _pending = new();
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private int _total;
    private long _dropped;
    private long _reportedDropped;
    private bool _queued;
    private bool _closed;
    private readonly List<int> _threads = new();

    internal TaskSink(string taskId, EventPump pump, SinkLimits limits)
    {
        TaskId = taskId;
        _pump = pump;
        _limits = limits;
    }

    public string TaskId { get; }
    public bool IsClosed { get { lock (_gate) return _closed; } }

    public void ReportProgress(int percent, string message)
    {
        lock (_gate)
        {
            if (_closed) return;
            _progress = (Math.Clamp(percent, 0, 100), message);
            MarkDirty();
        }
    }

    public void WriteOutput(string stream, string text)
    {
        lock (_gate)
        {
            if (_closed) return;
            Add(stream, text);
        }
    }

    public void BindThread(int managedThreadId)
    {
        lock (_gate) _threads.Add(managedThreadId);
        TaskConsole.BindThread(managedThreadId, this);
    }

    /// <summary>Console text: buffered until a newline so one WriteLine is one record.</summary>
    internal void WriteConsole(string stream, ReadOnlySpan<char> text)
    {
        lock (_gate)
        {
            if (_closed) return;
            var buffer = stream == "stderr" ? _stderr : _stdout;
            foreach (var c in text)
            {
                if (c == '\n')
                {
                    var line = buffer.Length > 0 && buffer[^1] == '\r' ? buffer.ToString(0, buffer.Length - 1) : buffer.ToString();
                    buffer.Clear();
                    Add(stream, line);
                }
                else
                {
                    buffer.Append(c);
                    if (buffer.Length >= _limits.MaxRecordChars) { Add(stream, buffer.ToString()); buffer.Clear(); }
                }
            }
        }
    }

    private void Add(string stream, string text)
    {
        if (_total >= _limits.MaxRecordsPerTask || _pending.Count >= _limits.MaxPendingRecords)
        {
            _dropped++;
            MarkDirty();
            return;
        }
        _total++;
        if (text.Length > _limits.MaxRecordChars) text = text[.._limits.MaxRecordChars] + "…";
        _pending.Add(new JsonObject
        {
            ["stream"] = stream,
            ["text"] = text,
            ["time"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        });
        MarkDirty();
    }

    private void MarkDirty()
    {
        if (_queued) return;
        _queued = true;
        _pump.Enqueue(this);
    }

    /// <summary>Sends what is pending as one event frame. Called by the pump, and once more on close.</summary>
    internal void Flush(FrameChannel channel)
    {
        lock (_gate) FlushLocked(channel);
    }

    private void FlushLocked(FrameChannel channel)
    {
        _queued = false;
        if (_progress is null && _pending.Count == 0 && _dropped == _reportedDropped) return;
        var message = new JsonObject { ["t"] = "event", ["taskId"] = TaskId };
        if (_progress is { } p) message["progress"] = new JsonObject { ["percent"] = p.Percent, ["message"] = p.Message };
        if (_pending.Count > 0)
        {
            message["output"] = new JsonArray(_pending.ToArray<JsonNode?>());
            _pending = new List<JsonObject>();
        }
        if (_dropped != _reportedDropped) { message["dropped"] = _dropped; _reportedDropped = _dropped; }
        _progress = null;
        // Enqueued under the lock, so a final flush can never overtake an earlier one.
        channel.Send(message);
    }

    /// <summary>Ends the task's capture: unterminated console lines become records, everything is sent.</summary>
    internal void Close(FrameChannel channel)
    {
        lock (_gate)
        {
            if (_closed) return;
            if (_stdout.Length > 0) { Add("stdout", _stdout.ToString()); _stdout.Clear(); }
            if (_stderr.Length > 0) { Add("stderr", _stderr.ToString()); _stderr.Clear(); }
            _closed = true;
            FlushLocked(channel);
            foreach (var id in _threads) TaskConsole.UnbindThread(id, this);
        }
    }
}

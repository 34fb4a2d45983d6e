using System.Collections.Concurrent;
using System.Diagnostics;

namespace Kr.Host;

/// <summary>
/// Flushes dirty task sinks at once after a quiet window, else at the end of the window, so a flood of progress
/// updates or output lines becomes one frame per window per task instead of one frame per call.
/// </summary>
public sealed class EventPump
{
    private readonly ConcurrentQueue<TaskSink> _dirty = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly FrameChannel _channel;
    private readonly TimeSpan _window;

    public EventPump(FrameChannel channel, TimeSpan window)
    {
        _channel = channel;
        _window = window;
    }

    internal void Enqueue(TaskSink sink)
    {
        _dirty.Enqueue(sink);
        _signal.Release();
    }

    public async Task RunAsync(CancellationToken ct)
    {
        var lastFlush = 0L;
        while (!ct.IsCancellationRequested)
        {
            await _signal.WaitAsync(ct).ConfigureAwait(false);
            // Leading edge: a change after a quiet window goes out at once (a progress update reaches Node
            // in about a millisecond). Within the window, whatever else changes rides in the next frames,
            // so a flood costs one frame per task per window.
            var quiet = Stopwatch.GetElapsedTime(lastFlush);
            if (quiet < _window) await Task.Delay(_window - quiet, ct).ConfigureAwait(false);
            while (_signal.CurrentCount > 0) _signal.Wait(0);
            while (_dirty.TryDequeue(out var sink)) sink.Flush(_channel);
            lastFlush = Stopwatch.GetTimestamp();
        }
    }
}

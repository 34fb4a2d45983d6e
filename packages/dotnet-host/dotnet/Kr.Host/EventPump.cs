using System.Collections.Concurrent;

namespace Kr.Host;

/// <summary>
/// Flushes dirty task sinks a few milliseconds after their first change, so a flood of progress
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
        while (!ct.IsCancellationRequested)
        {
            await _signal.WaitAsync(ct).ConfigureAwait(false);
            // The coalescing window: whatever else changes meanwhile rides in the same frames.
            await Task.Delay(_window, ct).ConfigureAwait(false);
            while (_signal.CurrentCount > 0) _signal.Wait(0);
            while (_dirty.TryDequeue(out var sink)) sink.Flush(_channel);
        }
    }
}

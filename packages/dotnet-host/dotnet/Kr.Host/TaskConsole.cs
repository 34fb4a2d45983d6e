using System.Collections.Concurrent;
using System.Text;

namespace Kr.Host;

/// <summary>
/// Replaces Console.Out / Console.Error in the host. A write lands in the output of the task that made
/// it: the task whose ExecutionContext is current (AsyncLocal — C# tasks, awaits, Task.Run), or the task
/// bound to the current managed thread (a PowerShell pipeline thread). Anything unattributed goes to
/// the host's log (the original stderr, which Node drains) — never to the channel.
/// </summary>
public sealed class TaskConsole : TextWriter
{
    private static readonly AsyncLocal<TaskSink?> s_current = new();
    private static readonly ConcurrentDictionary<int, TaskSink> s_threads = new();

    private readonly string _stream;
    private readonly TextWriter _fallback;

    public TaskConsole(string stream, TextWriter fallback)
    {
        _stream = stream;
        _fallback = fallback;
    }

    public override Encoding Encoding => Encoding.UTF8;

    /// <summary>Makes the calling async flow write to this task.</summary>
    public static void EnterAsyncFlow(TaskSink? sink) => s_current.Value = sink;

    internal static void BindThread(int threadId, TaskSink sink) => s_threads[threadId] = sink;

    internal static void UnbindThread(int threadId, TaskSink sink) =>
        s_threads.TryRemove(new KeyValuePair<int, TaskSink>(threadId, sink));

    private static TaskSink? Current()
    {
        var sink = s_current.Value;
        if (sink is not null && !sink.IsClosed) return sink;
        return s_threads.TryGetValue(Environment.CurrentManagedThreadId, out var bound) ? bound : null;
    }

    public override void Write(char value) => Write(new ReadOnlySpan<char>(in value));
    public override void Write(string? value) { if (value is not null) Write(value.AsSpan()); }
    public override void Write(char[] buffer, int index, int count) => Write(buffer.AsSpan(index, count));
    public override void WriteLine(string? value) { Write(value); Write('\n'); }
    public override void WriteLine() => Write('\n');

    public override void Write(ReadOnlySpan<char> buffer)
    {
        var sink = Current();
        if (sink is not null && !sink.IsClosed) sink.WriteConsole(_stream, buffer);
        else lock (_fallback) _fallback.Write(buffer);
    }

    public override void Flush()
    {
        lock (_fallback) _fallback.Flush();
    }
}

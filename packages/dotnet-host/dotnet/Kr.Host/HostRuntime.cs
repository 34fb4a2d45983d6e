using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Kr.Host;

/// <summary>Options read from the command line (<c>--socket PATH</c>) and the environment.</summary>
public sealed record HostOptions(string Socket, int? ParentPid, TimeSpan FlushWindow, SinkLimits Limits)
{
    /// <summary>
    /// <c>--socket PATH</c> (or KR_HOST_SOCKET), KR_HOST_PARENT_PID, KR_HOST_FLUSH_MS (default 15),
    /// KR_HOST_MAX_RECORDS (default 10000).
    /// </summary>
    public static HostOptions Parse(string[] args)
    {
        string? socket = Environment.GetEnvironmentVariable("KR_HOST_SOCKET");
        for (var i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--socket") socket = args[i + 1];
        }
        if (string.IsNullOrEmpty(socket)) throw new ArgumentException("Missing --socket PATH (or KR_HOST_SOCKET).");
        int? parent = int.TryParse(Environment.GetEnvironmentVariable("KR_HOST_PARENT_PID"), out var p) ? p : null;
        var flush = int.TryParse(Environment.GetEnvironmentVariable("KR_HOST_FLUSH_MS"), out var f) ? f : 15;
        var maxRecords = int.TryParse(Environment.GetEnvironmentVariable("KR_HOST_MAX_RECORDS"), out var m) ? m : 10_000;
        return new HostOptions(socket, parent, TimeSpan.FromMilliseconds(flush), new SinkLimits(MaxRecordsPerTask: maxRecords));
    }
}

/// <summary>
/// The shared host loop: connects to Node, reads requests, runs them on an <see cref="IScriptEngine"/>,
/// streams coalesced task events, and exits (taking its process group with it) when the channel closes
/// or the parent dies. A language host's <c>Main</c> is one call to <see cref="RunAsync"/>.
/// </summary>
public static class HostRuntime
{
    private static readonly ConcurrentDictionary<string, RunningTask> s_running = new();
    private static readonly Stopwatch s_uptime = Stopwatch.StartNew();
    private static TextWriter s_log = TextWriter.Null;

    private sealed record RunningTask(TaskSink Sink, CancellationTokenSource Cancellation);

    /// <summary>Writes a line to the host log (the original stderr; Node drains it into its logger).</summary>
    public static void Log(string text)
    {
        lock (s_log) { s_log.WriteLine(text); s_log.Flush(); }
    }

    public static async Task<int> RunAsync(string[] args, IScriptEngine engine)
    {
        var options = HostOptions.Parse(args);
        var stderr = new StreamWriter(Console.OpenStandardError()) { AutoFlush = true };
        var stdout = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = true };
        s_log = stderr;
        WatchParent(options.ParentPid);
        Console.SetOut(new TaskConsole("stdout", stdout));
        Console.SetError(new TaskConsole("stderr", stderr));

        await using var channel = await FrameChannel.ConnectAsync(options.Socket, CancellationToken.None).ConfigureAwait(false);
        var pump = new EventPump(channel, options.FlushWindow);
        using var stopping = new CancellationTokenSource();
        _ = Task.Run(() => pump.RunAsync(stopping.Token));

        var warmup = Stopwatch.StartNew();
        try
        {
            await engine.WarmupAsync(stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log($"warmup failed: {ex}");
            channel.Send(new JsonObject { ["t"] = "fatal", ["message"] = $"Warm-up failed: {ex.Message}" });
            await channel.DisposeAsync().ConfigureAwait(false);
            return 3;
        }
        channel.Send(new JsonObject
        {
            ["t"] = "ready",
            ["pid"] = Environment.ProcessId,
            ["languages"] = new JsonArray(engine.Languages.Select(l => (JsonNode?)l).ToArray()),
            ["warmupMs"] = warmup.Elapsed.TotalMilliseconds,
            ["runtime"] = RuntimeInformation.FrameworkDescription,
        });
        _ = Task.Run(async () =>
        {
            try { await engine.BackgroundWarmupAsync(stopping.Token).ConfigureAwait(false); }
            catch (Exception ex) { Log($"background warm-up failed: {ex.Message}"); }
        });

        try
        {
            while (true)
            {
                var message = await channel.ReadAsync(CancellationToken.None).ConfigureAwait(false);
                if (message is null) break;
                if (!Dispatch(message, engine, channel, pump, options)) break;
            }
        }
        catch (Exception ex)
        {
            Log($"channel failed: {ex.Message}");
        }
        // Node is gone or asked us to stop: nothing may outlive it, including our children.
        stopping.Cancel();
        foreach (var task in s_running.Values) task.Cancellation.Cancel();
        ExitWithGroup(0);
        return 0;
    }

    private static bool Dispatch(JsonObject message, IScriptEngine engine, FrameChannel channel, EventPump pump, HostOptions options)
    {
        var type = (string?)message["t"];
        var id = message["id"]?.GetValue<long>();
        switch (type)
        {
            case "prepare":
                Respond(channel, id, () =>
                {
                    var request = new PrepareRequest((string)message["language"]!, (string)message["code"]!, message["args"] as JsonObject ?? new JsonObject());
                    return JsonSerializer.SerializeToNode(engine.Prepare(request), FrameChannel.Json);
                });
                return true;
            case "run":
                StartRun(message, id, engine, channel, pump, options);
                return true;
            case "cancel":
                if (s_running.TryGetValue((string)message["taskId"]!, out var running))
                {
                    // Cancellation callbacks (PowerShell StopAsync & co.) must never hold up the read loop.
                    ThreadPool.QueueUserWorkItem(_ => { try { running.Cancellation.Cancel(); } catch (Exception ex) { Log($"cancel: {ex.Message}"); } });
                }
                return true;
            case "forceStop":
                Respond(channel, id, () =>
                {
                    var taskId = (string)message["taskId"]!;
                    if (s_running.TryGetValue(taskId, out var r)) r.Cancellation.Cancel();
                    engine.ForceStop(taskId);
                    return new JsonObject { ["stopped"] = true };
                });
                return true;
            case "release":
                Respond(channel, id, () => { engine.Release((string)message["handle"]!); return new JsonObject(); });
                return true;
            case "health":
                Respond(channel, id, () => Health(engine));
                return true;
            case "shutdown":
                return false;
            default:
                if (id is not null) channel.Send(ErrorResponse(id.Value, $"Unknown message type '{type}'.", "ProtocolError"));
                else Log($"unknown message type '{type}'");
                return true;
        }
    }

    private static void StartRun(JsonObject message, long? id, IScriptEngine engine, FrameChannel channel, EventPump pump, HostOptions options)
    {
        var request = new RunRequest(
            (string)message["taskId"]!,
            (string)message["language"]!,
            (string?)message["handle"],
            (string)message["code"]!,
            message["args"] as JsonObject ?? new JsonObject());
        var sink = new TaskSink(request.TaskId, pump, options.Limits);
        var cts = new CancellationTokenSource();
        s_running[request.TaskId] = new RunningTask(sink, cts);
        // An engine that promises not to block before its first await (PowerShell: the pipeline has
        // started) runs inline on the read loop, saving a thread-pool hop per task.
        if (engine.StartsRunsInline) _ = RunTaskAsync(request, id, engine, channel, sink, cts);
        else _ = Task.Run(() => RunTaskAsync(request, id, engine, channel, sink, cts));
    }

    private static async Task RunTaskAsync(RunRequest request, long? id, IScriptEngine engine, FrameChannel channel, TaskSink sink, CancellationTokenSource cts)
    {
        {
            RunResponse response;
            TaskConsole.EnterAsyncFlow(sink);
            try
            {
                response = await engine.RunAsync(request, sink, cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
                response = RunResponse.Cancelled();
            }
            catch (Exception ex)
            {
                response = RunResponse.Failed(new ScriptError(ex.Message, ex.GetType().FullName ?? "Exception", Stack: ex.StackTrace));
            }
            finally
            {
                TaskConsole.EnterAsyncFlow(null);
                s_running.TryRemove(request.TaskId, out _);
            }
            // Events first, then the answer: Node sees the last progress before the end.
            sink.Close(channel);
            cts.Dispose();
            if (id is not null) channel.Send(new JsonObject { ["t"] = "response", ["id"] = id, ["ok"] = true, ["body"] = JsonSerializer.SerializeToNode(response, FrameChannel.Json) });
        }
    }

    private static void Respond(FrameChannel channel, long? id, Func<JsonNode?> work)
    {
        ThreadPool.QueueUserWorkItem(_ =>
        {
            JsonObject reply;
            try
            {
                reply = new JsonObject { ["t"] = "response", ["id"] = id, ["ok"] = true, ["body"] = work() };
            }
            catch (Exception ex)
            {
                reply = ErrorResponse(id ?? 0, ex.Message, ex.GetType().FullName ?? "Exception");
            }
            if (id is not null) channel.Send(reply);
        });
    }

    private static JsonObject ErrorResponse(long id, string message, string type) =>
        new() { ["t"] = "response", ["id"] = id, ["ok"] = false, ["error"] = new JsonObject { ["message"] = message, ["type"] = type } };

    private static JsonObject Health(IScriptEngine engine)
    {
        var gc = GC.GetGCMemoryInfo();
        var health = new JsonObject
        {
            ["pid"] = Environment.ProcessId,
            ["uptimeMs"] = (long)s_uptime.Elapsed.TotalMilliseconds,
            ["workingSetBytes"] = Environment.WorkingSet,
            ["gcHeapBytes"] = gc.HeapSizeBytes,
            ["gcTotalAllocatedBytes"] = GC.GetTotalAllocatedBytes(),
            ["running"] = s_running.Count,
            ["threads"] = Process.GetCurrentProcess().Threads.Count,
        };
        foreach (var (key, value) in engine.Health())
        {
            health[key] = JsonSerializer.SerializeToNode(value, FrameChannel.Json);
        }
        return health;
    }

    // ---- process lifetime -------------------------------------------------------------------

    [DllImport("libc", SetLastError = true)] private static extern int prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);
    [DllImport("libc", SetLastError = true)] private static extern int kill(int pid, int sig);
    [DllImport("libc")] private static extern int getppid();
    [DllImport("libc")] private static extern int getpgrp();

    private const int PR_SET_PDEATHSIG = 1;
    private const int SIGKILL = 9;
    private const int SIGTERM = 15;
    private static PosixSignalRegistration? s_sigterm;

    /// <summary>
    /// Linux: ask the kernel for SIGTERM when the parent dies (PR_SET_PDEATHSIG) and answer SIGTERM by
    /// killing our own process group, so native children started by scripts go too.
    /// </summary>
    private static void WatchParent(int? parentPid)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        s_sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            ExitWithGroup(143);
        });
        if (OperatingSystem.IsLinux())
        {
            try { prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0); } catch (Exception ex) { Log($"prctl failed: {ex.Message}"); }
            // The parent may have died before prctl took effect.
            if (parentPid is { } expected && getppid() != expected) ExitWithGroup(0);
        }
    }

    private static void ExitWithGroup(int code)
    {
        if (!OperatingSystem.IsWindows())
        {
            try
            {
                // Only when we lead our group (Node spawns us detached): then kill(0) reaches exactly
                // us and whatever scripts started.
                if (getpgrp() == Environment.ProcessId) kill(0, SIGKILL);
            }
            catch { /* fall through */ }
        }
        Environment.Exit(code);
    }
}

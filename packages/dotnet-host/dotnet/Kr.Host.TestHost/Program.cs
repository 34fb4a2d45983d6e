using System.Text.Json.Nodes;
using Kr.Host;

return await HostRuntime.RunAsync(args, new EchoEngine());

/// <summary>
/// The "echo" language: one command per line.
///   progress N MESSAGE | print TEXT | stderr TEXT | output STREAM TEXT | sleep MS (cancellable)
///   block MS (ignores cancellation) | flood N (N progress updates + N prints) | spawn-sleep S (a child process)
///   result JSON | arg NAME (result = that argument) | throw MESSAGE | exit CODE
/// "syntax error" anywhere makes prepare fail at that line.
/// </summary>
sealed class EchoEngine : IScriptEngine
{
    private readonly Dictionary<string, CancellationTokenSource> _forced = new();

    public IReadOnlyList<string> Languages { get; } = ["echo"];

    public Task WarmupAsync(CancellationToken ct) => Task.CompletedTask;

    public PrepareResponse Prepare(PrepareRequest request)
    {
        var lines = request.Code.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var col = lines[i].IndexOf("syntax error", StringComparison.Ordinal);
            if (col >= 0) return PrepareResponse.Failure([new Diagnostic("ECHO001", "error", "Syntax error.", i + 1, col + 1)]);
        }
        return PrepareResponse.Success(request.Code.GetHashCode().ToString("x"));
    }

    public async Task<RunResponse> RunAsync(RunRequest request, ITaskContext context, CancellationToken ct)
    {
        var forced = new CancellationTokenSource();
        lock (_forced) _forced[request.TaskId] = forced;
        try
        {
            JsonNode? result = null;
            var lines = request.Code.Split('\n');
            for (var i = 0; i < lines.Length; i++)
            {
                var line = lines[i].Trim();
                if (line.Length == 0) continue;
                var space = line.IndexOf(' ');
                var cmd = space < 0 ? line : line[..space];
                var rest = space < 0 ? "" : line[(space + 1)..];
                switch (cmd)
                {
                    case "progress":
                    {
                        var parts = rest.Split(' ', 2);
                        context.ReportProgress(int.Parse(parts[0]), parts.Length > 1 ? parts[1] : "Running");
                        break;
                    }
                    case "print": Console.WriteLine(rest); break;
                    case "stderr": Console.Error.WriteLine(rest); break;
                    case "output": { var p = rest.Split(' ', 2); context.WriteOutput(p[0], p.Length > 1 ? p[1] : ""); break; }
                    case "sleep":
                        try { await Task.Delay(int.Parse(rest), ct); }
                        catch (OperationCanceledException) { return RunResponse.Cancelled(); }
                        break;
                    case "block":
                    {
                        // Ignores cancellation like a blocking .NET call; only ForceStop abandons it.
                        var blocking = Task.Run(() => Thread.Sleep(int.Parse(rest)));
                        var done = await Task.WhenAny(blocking, Task.Delay(Timeout.Infinite, forced.Token).ContinueWith(_ => { }));
                        if (done != blocking) return RunResponse.Cancelled();
                        break;
                    }
                    case "flood":
                    {
                        var n = int.Parse(rest);
                        for (var k = 1; k <= n; k++) { context.ReportProgress(k * 100 / n, $"step {k}"); Console.WriteLine($"line {k}"); }
                        break;
                    }
                    case "spawn-sleep":
                    {
                        var child = System.Diagnostics.Process.Start("sleep", rest);
                        Console.WriteLine($"child {child.Id}");
                        break;
                    }
                    case "result": result = JsonNode.Parse(rest); break;
                    case "arg": result = request.Args[rest]?.DeepClone(); break;
                    case "throw": return RunResponse.Failed(new ScriptError(rest, "EchoError", i + 1, 1, "ECHO_THROW", "NotSpecified"));
                    case "exit": Environment.Exit(int.Parse(rest)); break;
                    default: return RunResponse.Failed(new ScriptError($"Unknown command '{cmd}'.", "EchoError", i + 1, 1));
                }
            }
            return RunResponse.Completed(result);
        }
        finally
        {
            lock (_forced) _forced.Remove(request.TaskId);
        }
    }

    public void ForceStop(string taskId)
    {
        lock (_forced) if (_forced.TryGetValue(taskId, out var cts)) cts.Cancel();
    }

    public void Release(string handle) { }

    public IDictionary<string, object?> Health() => new Dictionary<string, object?> { ["engine"] = "echo" };
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Kr.Roslyn;

public sealed class RoslynEngineOptions
{
    /// <summary>Maximum number of compiled scripts kept loaded (LRU); evicted ones are unloaded.</summary>
    public int CacheCapacity { get; init; } = 256;
    public int MaxResultDepth { get; init; } = 64;
    public int MaxResultNodes { get; init; } = 100_000;
    /// <summary>
    /// After this many ALC unloads, run full blocking GCs on a pool thread so the unloads complete. An
    /// unload only finishes when a gen-2 collection finds the ALC unreachable, and a host that mostly
    /// compiles allocates too little to trigger gen 2 by itself: without this, evicted scripts stay
    /// mapped and the host's RSS keeps growing. 0 leaves it to the GC.
    /// </summary>
    public int CollectAfterUnloads { get; init; } = 32;
}

/// <summary>
/// C# (Roslyn script compilation) and VB.NET (module wrapper) engine. See README.md for the design.
/// Thread-safe: Prepare, RunAsync, Release and ForceStop may be called concurrently.
/// </summary>
public sealed class RoslynScriptEngine : IScriptEngine
{
    public const string CSharp = "csharp";
    public const string VbNet = "vbnet";
    private const string EngineVersion = "kr-roslyn-1";

    private readonly RoslynEngineOptions _options;
    private readonly ResultSerializer _serializer;
    private readonly object _gate = new();
    private readonly Dictionary<string, CompiledScript> _cache = new(StringComparer.Ordinal);
    private readonly LinkedList<CompiledScript> _lru = new(); // First = most recently used
    private readonly ConcurrentDictionary<string, Lazy<(CompiledScript? Entry, CompileOutput Output)>> _inflight = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, HandleInfo> _handles = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RunState> _runs = new(StringComparer.Ordinal);
    private readonly List<WeakReference> _unloading = new();

    private long _handleSeq, _asmSeq;
    private long _compilations, _compilationsCs, _compilationsVb, _compileFailures, _cacheHits, _cacheMisses;
    private long _alcLoaded, _alcUnloadRequested, _alcUnloadedConfirmed;
    private long _runsTotal, _abandonedTotal, _abandonedRunning;
    private double _lastCompileMs, _totalCompileMs;
    private int _unloadsSinceCollect, _collectScheduled;
    private long _unloadCollections;
    private volatile bool _warm;

    public RoslynScriptEngine(RoslynEngineOptions? options = null)
    {
        _options = options ?? new RoslynEngineOptions();
        if (_options.CacheCapacity < 1) throw new ArgumentOutOfRangeException(nameof(options), "CacheCapacity must be >= 1.");
        _serializer = new ResultSerializer(_options.MaxResultDepth, _options.MaxResultNodes);
    }

    public IReadOnlyList<string> Languages { get; } = [CSharp, VbNet];

    /// <summary>Accepts the canonical names and a few spellings; null when unknown.</summary>
    public static string? NormalizeLanguage(string? language) => language?.Trim().ToLowerInvariant() switch
    {
        "csharp" or "c#" or "cs" or "csx" => CSharp,
        "vbnet" or "vb.net" or "vb" or "visualbasic" => VbNet,
        _ => null,
    };

    // ------------------------------------------------------------------ warmup

    /// <summary>Before ready: the two representative scripts (C#, then VB), so the first real compile of
    /// either language is fast. Sequential on purpose: parallel warmups contend on the same JIT work and
    /// were slower on 2 cores.</summary>
    public async Task WarmupAsync(CancellationToken ct)
    {
        await RunWarmupScripts(s_warmupScripts.Take(2), ct).ConfigureAwait(false);
        _warm = true;
    }

    /// <summary>After ready: more shapes (return statements, other argument types).</summary>
    public Task BackgroundWarmupAsync(CancellationToken ct) => RunWarmupScripts(s_warmupScripts.Skip(2), ct);

    // Representative snippets (usings/Imports, typed args, loops, lambdas, interpolation, await,
    // try/catch, anonymous types, script methods) so the common binder/emit paths are JIT-compiled.
    private static readonly (string Lang, string Code)[] s_warmupScripts =
    {
        (CSharp, """
            using System.Text;
            int Twice(int v) => v * 2;
            var sb = new StringBuilder();
            var items = new List<int> { 1, 2, 3 }.Where(i => i > a).Select(i => Twice(i)).ToList();
            for (int i = 0; i < items.Count; i++) { TaskProgress.StatusMessage = $"Step {i}"; TaskProgress.PercentComplete = i * 10; }
            try { await Task.Delay(1, ct); } catch (OperationCanceledException) { throw; }
            sb.Append($"{s}{a}").Append(TaskId.Length);
            new { v = sb.ToString(), items, when = DateTime.UtcNow, day = DayOfWeek.Monday }
            """),
        (VbNet, """
            Imports System.Text
            Dim sb As New StringBuilder()
            Dim items = New List(Of Integer) From {1, 2, 3}
            For Each i In items.Where(Function(x) x > a)
                TaskProgress.StatusMessage = $"Step {i}"
                TaskProgress.PercentComplete = i * 10
            Next
            Try
                Await Task.Delay(1, ct)
            Catch ex As OperationCanceledException
                Throw
            End Try
            sb.Append(s & a)
            Return New With {.v = sb.ToString(), .n = items.Count}
            """),
        (CSharp, "var total = a + 1;\nif (total > 100) return \"big\";\n$\"{s}:{total}\""),
        (VbNet, "Dim total = a + 1\nIf total > 100 Then Return \"big\"\nReturn $\"{s}:{total}\""),
    };

    private async Task RunWarmupScripts(IEnumerable<(string Lang, string Code)> scripts, CancellationToken ct)
    {
        var ctx = new NullTaskContext();
        var args = new JsonObject { ["a"] = 1, ["s"] = "x" };
        foreach (var s in scripts)
        {
            ct.ThrowIfCancellationRequested();
            var prep = Prepare(new PrepareRequest(Language: s.Lang, Code: s.Code, Args: args));
            if (!prep.Ok) throw new InvalidOperationException("Warmup compile failed: " + string.Join("; ", prep.Diagnostics.Select(d => $"{d.Id} ({d.Line},{d.Column}): {d.Message}")));
            var run = await RunAsync(new RunRequest("__warmup_" + Guid.NewGuid().ToString("n"), s.Lang, prep.Handle!, s.Code, args), ctx, ct).ConfigureAwait(false);
            Release(prep.Handle!);
            if (run.Status != RunStatus.Completed) throw new InvalidOperationException("Warmup run failed: " + run.Error?.Message);
        }
    }

    // ------------------------------------------------------------------ prepare

    public PrepareResponse Prepare(PrepareRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var lang = NormalizeLanguage(request.Language);
        if (lang is null)
            return Fail(new ScriptDiagnostic(Id: "KR0000", Severity: "error", Message: $"Unknown language '{request.Language}'. Expected csharp or vbnet.", Line: 1, Column: 1));
        var code = request.Code ?? "";
        ArgSignature sig;
        try { sig = ArgSignature.From(request.Args); }
        catch (Exception ex) { return Fail(new ScriptDiagnostic(Id: "KR0003", Severity: "error", Message: "Invalid arguments: " + ex.Message, Line: 1, Column: 1)); }

        var key = KeyOf(lang, code, sig);
        var (entry, output) = GetOrCompile(lang, code, sig, key, forRun: false);
        if (entry is null)
            return PrepareResponse.Failure(output!.Diagnostics);

        var handle = $"{(lang == CSharp ? "cs" : "vb")}-{Interlocked.Increment(ref _handleSeq):x}-{key[..12]}";
        _handles[handle] = new HandleInfo(lang, code, sig, key, (JsonObject?)request.Args?.DeepClone());
        // Handles was incremented under the lock by GetOrCompile (forRun: false).
        return PrepareResponse.Success(handle, entry.Warnings);

        static PrepareResponse Fail(ScriptDiagnostic d) => PrepareResponse.Failure([d]);
    }

    public void Release(string handle)
    {
        if (handle is null || !_handles.TryRemove(handle, out var info)) return;
        lock (_gate)
        {
            if (_cache.TryGetValue(info.Key, out var e) && e.Handles > 0 && --e.Handles == 0 && e.ActiveRuns == 0 && e.Node is not null)
            {
                // Nobody refers to it any more: keep it (the same code may come back) but make it the
                // first candidate for eviction.
                _lru.Remove(e.Node);
                _lru.AddLast(e.Node);
            }
        }
    }

    // ------------------------------------------------------------------ run

    public async Task<RunResponse> RunAsync(RunRequest request, ITaskContext context, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (!_handles.TryGetValue(request.Handle ?? "", out var info))
        {
            // A handle this engine never saw (host restarted) or already released: compile from the code.
            var lang = NormalizeLanguage(request.Language);
            if (lang is null || request.Code is null)
                return Failed("Unknown or released handle '" + request.Handle + "' and no language/code to compile.", "Kr.UnknownHandle");
            var sig0 = ArgSignature.From(request.Args);
            info = new HandleInfo(lang, request.Code, sig0, KeyOf(lang, request.Code, sig0), request.Args);
        }
        if (cancellation.IsCancellationRequested) return Cancelled();

        // Kr.Host always sends an object; an empty one for a known handle means "the arguments given to Prepare".
        var runArgs = request.Args is { Count: > 0 } ? request.Args : null;
        var args = runArgs ?? info.Args;
        ArgSignature sig = info.Signature;
        string key = info.Key;
        if (runArgs is not null)
        {
            var runSig = ArgSignature.From(runArgs);
            if (!runSig.Equals(sig)) { sig = runSig; key = KeyOf(info.Language, info.Code, sig); }
        }

        var (entry, output) = GetOrCompile(info.Language, info.Code, sig, key, forRun: true);
        if (entry is null)
        {
            var first = output!.Diagnostics.FirstOrDefault(d => d.Severity == "error");
            return RunResponse.Failed(new ScriptError(Type: "Kr.CompilationError", Message: "The script does not compile with these argument types: " + (first is null ? "" : $"{first.Id} ({first.Line},{first.Column}): {first.Message}"), Line: first?.Line, Column: first?.Column));
        }

        // From here the entry holds one ActiveRuns reference that must be given back exactly once.
        var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var run = new RunState(cts);
        if (!_runs.TryAdd(request.TaskId ?? "", run))
        {
            EndRun(entry); cts.Dispose();
            return Failed($"Task '{request.TaskId}' is already running in this engine.", "Kr.DuplicateRun");
        }
        Interlocked.Increment(ref _runsTotal);
        bool abandoned = false;
        Assembly? asm = entry.Assembly;
        try
        {
            var values = sig.Bind(args);
            var progress = new ScriptTaskProgress(context.ReportProgress);
            var globals = new ScriptGlobals(request.TaskId ?? "", progress, cts.Token, values);
            var invoke = entry.Invoke!;
            // Task.Run: a script that never awaits cannot block the caller, and ForceStop still works.
            // The ExecutionContext (AsyncLocal console routing set by the host) flows into it.
            var scriptTask = Task.Run(() => invoke(globals));
            if (!scriptTask.IsCompleted)
            {
                var done = await Task.WhenAny(scriptTask, run.Forced.Task).ConfigureAwait(false);
                if (done != scriptTask)
                {
                    abandoned = true;
                    Interlocked.Increment(ref _abandonedTotal);
                    Interlocked.Increment(ref _abandonedRunning);
                    _ = scriptTask.ContinueWith(t =>
                    {
                        _ = t.Exception; // observe; the late outcome is discarded
                        Interlocked.Decrement(ref _abandonedRunning);
                        EndRun(entry);
                        cts.Dispose();
                    }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                    return Cancelled();
                }
            }
            object? value = await scriptTask.ConfigureAwait(false);
            JsonNode? json;
            try { json = _serializer.Serialize(value); }
            catch (Exception ex) { return Failed("The result could not be converted to JSON: " + ex.Message, ex.GetType().FullName!); }
            return RunResponse.Completed(json);
        }
        catch (OperationCanceledException oce) when (cts.IsCancellationRequested || oce.CancellationToken == cts.Token)
        {
            return Cancelled();
        }
        catch (Exception ex)
        {
            return RunResponse.Failed(MapError(ex, asm));
        }
        finally
        {
            _runs.TryRemove(new KeyValuePair<string, RunState>(request.TaskId ?? "", run));
            if (!abandoned)
            {
                EndRun(entry);
                cts.Dispose();
            }
        }
    }

    public void ForceStop(string taskId)
    {
        if (taskId is null || !_runs.TryRemove(taskId, out var run)) return;
        try { run.Cts.Cancel(); } catch (ObjectDisposedException) { } catch (AggregateException) { }
        run.Forced.TrySetResult();
    }

    private sealed class RunState(CancellationTokenSource cts)
    {
        public CancellationTokenSource Cts { get; } = cts;
        public TaskCompletionSource Forced { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    // ------------------------------------------------------------------ cache

    private static string KeyOf(string lang, string code, ArgSignature sig)
    {
        var bytes = Encoding.UTF8.GetBytes(EngineVersion + "\0" + lang + "\0" + sig.Text + "\0" + code);
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    /// <summary>Cache hit or compile+load; takes a Handles (prepare) or ActiveRuns (run) reference under
    /// the lock so the entry cannot be unloaded in between.</summary>
    private (CompiledScript? Entry, CompileOutput? Output) GetOrCompile(string lang, string code, ArgSignature sig, string key, bool forRun)
    {
        if (TryTake(key, forRun, out var hit, countStats: true)) return (hit, null);
        while (true)
        {
            var lazy = _inflight.GetOrAdd(key, k => new Lazy<(CompiledScript?, CompileOutput)>(
                () => CompileAndLoad(lang, code, sig, k), LazyThreadSafetyMode.ExecutionAndPublication));
            var (entry, output) = lazy.Value;
            if (entry is null)
            {
                _inflight.TryRemove(new KeyValuePair<string, Lazy<(CompiledScript?, CompileOutput)>>(key, lazy));
                return (null, output);
            }
            lock (_gate)
            {
                if (!_cache.ContainsKey(key) && !entry.Evicted && entry.Alc is not null)
                {
                    entry.Node = _lru.AddFirst(entry);
                    _cache[key] = entry;
                    EvictOverCapacity(keep: entry);
                }
                _inflight.TryRemove(new KeyValuePair<string, Lazy<(CompiledScript?, CompileOutput)>>(key, lazy));
            }
            if (TryTake(key, forRun, out hit, countStats: false)) return (hit, output);
            // Evicted between publication and take (capacity pressure): compile again.
        }
    }

    private bool TryTake(string key, bool forRun, out CompiledScript? entry, bool countStats)
    {
        lock (_gate)
        {
            if (_cache.TryGetValue(key, out entry))
            {
                if (forRun) entry.ActiveRuns++; else entry.Handles++;
                _lru.Remove(entry.Node!);
                _lru.AddFirst(entry.Node!);
                if (countStats) _cacheHits++;
                return true;
            }
            if (countStats) _cacheMisses++;
            return false;
        }
    }

    private (CompiledScript?, CompileOutput) CompileAndLoad(string lang, string code, ArgSignature sig, string key)
    {
        lock (_gate)
        {
            // Published by a concurrent compile in the meantime.
            if (_cache.TryGetValue(key, out var existing)) return (existing, new CompileOutput { Success = true, Diagnostics = [] });
        }
        var sw = Stopwatch.StartNew();
        var asmName = $"kr_{(lang == CSharp ? "cs" : "vb")}_{key[..16]}_{Interlocked.Increment(ref _asmSeq):x}";
        CompileOutput output = lang == CSharp
            ? CSharpScriptCompiler.Compile(code, sig, asmName)
            : VbScriptCompiler.Compile(code, sig, asmName);
        var ms = sw.Elapsed.TotalMilliseconds;
        Interlocked.Increment(ref _compilations);
        Interlocked.Increment(ref lang == CSharp ? ref _compilationsCs : ref _compilationsVb);
        lock (_gate) { _lastCompileMs = ms; _totalCompileMs += ms; }
        if (!output.Success) { Interlocked.Increment(ref _compileFailures); return (null, output); }
        var entry = CompiledScript.Load(key, lang, output, ms);
        Interlocked.Increment(ref _alcLoaded);
        return (entry, output);
    }

    private void EvictOverCapacity(CompiledScript keep)
    {
        // Caller holds _gate.
        var node = _lru.Last;
        while (_cache.Count > _options.CacheCapacity && node is not null)
        {
            var prev = node.Previous;
            var victim = node.Value;
            if (!ReferenceEquals(victim, keep))
            {
                _lru.Remove(node);
                victim.Node = null;
                _cache.Remove(victim.Key);
                victim.Evicted = true;
                if (victim.ActiveRuns == 0) UnloadLocked(victim);
            }
            node = prev;
        }
    }

    private void EndRun(CompiledScript entry)
    {
        lock (_gate)
        {
            entry.ActiveRuns--;
            if (entry.Evicted && entry.ActiveRuns == 0) UnloadLocked(entry);
        }
    }

    private void UnloadLocked(CompiledScript e)
    {
        var alc = e.Alc;
        if (alc is null) return;
        e.Alc = null; e.Assembly = null; e.Invoke = null;
        alc.Unload();
        _alcUnloadRequested++;
        _unloading.Add(new WeakReference(alc));
        if (_options.CollectAfterUnloads > 0 && ++_unloadsSinceCollect >= _options.CollectAfterUnloads
            && Interlocked.Exchange(ref _collectScheduled, 1) == 0)
        {
            _unloadsSinceCollect = 0;
            ThreadPool.UnsafeQueueUserWorkItem(static self => self.CollectUnloaded(), this, preferLocal: false);
        }
    }

    /// <summary>Full GCs until the pending unloads are confirmed (the loader allocator needs a finalizer
    /// pass between two collections), at most three rounds.</summary>
    private void CollectUnloaded()
    {
        try
        {
            for (int round = 0; round < 3; round++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                lock (_gate) { if (_unloading.TrueForAll(w => !w.IsAlive)) break; }
            }
            Interlocked.Increment(ref _unloadCollections);
        }
        finally { Volatile.Write(ref _collectScheduled, 0); }
    }

    // ------------------------------------------------------------------ errors

    internal static ScriptError MapError(Exception ex, Assembly? scriptAssembly)
    {
        while ((ex is AggregateException { InnerExceptions.Count: 1 } || ex is TargetInvocationException) && ex.InnerException is not null)
            ex = ex.InnerException;
        int? line = null, col = null;
        if (scriptAssembly is not null)
        {
            foreach (var frame in new StackTrace(ex, fNeedFileInfo: true).GetFrames())
            {
                var method = frame.GetMethod();
                if (method?.Module.Assembly != scriptAssembly) continue;
                var l = frame.GetFileLineNumber();
                if (l <= 0 || l >= 0xFEEFEE) continue;
                line = l;
                var c = frame.GetFileColumnNumber();
                col = c > 0 ? c : null;
                break;
            }
        }
        return new ScriptError(Message: ex.Message, Type: ex.GetType().FullName ?? ex.GetType().Name, Line: line, Column: col,
            Code: "0x" + ex.HResult.ToString("X8"), Stack: ex.StackTrace);
    }

    private static RunResponse Failed(string message, string type) =>
        RunResponse.Failed(new ScriptError(message, type));

    private static RunResponse Cancelled() => RunResponse.Cancelled();

    // ------------------------------------------------------------------ health

    public IDictionary<string, object?> Health()
    {
        lock (_gate)
        {
            _unloading.RemoveAll(w =>
            {
                if (w.IsAlive) return false;
                _alcUnloadedConfirmed++;
                return true;
            });
            return new Dictionary<string, object?>
            {
                ["warm"] = _warm,
                ["cacheCapacity"] = _options.CacheCapacity,
                ["cacheEntries"] = _cache.Count,
                ["cacheHits"] = _cacheHits,
                ["cacheMisses"] = _cacheMisses,
                ["compilations"] = Interlocked.Read(ref _compilations),
                ["compilationsCSharp"] = Interlocked.Read(ref _compilationsCs),
                ["compilationsVbNet"] = Interlocked.Read(ref _compilationsVb),
                ["compileFailures"] = Interlocked.Read(ref _compileFailures),
                ["lastCompileMs"] = Math.Round(_lastCompileMs, 2),
                ["totalCompileMs"] = Math.Round(_totalCompileMs, 1),
                ["handles"] = _handles.Count,
                ["activeRuns"] = _runs.Count,
                ["runsTotal"] = Interlocked.Read(ref _runsTotal),
                ["alcLoaded"] = Interlocked.Read(ref _alcLoaded),
                ["alcUnloadRequested"] = _alcUnloadRequested,
                ["alcUnloaded"] = _alcUnloadedConfirmed,
                ["alcPendingUnload"] = _unloading.Count,
                ["alcAlive"] = Interlocked.Read(ref _alcLoaded) - _alcUnloadedConfirmed,
                ["unloadCollections"] = Interlocked.Read(ref _unloadCollections),
                ["abandonedRuns"] = Interlocked.Read(ref _abandonedTotal),
                ["abandonedRunning"] = Interlocked.Read(ref _abandonedRunning),
                ["metadataReferences"] = References.All.Length,
            };
        }
    }

    private sealed class NullTaskContext : ITaskContext
    {
        public string TaskId => "__warmup";
        public void ReportProgress(int percent, string message) { }
        public void WriteOutput(string stream, string text) { }
        public void BindThread(int managedThreadId) { }
    }
}

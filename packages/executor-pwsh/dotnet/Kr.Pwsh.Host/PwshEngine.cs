using System.Collections;
using System.Collections.Concurrent;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kr.Host;

namespace Kr.Pwsh.Host;

/// <summary>
/// Runs PowerShell tasks on a pool of warm runspaces created from one InitialSessionState.
/// A task rents a runspace (waiting when all are busy), gets its arguments and $TaskProgress, $TaskId,
/// $TaskCancellationToken as variables (and as parameters when the script declares param()), runs in a
/// local scope, and gives the runspace back reset. A runspace whose task had to be force-stopped is
/// discarded and replaced.
/// </summary>
public sealed class PwshEngine : IScriptEngine
{
    private readonly int _poolSize;
    private readonly int _depth;
    private readonly InitialSessionState _iss;
    private readonly ConcurrentStack<PooledRunspace> _idle = new();
    private readonly SemaphoreSlim _slots;
    private readonly ConcurrentDictionary<string, ActiveRun> _active = new();
    private readonly ConcurrentDictionary<string, PreparedScript> _prepared = new();
    private int _created, _discarded, _forced, _waiting, _total;

    // Resets run on one thread of their own, so they never starve the thread pool that carries the channel.
    private readonly System.Collections.Concurrent.BlockingCollection<Action> _janitor = new();

    public PwshEngine(int poolSize, int depth)
    {
        new Thread(() => { foreach (var work in _janitor.GetConsumingEnumerable()) work(); }) { IsBackground = true, Name = "kr-pwsh-reset" }.Start();
        _poolSize = poolSize;
        _depth = depth;
        _slots = new SemaphoreSlim(poolSize, poolSize);
        // CreateDefault loads the built-in cmdlets from their assemblies (no module manifests needed);
        // it is also the fastest to open. Verbose and Debug are on so those streams reach the task.
        _iss = InitialSessionState.CreateDefault();
        _iss.ThreadOptions = PSThreadOptions.ReuseThread;
        if (OperatingSystem.IsWindows()) _iss.ExecutionPolicy = Microsoft.PowerShell.ExecutionPolicy.Bypass;
        _iss.Variables.Add(new SessionStateVariableEntry("DebugPreference", ActionPreference.Continue, "Kr: capture Write-Debug"));
        _iss.Variables.Add(new SessionStateVariableEntry("VerbosePreference", ActionPreference.Continue, "Kr: capture Write-Verbose"));
        _iss.Variables.Add(new SessionStateVariableEntry("ProgressPreference", ActionPreference.SilentlyContinue, "Kr: Write-Progress is not rendered"));
    }

    public IReadOnlyList<string> Languages { get; } = ["powershell"];

    /// <summary>RunAsync only does cheap set-up before the pipeline starts (a new runspace is opened on the pool).</summary>
    public bool StartsRunsInline => true;

    private sealed class PooledRunspace
    {
        public required Runspace Runspace { get; init; }
        public required int ThreadId { get; init; }
        public required HashSet<string> Functions { get; init; }
        public required HashSet<string> Aliases { get; init; }
        public required HashSet<string> Modules { get; init; }
        public required string Location { get; init; }
        public int Uses;
    }

    private sealed class ActiveRun
    {
        public required PooledRunspace Runspace { get; init; }
        public TaskCompletionSource Forced { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>How far a script may reach beyond its own scope, hence how much must be reset after it.</summary>
    private enum Reach { Local, Global, Deep }

    private sealed record PreparedScript(HashSet<string> Parameters, Reach Reach, ParseError[] Errors);

    // ---- warm-up ------------------------------------------------------------------------------

    /// <summary>Before ready: one open runspace, so a task can run as soon as Node hears "ready".</summary>
    public Task WarmupAsync(CancellationToken ct)
    {
        _slots.Wait(ct);
        Return(CreateRunspace(), Reach.Global);
        return Task.CompletedTask;
    }

    /// <summary>
    /// After ready: one real task through the whole path (parse, variables, parameters, streams, serialiser)
    /// so later tasks skip the JIT, then the rest of the pool, one runspace at a time — opening many at once
    /// contends (PowerShell #3008, #7153).
    /// </summary>
    public async Task BackgroundWarmupAsync(CancellationToken ct)
    {
        var args = new JsonObject { ["x"] = 1 };
        const string code = "param($x) Write-Debug 'warm-up'; [pscustomobject]@{ a = $x; d = Get-Date; j = (@{ k = 1 } | ConvertTo-Json -Compress) }";
        Prepare(new PrepareRequest("powershell", code, args));
        await RunAsync(new RunRequest("warm-up", "powershell", null, code, args), new NullTaskContext("warm-up"), ct).ConfigureAwait(false);
        while (!ct.IsCancellationRequested && Volatile.Read(ref _total) < _poolSize)
        {
            var rs = CreateRunspace();
            _idle.Push(rs);
        }
    }

    private PooledRunspace CreateRunspace()
    {
        var runspace = RunspaceFactory.CreateRunspace(_iss);
        runspace.ThreadOptions = PSThreadOptions.ReuseThread;
        runspace.Open();
        using var ps = PowerShell.Create();
        ps.Runspace = runspace;
        // ReuseThread: every pipeline of this runspace runs on this one thread, so Console writes made
        // on it can be attributed to the runspace's current task.
        ps.AddScript("[System.Environment]::CurrentManagedThreadId; @((Get-ChildItem function:).Name); '|'; @((Get-ChildItem alias:).Name); '|'; @((Get-Module).Name)");
        var items = ps.Invoke().Select(o => o?.BaseObject).ToList();
        var threadId = (int)items[0]!;
        var sets = new List<HashSet<string>> { new(StringComparer.OrdinalIgnoreCase) };
        foreach (var item in items.Skip(1))
        {
            if (item is "|") sets.Add(new HashSet<string>(StringComparer.OrdinalIgnoreCase));
            else if (item is string name) sets[^1].Add(name);
        }
        Interlocked.Increment(ref _created);
        Interlocked.Increment(ref _total);
        return new PooledRunspace
        {
            Runspace = runspace, ThreadId = threadId, Functions = sets[0], Aliases = sets[1], Modules = sets[2],
            Location = runspace.SessionStateProxy.Path.CurrentLocation.Path,
        };
    }

    // ---- prepare ------------------------------------------------------------------------------

    public PrepareResponse Prepare(PrepareRequest request)
    {
        var handle = HandleOf(request.Code);
        // Bounded: Node caches handles too and may not release them; a forgotten handle is re-parsed from the code.
        if (_prepared.Count >= 2_000) _prepared.Clear();
        var prepared = _prepared.GetOrAdd(handle, _ => Parse(request.Code));
        if (prepared.Errors.Length > 0)
        {
            _prepared.TryRemove(handle, out _);
            return PrepareResponse.Failure(prepared.Errors.Select(e => new Diagnostic(
                e.ErrorId, "error", e.Message, e.Extent.StartLineNumber, e.Extent.StartColumnNumber,
                e.Extent.EndLineNumber, e.Extent.EndColumnNumber)).ToList());
        }
        return PrepareResponse.Success(handle);
    }

    private static string HandleOf(string code) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(code)))[..32];

    // Commands that change runspace-wide state (location, variables in other scopes, modules, aliases,
    // drives, functions through providers) or run code we cannot see.
    private static readonly HashSet<string> s_globalCommands = new(StringComparer.OrdinalIgnoreCase)
    {
        "Set-Location", "sl", "cd", "chdir", "Push-Location", "pushd", "Pop-Location", "popd",
        "Set-Variable", "sv", "set", "New-Variable", "nv", "Remove-Variable", "rv", "Clear-Variable", "clv",
        "Set-Alias", "sal", "New-Alias", "nal", "Import-Alias", "ipal", "Export-ModuleMember",
        "Set-Item", "si", "New-Item", "ni", "Remove-Item", "ri", "rm", "del", "erase", "rd", "rmdir", "Rename-Item", "rni", "ren",
        "Copy-Item", "cpi", "cp", "copy", "Move-Item", "mi", "mv", "move", "Clear-Item", "cli", "Set-Content", "sc",
        "New-PSDrive", "ndr", "mount", "Remove-PSDrive", "rdr", "Set-StrictMode", "Set-PSDebug", "Set-PSBreakpoint", "sbp",
        "Invoke-Expression", "iex", "Invoke-Command", "icm", "Register-EngineEvent", "Register-ObjectEvent", "Start-Transcript",
        "Update-TypeData", "Update-FormatData", "Set-TraceSource", "Trace-Command", "Enable-PSBreakpoint", "Set-PSReadLineOption",
    };

    private static readonly HashSet<string> s_moduleCommands = new(StringComparer.OrdinalIgnoreCase)
    {
        "Import-Module", "ipmo", "Remove-Module", "rmo", "New-Module", "nmo", "Add-Type",
    };

    /// <summary>
    /// Reads the script's reach from its AST. Local: everything it can touch dies with its scope, so the
    /// runspace only needs the injected variables removed. Global: it may change runspace-wide state, so
    /// ResetRunspaceState runs (variables, location). Deep: it may also define global functions, aliases or
    /// modules, so those are cleaned too. Anything dynamic (iex, dot-sourcing, computed command names,
    /// $ExecutionContext) counts as Deep.
    /// </summary>
    private static Reach ReachOf(ScriptBlockAst ast)
    {
        var reach = Reach.Local;
        foreach (var node in ast.FindAll(_ => true, searchNestedScriptBlocks: true))
        {
            switch (node)
            {
                case UsingStatementAst:
                    return Reach.Deep;
                case FunctionDefinitionAst f when f.Name.Contains(':'):
                    return Reach.Deep;
                case VariableExpressionAst v:
                {
                    var path = v.VariablePath;
                    if (path.IsGlobal || path.IsScript) reach = Reach.Global;
                    else if (path.DriveName is { } drive && !drive.Equals("env", StringComparison.OrdinalIgnoreCase)
                             && !drive.Equals("local", StringComparison.OrdinalIgnoreCase) && !drive.Equals("private", StringComparison.OrdinalIgnoreCase)) return Reach.Deep;
                    else if (path.UserPath.Equals("ExecutionContext", StringComparison.OrdinalIgnoreCase) || path.UserPath.Equals("Host", StringComparison.OrdinalIgnoreCase)) return Reach.Deep;
                    break;
                }
                case CommandAst command:
                {
                    if (command.InvocationOperator == TokenKind.Dot) return Reach.Deep;
                    var name = command.GetCommandName();
                    if (name is null) return Reach.Deep;
                    if (s_moduleCommands.Contains(name)) return Reach.Deep;
                    if (s_globalCommands.Contains(name)) reach = Reach.Deep;
                    if (command.CommandElements.OfType<CommandParameterAst>().Any(p => p.ParameterName.Equals("Scope", StringComparison.OrdinalIgnoreCase))) return Reach.Deep;
                    break;
                }
            }
        }
        return reach;
    }

    private static PreparedScript Parse(string code)
    {
        var ast = Parser.ParseInput(code, out _, out var errors);
        var parameters = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (ast.ParamBlock is { } block)
        {
            foreach (var p in block.Parameters) parameters.Add(p.Name.VariablePath.UserPath);
        }
        return new PreparedScript(parameters, errors.Length > 0 ? Reach.Deep : ReachOf(ast), errors);
    }

    public void Release(string handle) => _prepared.TryRemove(handle, out _);

    // ---- run ----------------------------------------------------------------------------------

    public Task<RunResponse> RunAsync(RunRequest request, ITaskContext context, CancellationToken ct) => RunCoreAsync(request, context, ct);

    private async Task<RunResponse> RunCoreAsync(RunRequest request, ITaskContext context, CancellationToken ct)
    {
        var prepared = request.Handle is not null && _prepared.TryGetValue(request.Handle, out var p) ? p : _prepared.GetOrAdd(HandleOf(request.Code), _ => Parse(request.Code));
        if (prepared.Errors.Length > 0)
        {
            var e = prepared.Errors[0];
            return RunResponse.Failed(new ScriptError(e.Message, typeof(ParseException).FullName!, e.Extent.StartLineNumber, e.Extent.StartColumnNumber, e.ErrorId, ErrorCategory.ParserError.ToString()));
        }

        PooledRunspace pooled;
        Interlocked.Increment(ref _waiting);
        try
        {
            await _slots.WaitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return RunResponse.Cancelled();
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
        try
        {
            pooled = _idle.TryPop(out var idle) ? idle : await Task.Run(CreateRunspace).ConfigureAwait(false);
        }
        catch
        {
            _slots.Release();
            throw;
        }

        var active = new ActiveRun { Runspace = pooled };
        _active[request.TaskId] = active;
        context.BindThread(pooled.ThreadId);
        var forced = false;
        var ps = PowerShell.Create();
        var args = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        var reach = prepared.Reach;
        try
        {
            pooled.Uses++;
            var runspace = pooled.Runspace;
            foreach (var (name, node) in request.Args) args[name] = ToPowerShell(node);
            var proxy = runspace.SessionStateProxy;
            foreach (var (name, value) in args)
            {
                // An argument that shadows a built-in variable ($PWD, $Error, …) must not be "removed" later.
                if (reach == Reach.Local && proxy.PSVariable.Get(name) is not null) reach = Reach.Global;
                proxy.SetVariable(name, value);
            }
            proxy.SetVariable("TaskProgress", new TaskProgress(context));
            proxy.SetVariable("TaskId", request.TaskId);
            proxy.SetVariable("TaskCancellationToken", ct);

            ps.Runspace = runspace;
            ps.AddScript(request.Code, useLocalScope: true);
            foreach (var (name, value) in args)
            {
                if (prepared.Parameters.Contains(name)) ps.AddParameter(name, value);
            }
            HookStreams(ps, context);
            var output = new PSDataCollection<PSObject>();

            if (ct.IsCancellationRequested) return RunResponse.Cancelled();
            var invoke = ps.InvokeAsync<PSObject, PSObject>(null, output);
            // Stop() blocks until the pipeline stops; StopAsync returns at once. Registered after the
            // invoke started, because a stop before that is a no-op.
            using var registration = ct.Register(() => { try { ps.StopAsync(null, null); } catch { /* already done */ } });

            var winner = await Task.WhenAny(invoke, active.Forced.Task).ConfigureAwait(false);
            if (winner != invoke)
            {
                forced = true;
                return RunResponse.Cancelled();
            }
            try
            {
                await invoke.ConfigureAwait(false);
            }
            catch (PipelineStoppedException)
            {
                return RunResponse.Cancelled();
            }
            catch (RuntimeException ex)
            {
                if (ct.IsCancellationRequested && ps.InvocationStateInfo.State == PSInvocationState.Stopped) return RunResponse.Cancelled();
                return RunResponse.Failed(ToScriptError(ex.ErrorRecord, ex));
            }
            catch (Exception ex)
            {
                return RunResponse.Failed(new ScriptError(ex.Message, ex.GetType().FullName ?? "Exception", Stack: ex.StackTrace));
            }
            if (ct.IsCancellationRequested && ps.InvocationStateInfo.State == PSInvocationState.Stopped) return RunResponse.Cancelled();
            // ETS script properties (FileInfo.UnixMode, …) run PowerShell code when read: give this
            // thread the task's runspace (now idle) while the result is serialised.
            var previous = Runspace.DefaultRunspace;
            Runspace.DefaultRunspace = runspace;
            try
            {
                return RunResponse.Completed(ResultSerializer.FromPipeline(output.ReadAll()!, _depth));
            }
            finally
            {
                Runspace.DefaultRunspace = previous;
            }
        }
        finally
        {
            _active.TryRemove(request.TaskId, out _);
            if (forced)
            {
                Discard(pooled, ps);
            }
            else
            {
                // Reset off the task's path: the answer goes out now, the runspace rejoins the pool
                // (and its slot frees) once it is clean.
                var deep = reach;
                var injected = args.Keys.ToArray();
                _janitor.Add(() =>
                {
                    ps.Dispose();
                    Return(pooled, deep, injected);
                });
            }
        }
    }

    private static readonly string[] s_injected = ["TaskProgress", "TaskId", "TaskCancellationToken", "LASTEXITCODE"];

    /// <summary>
    /// Back to the pool, clean. A Local script only needs what we injected removed (plus $Error and
    /// $LASTEXITCODE, the automatic globals any script touches): ~0.1 ms instead of ResetRunspaceState's
    /// 3-8 ms. Others get ResetRunspaceState (variables, location), and Deep ones also lose the global
    /// functions, aliases and modules they added. Every 64th use is a full reset regardless.
    /// </summary>
    private void Return(PooledRunspace pooled, Reach reach, IReadOnlyList<string>? injected = null)
    {
        try
        {
            var runspace = pooled.Runspace;
            if (runspace.RunspaceStateInfo.State != RunspaceState.Opened) throw new InvalidOperationException("runspace is not open");
            if (reach == Reach.Local && pooled.Uses % 64 != 0 && pooled.Runspace.SessionStateProxy.Path.CurrentLocation.Path == pooled.Location)
            {
                var variables = runspace.SessionStateProxy.PSVariable;
                foreach (var name in s_injected) variables.Remove(name);
                if (injected is not null) foreach (var name in injected) variables.Remove(name);
                (variables.GetValue("Error") as System.Collections.ArrayList)?.Clear();
            }
            else
            {
                runspace.ResetRunspaceState();
                if (reach == Reach.Deep) Clean(pooled);
            }
            _idle.Push(pooled);
        }
        catch (Exception ex)
        {
            HostRuntime.Log($"pwsh: discarding a runspace that failed to reset: {ex.Message}");
            Interlocked.Increment(ref _discarded);
            Interlocked.Decrement(ref _total);
            try { pooled.Runspace.Dispose(); } catch { /* broken already */ }
        }
        finally
        {
            _slots.Release();
        }
    }

    private static void Clean(PooledRunspace pooled)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = pooled.Runspace;
        ps.AddScript("""
            param($functions, $aliases, $modules)
            Get-ChildItem function: | Where-Object { -not $functions.Contains($_.Name) } | Remove-Item -Force -ErrorAction SilentlyContinue
            Get-ChildItem alias: | Where-Object { -not $aliases.Contains($_.Name) } | Remove-Item -Force -ErrorAction SilentlyContinue
            Get-Module | Where-Object { -not $modules.Contains($_.Name) } | Remove-Module -Force -ErrorAction SilentlyContinue
            """)
            .AddParameter("functions", pooled.Functions)
            .AddParameter("aliases", pooled.Aliases)
            .AddParameter("modules", pooled.Modules);
        ps.Invoke();
        pooled.Runspace.ResetRunspaceState();
    }

    /// <summary>A runspace stuck in a blocking call: never reused; closed on a thread of its own whenever the call returns.</summary>
    private void Discard(PooledRunspace pooled, PowerShell ps)
    {
        Interlocked.Increment(ref _forced);
        Interlocked.Increment(ref _discarded);
        Interlocked.Decrement(ref _total);
        _slots.Release();
        var closer = new Thread(() =>
        {
            try { ps.Dispose(); pooled.Runspace.Dispose(); } catch { /* best effort */ }
        }) { IsBackground = true, Name = "kr-pwsh-discard" };
        closer.Start();
        // Keep the pool warm: replace it now rather than on the next rent.
        ThreadPool.QueueUserWorkItem(_ =>
        {
            try { if (Volatile.Read(ref _total) < _poolSize) _idle.Push(CreateRunspace()); }
            catch (Exception ex) { HostRuntime.Log($"pwsh: replacement runspace failed: {ex.Message}"); }
        });
    }

    public void ForceStop(string taskId)
    {
        if (_active.TryGetValue(taskId, out var active)) active.Forced.TrySetResult();
    }

    // ---- streams ------------------------------------------------------------------------------

    private static void HookStreams(PowerShell ps, ITaskContext context)
    {
        var streams = ps.Streams;
        streams.Error.DataAdded += (s, e) => context.WriteOutput("error", streams.Error[e.Index].ToString());
        streams.Warning.DataAdded += (s, e) => context.WriteOutput("warning", streams.Warning[e.Index].Message);
        streams.Verbose.DataAdded += (s, e) => context.WriteOutput("verbose", streams.Verbose[e.Index].Message);
        streams.Debug.DataAdded += (s, e) => context.WriteOutput("debug", streams.Debug[e.Index].Message);
        streams.Information.DataAdded += (s, e) =>
        {
            var record = streams.Information[e.Index];
            var text = record.MessageData is HostInformationMessage host ? host.Message : record.MessageData?.ToString() ?? "";
            context.WriteOutput("information", text);
        };
    }

    private static ScriptError ToScriptError(ErrorRecord? record, Exception ex)
    {
        if (record is null) return new ScriptError(ex.Message, ex.GetType().FullName ?? "Exception", Stack: ex.StackTrace);
        var inner = record.Exception ?? ex;
        var info = record.InvocationInfo;
        var message = record.ToString();
        if (string.IsNullOrWhiteSpace(message)) message = inner.Message;
        return new ScriptError(
            message,
            inner.GetType().FullName ?? "Exception",
            info is { ScriptLineNumber: > 0 } ? info.ScriptLineNumber : null,
            info is { OffsetInLine: > 0 } ? info.OffsetInLine : null,
            record.FullyQualifiedErrorId,
            record.CategoryInfo.Category.ToString(),
            record.ScriptStackTrace);
    }

    // ---- arguments ----------------------------------------------------------------------------

    /// <summary>JSON -> what a script expects: hashtables (case-insensitive), object[], string, int/long/double, bool, $null.</summary>
    private static object? ToPowerShell(JsonNode? node)
    {
        switch (node)
        {
            case null: return null;
            case JsonObject obj:
            {
                var table = new Hashtable(StringComparer.OrdinalIgnoreCase);
                foreach (var (key, value) in obj) table[key] = ToPowerShell(value);
                return table;
            }
            case JsonArray array: return array.Select(ToPowerShell).ToArray();
            case JsonValue value:
                switch (value.GetValueKind())
                {
                    case JsonValueKind.String: return value.GetValue<string>();
                    case JsonValueKind.True: return true;
                    case JsonValueKind.False: return false;
                    case JsonValueKind.Number:
                        if (value.TryGetValue<int>(out var i)) return i;
                        if (value.TryGetValue<long>(out var l)) return l;
                        return value.GetValue<double>();
                    default: return null;
                }
            default: return null;
        }
    }

    // ---- health -------------------------------------------------------------------------------

    public IDictionary<string, object?> Health() => new Dictionary<string, object?>
    {
        ["poolSize"] = _poolSize,
        ["runspaces"] = Volatile.Read(ref _total),
        ["idle"] = _idle.Count,
        ["busy"] = _active.Count,
        ["waiting"] = Volatile.Read(ref _waiting),
        ["created"] = Volatile.Read(ref _created),
        ["discarded"] = Volatile.Read(ref _discarded),
        ["forcedStops"] = Volatile.Read(ref _forced),
        ["psVersion"] = PSVersionInfo.PSVersion.ToString(),
    };
}

#pragma warning disable CS8605 // Health() values are object?; the harness unboxes known keys.
using System.Diagnostics;
using System.Runtime;
using System.Text;
using System.Text.Json.Nodes;
using Kr.Roslyn;

// Dev harness for Kr.Roslyn: functional checks (PASS/FAIL lines) and the performance figures.
// Usage: dotnet run -c Release [-- --quick]   (--quick skips the 2,000-script memory run)
if (args.Length > 1 && args[0] == "--debug") { await Dbg.Run(args[1]); return 0; }
if (args.Contains("--cold-only"))
{
    var e0 = new RoslynScriptEngine();
    var t0 = Stopwatch.StartNew();
    _ = References.All;
    var refsMs = t0.Elapsed.TotalMilliseconds;
    var p0 = e0.Prepare(Req.Prep(Language: "csharp", Code: "var cold = 40 + x;\ncold", Args: new JsonObject { ["x"] = 2 }));
    var csMs = t0.Elapsed.TotalMilliseconds - refsMs;
    var t1 = Stopwatch.StartNew();
    var p1 = e0.Prepare(Req.Prep(Language: "vbnet", Code: "Return 40 + x", Args: new JsonObject { ["x"] = 2 }));
    Console.WriteLine($"references {refsMs:F0} ms, first C# compile {csMs:F0} ms, then first VB compile {t1.Elapsed.TotalMilliseconds:F0} ms (ok={p0.Ok && p1.Ok})");
    return 0;
}
var quick = args.Contains("--quick");
var results = new List<(string Name, bool Ok, string Detail)>();
var originalOut = Console.Out;
Console.SetOut(new RoutingWriter(originalOut, "stdout"));
Console.SetError(new RoutingWriter(Console.Error, "stderr"));

void Report(string name, bool ok, string detail = "")
{
    results.Add((name, ok, detail));
    originalOut.WriteLine($"{(ok ? "PASS" : "FAIL")}  {name}{(detail.Length > 0 ? "  -- " + detail : "")}");
}

async Task Check(string name, Func<Task<(bool, string)>> body)
{
    try { var (ok, detail) = await body(); Report(name, ok, detail); }
    catch (Exception ex) { Report(name, false, "threw " + ex); }
}

var engine = new RoslynScriptEngine(new RoslynEngineOptions { CacheCapacity = 256 });

PrepareResponse Prep(string lang, string code, JsonObject? a = null) =>
    engine.Prepare(Req.Prep(Language: lang, Code: code, Args: a));

async Task<(RunResponse Run, TestContext Ctx, PrepareResponse Prep)> PrepRun(string lang, string code, JsonObject? a = null,
    Func<TestContext, CancellationTokenSource, Task>? during = null, string? taskId = null)
{
    var p = Prep(lang, code, a);
    if (!p.Ok) throw new Exception("compile failed: " + string.Join(" | ", p.Diagnostics));
    var ctx = new TestContext(taskId ?? "t-" + Guid.NewGuid().ToString("n")[..8]);
    using var cts = new CancellationTokenSource();
    RoutingWriter.Current.Value = ctx;
    var runTask = engine.RunAsync(Req.Run(TaskId: ctx.TaskId, Handle: p.Handle!), ctx, cts.Token);
    RoutingWriter.Current.Value = null;
    if (during is not null) await during(ctx, cts);
    var r = await runTask;
    engine.Release(p.Handle!);
    return (r, ctx, p);
}

string J(JsonNode? n) => n?.ToJsonString() ?? "null";
string Err(RunResponse r) => r.Error is null ? "" : $"{r.Error.Type}: {r.Error.Message} @{r.Error.Line}:{r.Error.Column}";

// ------------------------------------------------------------------ cold / warm figures
var figures = new List<string>();
{
    var sw = Stopwatch.StartNew();
    var nrefs = References.All.Length;
    figures.Add($"MetadataReference set built once: {nrefs} assemblies in {sw.Elapsed.TotalMilliseconds:F0} ms");
    sw.Restart();
    await engine.WarmupAsync(CancellationToken.None);
    figures.Add($"WarmupAsync in a fresh process (2 scripts, C# then VB; includes Roslyn JIT): {sw.Elapsed.TotalMilliseconds:F0} ms");
    sw.Restart();
    await engine.BackgroundWarmupAsync(CancellationToken.None);
    figures.Add($"BackgroundWarmupAsync after that (2 more scripts): {sw.Elapsed.TotalMilliseconds:F0} ms");
    sw.Restart();
    var p = Prep("csharp", "var first = 40 + x;\nfirst", new JsonObject { ["x"] = 2 });
    var firstMs = sw.Elapsed.TotalMilliseconds;
    var r = await engine.RunAsync(Req.Run(TaskId: "first", Handle: p.Handle!), new TestContext("first"), default);
    sw.Restart();
    var pv = Prep("vbnet", "Dim first = 40 + x\nReturn first", new JsonObject { ["x"] = 2 });
    var firstVbMs = sw.Elapsed.TotalMilliseconds;
    var rv = await engine.RunAsync(Req.Run(TaskId: "firstvb", Handle: pv.Handle!), new TestContext("firstvb"), default);
    figures.Add($"first real compile after WarmupAsync: C# {firstMs:F0} ms, VB {firstVbMs:F0} ms");
    Report("first C# and VB scripts after warmup compile and run", p.Ok && J(r.Result) == "42" && pv.Ok && J(rv.Result) == "42", $"{J(r.Result)} {J(rv.Result)}");
    engine.Release(p.Handle!); engine.Release(pv.Handle!);
    // Cold compile without any warmup, in a fresh process.
    var psi = new ProcessStartInfo(Environment.ProcessPath!, "--cold-only") { RedirectStandardOutput = true, UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") psi.Arguments = $"\"{typeof(TestContext).Assembly.Location}\" --cold-only";
    using var child = Process.Start(psi)!;
    var coldLine = (await child.StandardOutput.ReadToEndAsync()).Trim();
    await child.WaitForExitAsync();
    figures.Add("cold compile without warmup (fresh process): " + coldLine);
}

// ------------------------------------------------------------------ C# functional checks
await Check("C# tutorial snippet: typed arg total=1500, progress 'Working i/5', result 'CS task done at ...'", async () =>
{
    const string code = """
var steps = 5;
for (int i = 1; i <= steps; i++)
{
var pct = (i - 1) * 100 / steps;
TaskProgress.StatusMessage = $"Working {i}/{steps}";
TaskProgress.PercentComplete = pct;
await Task.Delay(total / steps);
}
TaskProgress.Complete("Completed");
"CS task done at " + DateTime.UtcNow.ToString("o")
""";
    var (r, ctx, _) = await PrepRun("csharp", code, new JsonObject { ["total"] = 1500 });
    var msgs = ctx.Progress.Select(x => x.Message).Distinct().ToList();
    bool ok = r.Status == "completed" && r.Result?.GetValue<string>().StartsWith("CS task done at ") == true
              && Enumerable.Range(1, 5).All(i => msgs.Contains($"Working {i}/5"))
              && ctx.Progress.Last() == (100, "Completed")
              && ctx.Progress.Any(x => x == (80, "Working 5/5"));
    return (ok, $"{r.Status} {J(r.Result)} progress={string.Join(",", ctx.Progress.Select(x => $"{x.Percent}:{x.Message}"))}");
});

await Check("C# arg typing: int, long, double, string, bool, null->object, array/object->JsonNode", async () =>
{
    var a = JsonNode.Parse("""{"i":1,"big":5000000000,"d":1.5,"d2":2.0,"s":"x","b":true,"n":null,"arr":[1,2,3],"obj":{"a":{"b":7}}}""")!.AsObject();
    var code = """
string T(object o) => o?.GetType().Name ?? "null";
int ii = i; long ll = big; double dd = d; string ss = s; bool bb = b; object nn = n; JsonNode aa = arr; JsonNode oo = obj;
$"{T(i)},{T(big)},{T(d)},{T(d2)},{T(s)},{T(b)},{T(n)},{T(arr)},{T(obj)},{(int)arr[2]},{(int)obj["a"]["b"]}"
""";
    var (r, _, _) = await PrepRun("csharp", code, a);
    var expected = "Int32,Int64,Double,Double,String,Boolean,null,JsonArray,JsonObject,3,7";
    return (r.Status == "completed" && r.Result?.GetValue<string>() == expected, J(r.Result) + " " + Err(r));
});

await Check("C# globals: TaskId, TaskCancellationToken, ct (await Task.Delay(200, ct))", async () =>
{
    var (r, ctx, _) = await PrepRun("csharp", "await Task.Delay(200, ct);\nawait Task.Delay(1, TaskCancellationToken);\nTaskId + \"|\" + ct.CanBeCanceled", taskId: "task-42");
    return (r.Status == "completed" && J(r.Result) == "\"task-42|True\"", J(r.Result) + " " + Err(r));
});

await Check("C# TaskProgress: clamp 0..100, blank message -> ArgumentException, Complete/Fail/Cancel/Reset", async () =>
{
    var code = """
var log = new List<string>();
TaskProgress.PercentComplete = 150; log.Add(TaskProgress.ToString());
TaskProgress.PercentComplete = -5; log.Add(TaskProgress.ToString());
TaskProgress.PercentComplete = 40;
try { TaskProgress.StatusMessage = "  "; log.Add("no-throw"); } catch (ArgumentException e) { log.Add("threw " + e.GetType().Name); }
try { TaskProgress.StatusMessage = null; log.Add("no-throw"); } catch (ArgumentException) { log.Add("threw null"); }
TaskProgress.Fail("bad"); log.Add(TaskProgress.ToString());
TaskProgress.Cancel(); log.Add(TaskProgress.ToString());
TaskProgress.Complete(); log.Add(TaskProgress.ToString());
TaskProgress.Reset(); log.Add(TaskProgress.ToString());
string.Join("|", log)
""";
    var (r, ctx, _) = await PrepRun("csharp", code);
    var expected = "100% - Running|0% - Running|threw ArgumentException|threw null|40% - bad|40% - Cancelled|100% - Completed|0% - Not started";
    return (J(r.Result) == "\"" + expected + "\"" && ctx.Progress.Count == 7, J(r.Result) + $" reports={ctx.Progress.Count}");
});

await Check("C# using directives at top + args; final expression result", async () =>
{
    var (r, _, _) = await PrepRun("csharp", "using System.Globalization;\nusing SB = System.Text.StringBuilder;\nvar sb = new SB();\nsb.Append(n.ToString(CultureInfo.InvariantCulture));\nsb.ToString()", new JsonObject { ["n"] = 1.25 });
    return (J(r.Result) == "\"1.25\"", J(r.Result) + " " + Err(r));
});

await Check("C# 'return' statement result, and no result -> null", async () =>
{
    var (r1, _, _) = await PrepRun("csharp", "if (x > 1) return x * 2;\nreturn 0;", new JsonObject { ["x"] = 21 });
    var (r2, _, _) = await PrepRun("csharp", "var y = 1;");
    return (J(r1.Result) == "42" && r2.Status == "completed" && r2.Result is null, $"{J(r1.Result)} {r2.Status} {J(r2.Result)}");
});

await Check("C# compile error positioned in user code after using lines + preamble", async () =>
{
    var p = Prep("csharp", "using System.Text;\nusing System.Globalization;\nvar x = total;\n  undefinedThing++;\n", new JsonObject { ["total"] = 1, ["s"] = "a" });
    var d = p.Diagnostics.FirstOrDefault();
    return (!p.Ok && p.Handle is null && d is { Id: "CS0103", Line: 4, Column: 3, Severity: "error" }, string.Join(" | ", p.Diagnostics));
});

await Check("C# compile error in a using line and on line 1 without usings", async () =>
{
    var p1 = Prep("csharp", "using Nope.Nothing;\nvar x = 1;\nx");
    var p2 = Prep("csharp", "var q = ;", new JsonObject { ["a"] = 1 });
    var d1 = p1.Diagnostics.FirstOrDefault(); var d2 = p2.Diagnostics.FirstOrDefault();
    return (!p1.Ok && d1 is { Line: 1, Column: 7 } && !p2.Ok && d2 is { Line: 1 }, $"{d1} || {d2}");
});

await Check("C# warnings come back with Ok (CS1030 #warning at line 2)", async () =>
{
    var p = Prep("csharp", "var a = 1;\n#warning heads up\na");
    var d = p.Diagnostics.FirstOrDefault();
    if (p.Ok) engine.Release(p.Handle!);
    return (p.Ok && d is { Id: "CS1030", Severity: "warning", Line: 2 }, string.Join(" | ", p.Diagnostics));
});

await Check("C# #r / #load are rejected", async () =>
{
    var p = Prep("csharp", "#r \"/tmp/evil.dll\"\n1");
    return (!p.Ok, string.Join(" | ", p.Diagnostics));
});

await Check("C# reserved argument name -> error diagnostic; invalid identifier -> warning", async () =>
{
    var p1 = Prep("csharp", "1", new JsonObject { ["ct"] = 1 });
    var p2 = Prep("csharp", "1", new JsonObject { ["my-arg"] = 1 });
    if (p2.Ok) engine.Release(p2.Handle!);
    return (!p1.Ok && p1.Diagnostics[0].Id == "KR0001" && p2.Ok && p2.Diagnostics[0].Id == "KR0002", $"{string.Join("|", p1.Diagnostics)} || {string.Join("|", p2.Diagnostics)}");
});

await Check("C# unhandled exception -> failed with type, message, user line (sync path, after usings)", async () =>
{
    var (r, _, _) = await PrepRun("csharp", "using System.Text;\nvar a = 1;\n\nthrow new InvalidOperationException(\"boom \" + a);", new JsonObject { ["z"] = 1 });
    return (r.Status == "failed" && r.Error is { Type: "System.InvalidOperationException", Message: "boom 1", Line: 4 }, Err(r));
});

await Check("C# exception after await maps to the user line", async () =>
{
    var code = "await Task.Delay(5);\nvar z = 0;\n\nvar q = 1 / z;\nq";
    var (r, _, _) = await PrepRun("csharp", code);
    return (r.Status == "failed" && r.Error is { Type: "System.DivideByZeroException", Line: 4 }, Err(r));
});

await Check("C# exception inside script methods / local functions maps to the throwing line (not inlined away)", async () =>
{
    var code = "void Check(int v)\n{\n    if (v == 0) throw new ArgumentException(\"zero\");\n}\nawait Task.Yield();\nCheck(0);";
    var (r, _, _) = await PrepRun("csharp", code);
    var code2 = "int Outer(int x)\n{\n    int Inner(int y) => 10 / y;\n    return Inner(x);\n}\nOuter(0)";
    var (r2, _, _) = await PrepRun("csharp", code2);
    return (r.Error is { Type: "System.ArgumentException", Line: 3 } && r2.Error is { Type: "System.DivideByZeroException", Line: 3 }, $"{Err(r)} ; {Err(r2)}");
});

await Check("C# diagnostics after script method declarations keep exact line and column", async () =>
{
    var p = Prep("csharp", "using System.Text;\nint Twice(int x) => x * 2;\n    static int Thrice(int x)\n    {\n        return x * 3;\n    }\nvar r = Twice(1) + Thrice(2) +   nope;", new JsonObject { ["a"] = 1 });
    var d = p.Diagnostics.FirstOrDefault();
    return (!p.Ok && d is { Id: "CS0103", Line: 7, Column: 34 }, string.Join(" | ", p.Diagnostics));
});

await Check("C# cancellation honoured: Task.Delay(10000, ct) -> cancelled fast", async () =>
{
    var sw = Stopwatch.StartNew();
    var (r, _, _) = await PrepRun("csharp", "await Task.Delay(10000, ct);\n1", during: async (_, cts) => { await Task.Delay(100); cts.Cancel(); });
    return (r.Status == "cancelled" && sw.ElapsedMilliseconds < 1000, $"{r.Status} in {sw.ElapsedMilliseconds} ms {Err(r)}");
});

await Check("C# cancellation via ThrowIfCancellationRequested in a loop -> cancelled", async () =>
{
    var (r, _, _) = await PrepRun("csharp", "while (true) { ct.ThrowIfCancellationRequested(); Thread.Sleep(10); }", during: async (_, cts) => { await Task.Delay(100); cts.Cancel(); });
    return (r.Status == "cancelled", r.Status);
});

await Check("C# OperationCanceledException without cancellation -> failed (e.g. a timeout)", async () =>
{
    var (r, _, _) = await PrepRun("csharp", "throw new TaskCanceledException(\"http timeout\");");
    return (r.Status == "failed" && r.Error!.Type == "System.Threading.Tasks.TaskCanceledException", r.Status + " " + Err(r));
});

await Check("C# token ignored: ForceStop returns 'cancelled' at once, run counted as abandoned, late result discarded", async () =>
{
    var before = (long)engine.Health()["abandonedRuns"];
    var sw = Stopwatch.StartNew();
    long stopAt = 0;
    var (r, ctx, _) = await PrepRun("csharp", "Thread.Sleep(1500);\nTaskProgress.StatusMessage = \"late\";\n\"late result\"", taskId: "stubborn",
        during: async (_, cts) => { await Task.Delay(100); cts.Cancel(); await Task.Delay(200); stopAt = sw.ElapsedMilliseconds; engine.ForceStop("stubborn"); });
    var returnedAfterStop = sw.ElapsedMilliseconds - stopAt;
    var h = engine.Health();
    var running = (long)h["abandonedRunning"];
    await Task.Delay(1800);
    var h2 = engine.Health();
    return (r.Status == "cancelled" && r.Result is null && returnedAfterStop < 50 && (long)h["abandonedRuns"] == before + 1 && running >= 1 && (long)h2["abandonedRunning"] == 0,
        $"{r.Status}, returned {returnedAfterStop} ms after ForceStop, abandonedRuns={h["abandonedRuns"]}, abandonedRunning={running} then {h2["abandonedRunning"]}");
});

await Check("C# synchronous infinite-ish loop does not block RunAsync's caller", async () =>
{
    var p = Prep("csharp", "var end = DateTime.UtcNow.AddMilliseconds(800); while (DateTime.UtcNow < end) { }\n1");
    var ctx = new TestContext("spin");
    var sw = Stopwatch.StartNew();
    var t = engine.RunAsync(Req.Run(TaskId: "spin", Handle: p.Handle!), ctx, default);
    var returnedMs = sw.ElapsedMilliseconds;
    var r = await t; engine.Release(p.Handle!);
    return (returnedMs < 100 && J(r.Result) == "1", $"RunAsync returned its Task after {returnedMs} ms; result {J(r.Result)}");
});

await Check("C# result serialisation: anonymous/record/enum/DateTime/dictionary/cycle/NaN", async () =>
{
    var code = """
record Pt(int X, int Y);
class Node { public string Name = "n"; public Node Self; }
var node = new Node(); node.Self = node;
new {
  when = new DateTime(2026, 12, 4, 10, 0, 0, DateTimeKind.Utc),
  day = DayOfWeek.Friday,
  pt = new Pt(1, 2),
  list = new List<int> { 1, 2 },
  map = new Dictionary<string, object> { ["a"] = 1, ["b"] = null },
  node,
  nan = double.NaN,
  tuple = (1, "x"),
  json = JsonNode.Parse("{\"k\":[true]}"),
}
""";
    var (r, _, _) = await PrepRun("csharp", code);
    var expected = """{"when":"2026-12-04T10:00:00.0000000Z","day":"Friday","pt":{"X":1,"Y":2},"list":[1,2],"map":{"a":1,"b":null},"node":{"Name":"n","Self":null},"nan":null,"tuple":{"Item1":1,"Item2":"x"},"json":{"k":[true]}}""";
    return (J(r.Result) == expected, J(r.Result) + " " + Err(r));
});

await Check("C# too-deep result -> failed with a clear message", async () =>
{
    var (r, _, _) = await PrepRun("csharp", "object o = 1; for (int i = 0; i < 100; i++) o = new object[] { o };\no");
    return (r.Status == "failed" && r.Error!.Message.Contains("depth"), Err(r));
});

await Check("C# cache: same code + arg types -> no recompilation; other arg type -> new compile; run args of another type recompile", async () =>
{
    const string code = "var r = v; r";
    var c0 = (long)engine.Health()["compilations"];
    var p1 = Prep("csharp", code, new JsonObject { ["v"] = 1 });
    var c1 = (long)engine.Health()["compilations"];
    var p2 = Prep("csharp", code, new JsonObject { ["v"] = 99 });
    var c2 = (long)engine.Health()["compilations"];
    var p3 = Prep("csharp", code, new JsonObject { ["v"] = "str" });
    var c3 = (long)engine.Health()["compilations"];
    var r2 = await engine.RunAsync(Req.Run(TaskId: "c2", Handle: p2.Handle!), new TestContext("c2"), default);
    var r2b = await engine.RunAsync(Req.Run(TaskId: "c2b", Handle: p2.Handle!, Args: new JsonObject { ["v"] = 7 }), new TestContext("c2b"), default);
    var c4 = (long)engine.Health()["compilations"];
    var r2c = await engine.RunAsync(Req.Run(TaskId: "c2c", Handle: p2.Handle!, Args: new JsonObject { ["v"] = true }), new TestContext("c2c"), default);
    var c5 = (long)engine.Health()["compilations"];
    foreach (var p in new[] { p1, p2, p3 }) engine.Release(p.Handle!);
    bool ok = c1 == c0 + 1 && c2 == c1 && c3 == c2 + 1 && p1.Handle != p2.Handle && J(r2.Result) == "99" && J(r2b.Result) == "7" && c4 == c3 && J(r2c.Result) == "true" && c5 == c4 + 1;
    return (ok, $"compilations {c0}->{c1}->{c2}->{c3}->{c4}->{c5}; results {J(r2.Result)},{J(r2b.Result)},{J(r2c.Result)}");
});

await Check("Run with an unknown/released handle but Language+Code (restarted host) compiles and runs", async () =>
{
    var r = await engine.RunAsync(Req.Run(TaskId: "re", Handle: "cs-gone", Language: "csharp", Code: "x * 3", Args: new JsonObject { ["x"] = 5 }), new TestContext("re"), default);
    var rv = await engine.RunAsync(Req.Run(TaskId: "rv", Language: "vbnet", Code: "Return x * 3", Args: new JsonObject { ["x"] = 5 }), new TestContext("rv"), default);
    return (J(r.Result) == "15" && J(rv.Result) == "15", $"{J(r.Result)} {J(rv.Result)} {Err(r)}{Err(rv)}");
});

await Check("Concurrent Prepare of the same new script compiles once", async () =>
{
    var c0 = (long)engine.Health()["compilations"];
    var code = "var k = " + Guid.NewGuid().GetHashCode() + ";\nk";
    var preps = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => Prep("csharp", code))));
    var c1 = (long)engine.Health()["compilations"];
    foreach (var p in preps) engine.Release(p.Handle!);
    return (preps.All(p => p.Ok) && preps.Select(p => p.Handle).Distinct().Count() == 8 && c1 == c0 + 1, $"compilations +{c1 - c0} for 8 parallel prepares");
});

await Check("Eviction while running: the running script finishes, its ALC unloads afterwards; its handle recompiles", async () =>
{
    var small = new RoslynScriptEngine(new RoslynEngineOptions { CacheCapacity = 1 });
    var pa = small.Prepare(Req.Prep(Language: "csharp", Code: "await Task.Delay(300);\n\"A done\""));
    var ta = small.RunAsync(Req.Run(TaskId: "A", Handle: pa.Handle!), new TestContext("A"), default);
    await Task.Delay(50);
    var pb = small.Prepare(Req.Prep(Language: "csharp", Code: "\"B\"")); // evicts A while it runs
    var h1 = small.Health();
    var ra = await ta;
    // Unloading is cooperative and takes a few GCs (and the runtime may hold the code briefly, e.g. for tiering).
    IDictionary<string, object?> h2 = small.Health();
    int tries = 0;
    for (; tries < 60 && (long)h2["alcUnloaded"] < 1; tries++) { GC.Collect(); GC.WaitForPendingFinalizers(); await Task.Delay(50); h2 = small.Health(); }
    var ra2 = await small.RunAsync(Req.Run(TaskId: "A2", Handle: pa.Handle!), new TestContext("A2"), default);
    var h3 = small.Health();
    bool ok = J(ra.Result) == "\"A done\"" && (long)h1["alcUnloadRequested"] == 0 && (long)h2["alcUnloadRequested"] == 1 && (long)h2["alcUnloaded"] == 1
              && J(ra2.Result) == "\"A done\"" && (long)h3["compilations"] == 3;
    return (ok, $"A={J(ra.Result)}; unloadRequested during run={h1["alcUnloadRequested"]}, after run={h2["alcUnloadRequested"]}, confirmed={h2["alcUnloaded"]} after {tries} GC rounds; rerun={J(ra2.Result)} compilations={h3["compilations"]}");
});

await Check("Unknown / released handle -> failed Kr.UnknownHandle", async () =>
{
    var r = await engine.RunAsync(Req.Run(TaskId: "x", Handle: "nope"), new TestContext("x"), default);
    return (r.Status == "failed" && r.Error!.Type == "Kr.UnknownHandle", Err(r));
});

await Check("Console routing: two concurrent C# tasks' Console.WriteLine/Console.Error stay separate (AsyncLocal)", async () =>
{
    var code = "for (int i = 0; i < 20; i++) { Console.WriteLine($\"{name} out {i}\"); await Task.Delay(3); Console.Error.WriteLine($\"{name} err {i}\"); await Task.Run(() => Console.WriteLine($\"{name} from Task.Run {i}\")); }\n1";
    var ta = PrepRun("csharp", code, new JsonObject { ["name"] = "A" });
    var tb = PrepRun("csharp", code, new JsonObject { ["name"] = "B" });
    var (ra, ca, _) = await ta; var (rb, cb, _) = await tb;
    bool aOnly = ca.Output.All(o => o.Text.StartsWith("A ")) && ca.Output.Count(o => o.Stream == "stdout") == 40 && ca.Output.Count(o => o.Stream == "stderr") == 20;
    bool bOnly = cb.Output.All(o => o.Text.StartsWith("B ")) && cb.Output.Count == 60;
    return (aOnly && bOnly && ra.Status == "completed" && rb.Status == "completed", $"A: {ca.Output.Count} lines, B: {cb.Output.Count} lines");
});

// ------------------------------------------------------------------ VB.NET functional checks
await Check("VB Kestrun case: Await Task.Delay(50) / Return 777 -> 777", async () =>
{
    var (r, _, _) = await PrepRun("vbnet", "Await Task.Delay(50)\nReturn 777");
    return (J(r.Result) == "777", J(r.Result) + " " + Err(r));
});

await Check("VB Imports hoisted + typed args + TaskProgress/TaskId/ct", async () =>
{
    var code = """
Imports System.Text
Imports System.Globalization

Dim sb As New StringBuilder()
For i As Integer = 1 To 3
    TaskProgress.StatusMessage = $"Step {i}"
    TaskProgress.PercentComplete = i * 30
    Await Task.Delay(5, ct)
Next
sb.Append(total.ToString(CultureInfo.InvariantCulture)).Append("|").Append(TypeName(total)).Append("|").Append(TypeName(ratio)).Append("|").Append(TypeName(flag)).Append("|").Append(CInt(items(1)))
sb.Append("|").Append(TaskId).Append("|").Append(TaskCancellationToken.CanBeCanceled)
Return sb.ToString()
""";
    var (r, ctx, _) = await PrepRun("vbnet", code, JsonNode.Parse("""{"total":1500,"ratio":0.5,"flag":true,"items":[10,20]}""")!.AsObject(), taskId: "vb-1");
    var ok = J(r.Result) == "\"1500|Integer|Double|Boolean|20|vb-1|True\"" && ctx.Progress.Contains((90, "Step 3"));
    return (ok, J(r.Result) + " " + Err(r) + " progress=" + string.Join(",", ctx.Progress));
});

await Check("VB compile error positioned in user code (after Imports lines)", async () =>
{
    var p = Prep("vbnet", "Imports System.Text\n\nDim x As Integer = 1\nFoo(x)\nReturn x", new JsonObject { ["a"] = 1 });
    var d = p.Diagnostics.FirstOrDefault(x => x.Severity == "error");
    return (!p.Ok && d is { Id: "BC30451", Line: 4, Column: 1 }, string.Join(" | ", p.Diagnostics));
});

await Check("VB bad Imports line reported on its user line", async () =>
{
    var p = Prep("vbnet", "' comment\nImports System.Text\nImports Nope.Nothing\nReturn 1");
    var d = p.Diagnostics.FirstOrDefault();
    if (p.Ok) engine.Release(p.Handle!);
    return (d is { Line: 3 }, $"ok={p.Ok} " + string.Join(" | ", p.Diagnostics));
});

await Check("VB Option Explicit On: undeclared variable is an error at its line", async () =>
{
    var p = Prep("vbnet", "Dim a = 1\nb = 2\nReturn a");
    var d = p.Diagnostics.FirstOrDefault(x => x.Severity == "error");
    return (!p.Ok && d is { Line: 2 }, string.Join(" | ", p.Diagnostics));
});

await Check("VB Option Strict Off by default (late binding), 'Option Strict On' line opts in", async () =>
{
    var (r, _, _) = await PrepRun("vbnet", "Dim o As Object = \"abc\"\nDim n As Integer = o.Length\nReturn n");
    var p = Prep("vbnet", "Option Strict On\nDim o As Object = \"abc\"\nDim n As Integer = o.Length\nReturn n");
    var d = p.Diagnostics.FirstOrDefault(x => x.Severity == "error");
    return (J(r.Result) == "3" && !p.Ok && d is { Line: 3 }, $"{J(r.Result)} {Err(r)} | strict: {string.Join(" | ", p.Diagnostics)}");
});

await Check("VB runtime exception -> failed with type and user line", async () =>
{
    var (r, _, _) = await PrepRun("vbnet", "Imports System.Text\nAwait Task.Delay(1)\nDim x As Integer = 0\nThrow New InvalidOperationException(\"vb boom\")");
    return (r.Status == "failed" && r.Error is { Type: "System.InvalidOperationException", Message: "vb boom", Line: 4 }, Err(r));
});

await Check("VB cancellation honoured -> cancelled", async () =>
{
    var (r, _, _) = await PrepRun("vbnet", "Await Task.Delay(10000, ct)\nReturn 1", during: async (_, cts) => { await Task.Delay(100); cts.Cancel(); });
    return (r.Status == "cancelled", r.Status + " " + Err(r));
});

await Check("VB falling off the end -> null result; Console output routed", async () =>
{
    var (r, ctx, _) = await PrepRun("vbnet", "Console.WriteLine(\"hello from vb\")");
    return (r.Status == "completed" && r.Result is null && ctx.Output.Any(o => o.Text == "hello from vb"), r.Status + " " + J(r.Result) + " out=" + string.Join(",", ctx.Output.Select(o => o.Text)));
});

await Check("Unknown language -> not ok", async () =>
{
    var p = Prep("fsharp", "1");
    return (!p.Ok, string.Join(" | ", p.Diagnostics));
});

// ------------------------------------------------------------------ performance
{
    // Warm compile: distinct small scripts after warmup.
    var times = new List<double>();
    for (int i = 0; i < 30; i++)
    {
        var sw = Stopwatch.StartNew();
        var p = Prep("csharp", $"var steps = {i};\nfor (int k = 0; k < steps; k++) {{ TaskProgress.PercentComplete = k; await Task.Delay(0); }}\n\"done \" + total", new JsonObject { ["total"] = i });
        times.Add(sw.Elapsed.TotalMilliseconds);
        engine.Release(p.Handle!);
    }
    var vbTimes = new List<double>();
    for (int i = 0; i < 30; i++)
    {
        var sw = Stopwatch.StartNew();
        var p = Prep("vbnet", $"Dim steps = {i}\nFor k = 1 To steps\n  TaskProgress.PercentComplete = k\nNext\nReturn \"done \" & total", new JsonObject { ["total"] = i });
        vbTimes.Add(sw.Elapsed.TotalMilliseconds);
        engine.Release(p.Handle!);
    }
    var warmMed = Percentile(times, 50);
    figures.Add($"C# warm compile of a small script: median {warmMed:F1} ms, p90 {Percentile(times, 90):F1} ms, max {times.Max():F1} ms (30 distinct scripts)");
    figures.Add($"VB warm compile of a small script: median {Percentile(vbTimes, 50):F1} ms, p90 {Percentile(vbTimes, 90):F1} ms");
    Report("warm compile median <= 150 ms (C# and VB)", warmMed <= 150 && Percentile(vbTimes, 50) <= 150, $"C# {warmMed:F1} ms, VB {Percentile(vbTimes, 50):F1} ms");

    // Cached run overhead: trivial script, RunAsync end to end (bind args, globals, Task.Run, serialise).
    foreach (var lang in new[] { "csharp", "vbnet" })
    {
        var p = Prep(lang, lang == "csharp" ? "x + 1" : "Return x + 1", new JsonObject { ["x"] = 1 });
        var ctx = new TestContext("bench");
        var c0 = (long)engine.Health()["compilations"];
        var samples = new List<double>();
        for (int i = 0; i < 5000; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            var r = await engine.RunAsync(Req.Run(TaskId: "bench", Handle: p.Handle!), ctx, default);
            samples.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
            if (r.Status != "completed") throw new Exception("bench run failed " + Err(r));
        }
        var c1 = (long)engine.Health()["compilations"];
        samples = samples.Skip(500).ToList();
        var med = Percentile(samples, 50);
        figures.Add($"{lang} cached run overhead: median {med:F1} µs, p99 {Percentile(samples, 99):F1} µs (4,500 runs, compilations during runs: {c1 - c0})");
        Report($"{lang} cached run: median <= 1 ms and no recompilation", med <= 1000 && c1 == c0, $"median {med:F1} µs, p99 {Percentile(samples, 99):F1} µs");
        engine.Release(p.Handle!);
    }
}

if (!quick)
{
    // Memory: 2,000 distinct scripts compiled, run (each returns a script-defined type) and released,
    // cache bounded at 256; collectible ALCs must unload.
    var mem = new RoslynScriptEngine(new RoslynEngineOptions { CacheCapacity = 256 });
    var ctx = new TestContext("mem");
    var lines = new List<string>();
    var heaps = new List<double>();
    var sw = Stopwatch.StartNew();
    for (int i = 1; i <= 2000; i++)
    {
        var lang = i % 4 == 0 ? "vbnet" : "csharp";
        var code = lang == "csharp"
            ? $"record R{i}(int A, string B);\nvar list = new List<R{i}>();\nfor (int k = 0; k < n; k++) list.Add(new R{i}(k, \"v{i}\"));\nlist"
            : $"Dim list As New List(Of String)()\nFor k = 1 To n\n  list.Add(\"v{i}\" & k)\nNext\nReturn list";
        var p = mem.Prepare(Req.Prep(Language: lang, Code: code, Args: new JsonObject { ["n"] = 3 }));
        if (!p.Ok) throw new Exception("mem compile failed " + string.Join("|", p.Diagnostics));
        var r = await mem.RunAsync(Req.Run(TaskId: "m" + i, Handle: p.Handle!), ctx, default);
        if (r.Status != "completed") throw new Exception("mem run failed " + Err(r));
        mem.Release(p.Handle!);
        if (i % 200 == 0)
        {
            for (int g = 0; g < 3; g++) { GC.Collect(); GC.WaitForPendingFinalizers(); }
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(2, GCCollectionMode.Aggressive, true, true);
            var h = mem.Health();
            var heapMb = GC.GetTotalMemory(false) / 1048576.0;
            heaps.Add(heapMb);
            var ws = Environment.WorkingSet / 1048576.0;
            var line = $"  after {i,5} scripts ({sw.Elapsed.TotalSeconds,5:F1} s): GC heap {heapMb,6:F1} MB, working set {ws,6:F1} MB, cache {h["cacheEntries"]}, ALCs loaded {h["alcLoaded"]}, unload requested {h["alcUnloadRequested"]}, confirmed unloaded {h["alcUnloaded"]}, alive {h["alcAlive"]}";
            lines.Add(line);
            originalOut.WriteLine(line);
        }
    }
    var hf = mem.Health();
    figures.Add($"2,000 distinct scripts (1,500 C# + 500 VB), cache 256, total {sw.Elapsed.TotalSeconds:F1} s:");
    figures.AddRange(lines);
    var unloaded = (long)hf["alcUnloaded"];
    bool levelsOff = heaps[^1] <= heaps[4] * 1.25 + 5; // heap at 2,000 within 25% (+5 MB) of heap at 1,000
    Report("memory levels off over 2,000 distinct scripts (heap@2000 vs heap@1000)", levelsOff, $"{heaps[4]:F1} MB -> {heaps[^1]:F1} MB");
    Report("evicted collectible ALCs actually unload (WeakReference dead after GC)", unloaded >= 2000 - 256 - 10 && (long)hf["alcAlive"] <= 256 + 10,
        $"loaded {hf["alcLoaded"]}, confirmed unloaded {unloaded}, alive {hf["alcAlive"]}");
}

originalOut.WriteLine();
originalOut.WriteLine("FIGURES");
foreach (var f in figures) originalOut.WriteLine("  " + f);
originalOut.WriteLine();
originalOut.WriteLine("HEALTH " + string.Join(", ", engine.Health().Select(kv => $"{kv.Key}={kv.Value}")));
var failed = results.Count(r => !r.Ok);
originalOut.WriteLine($"{results.Count - failed} passed, {failed} failed");
return failed == 0 ? 0 : 1;

static double Percentile(List<double> xs, double p)
{
    var s = xs.OrderBy(x => x).ToList();
    var idx = (int)Math.Ceiling(p / 100.0 * s.Count) - 1;
    return s[Math.Clamp(idx, 0, s.Count - 1)];
}

sealed class TestContext(string taskId) : ITaskContext
{
    private readonly object _gate = new();
    public string TaskId { get; } = taskId;
    public List<(int Percent, string Message)> Progress { get; } = new();
    public List<(string Stream, string Text)> Output { get; } = new();
    public void ReportProgress(int percent, string message) { lock (_gate) Progress.Add((percent, message)); }
    public void WriteOutput(string stream, string text) { lock (_gate) Output.Add((stream, text)); }
    public void BindThread(int managedThreadId) { }
}

/// <summary>Stand-in for the host's console router: writes go to the ITaskContext in the current async
/// flow, or to the real console when no task is current. Line-buffered per flow.</summary>
sealed class RoutingWriter(TextWriter fallback, string stream) : TextWriter
{
    public static readonly AsyncLocal<ITaskContext?> Current = new();
    [ThreadStatic] private static StringBuilder? t_buffer;
    public override Encoding Encoding => Encoding.UTF8;

    public override void Write(char value)
    {
        var ctx = Current.Value;
        if (ctx is null) { fallback.Write(value); return; }
        var b = t_buffer ??= new StringBuilder();
        if (value == '\n') { ctx.WriteOutput(stream, b.ToString().TrimEnd('\r')); b.Clear(); }
        else b.Append(value);
    }

    public override void Write(string? value)
    {
        if (value is null) return;
        var ctx = Current.Value;
        if (ctx is null) { fallback.Write(value); return; }
        foreach (var ch in value) Write(ch);
    }

    public override void WriteLine(string? value)
    {
        var ctx = Current.Value;
        if (ctx is null) { fallback.WriteLine(value); return; }
        var b = t_buffer;
        if (b is { Length: > 0 }) { value = b + value; b.Clear(); }
        ctx.WriteOutput(stream, value ?? "");
    }
}

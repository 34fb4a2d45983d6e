// Dev experiments (not part of the checks): --debug inline | same | norun | cap1 | dumpcap1 (memory probes used with dotnet-gcdump).
using System.Text.Json.Nodes;
using Kr.Roslyn;
static class Dbg {
  static double Heap() { for (int g = 0; g < 3; g++) { GC.Collect(); GC.WaitForPendingFinalizers(); } return GC.GetTotalMemory(true) / 1048576.0; }
  public static async Task Run(string mode) {
    if (mode == "inline") {
      var eng = new RoslynScriptEngine();
      foreach (var code in new[]{
        "void Check(int v)\n{\n    if (v == 0) throw new ArgumentException(\"zero\");\n}\nawait Task.Yield();\nCheck(0);",
        "[System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]\nvoid Check(int v)\n{\n    if (v == 0) throw new ArgumentException(\"zero\");\n}\nawait Task.Yield();\nCheck(0);",
        "await Task.Yield();\nvoid Check(int v)\n{\n    if (v == 0) throw new ArgumentException(\"zero\");\n}\nCheck(0);\nint L() { throw new Exception(); }",
      }) {
        var p = eng.Prepare(Req.Prep(Language: "csharp", Code: code));
        var r = await eng.RunAsync(Req.Run(TaskId: "i", Handle: p.Handle!), new NullCtx(), default);
        Console.WriteLine($"line {r.Error?.Line}\n{r.Error?.Stack}\n---");
      }
      return;
    }
    var e = new RoslynScriptEngine(new RoslynEngineOptions { CacheCapacity = mode.EndsWith("cap1") ? 1 : 256 });
    var ctx = new NullCtx();
    int n = mode.StartsWith("dump") ? 1500 : mode == "long" ? 6000 : 2400;
    for (int i = 1; i <= n; i++) {
      var code = $"record R{i}(int A, string B);\nvar list = new List<R{i}>();\nfor (int k = 0; k < n; k++) list.Add(new R{i}(k, \"v{i}\"));\nlist";
      if (mode == "same") code = "record R(int A, string B);\nvar list = new List<R>();\nfor (int k = 0; k < n; k++) list.Add(new R(k, \"v\"));\nlist";
      var lang = "csharp";
      if (mode == "long" && i % 4 == 0) { lang = "vbnet"; code = $"Dim list As New List(Of String)()\nFor k = 1 To n\n  list.Add(\"v{i}\" & k)\nNext\nReturn list"; }
      var p = e.Prepare(Req.Prep(Language: lang, Code: code, Args: new JsonObject{["n"]=3}));
      if (mode != "norun") { var r = await e.RunAsync(Req.Run(TaskId: "d", Handle: p.Handle!), ctx, default); }
      e.Release(p.Handle!);
      if (mode.StartsWith("dump") && (i == 300 || i == 1500)) { Heap(); Console.WriteLine($"DUMP {i} pid {Environment.ProcessId}"); while (!File.Exists($"/tmp/go_{i}")) await Task.Delay(200); }
      if (i % (mode == "long" ? 1000 : 400) == 0) { var h = e.Health(); Console.WriteLine($"{mode} {i}: heap {Heap():F2} MB ws {Environment.WorkingSet/1048576.0:F0} MB alive {h["alcAlive"]} compiles {h["compilations"]}"); }
    }
  }
  sealed class NullCtx : ITaskContext { public string TaskId => "d"; public void ReportProgress(int p, string m){} public void WriteOutput(string s, string t){} public void BindThread(int id){} }
}

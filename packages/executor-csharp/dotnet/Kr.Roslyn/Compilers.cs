using System.Collections.Immutable;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Emit;
using Microsoft.CodeAnalysis.Text;
using Microsoft.CodeAnalysis.VisualBasic;
using VB = Microsoft.CodeAnalysis.VisualBasic;
using CS = Microsoft.CodeAnalysis.CSharp;

namespace Kr.Roslyn;

internal enum EntryShape
{
    /// <summary>C# script: static Task&lt;object&gt; &lt;Factory&gt;(object[] submissionArray).</summary>
    ScriptFactory,
    /// <summary>VB module: static Task(Of Object) Run(ScriptGlobals).</summary>
    GlobalsFunction,
}

internal sealed class CompileOutput
{
    public required bool Success { get; init; }
    public required List<ScriptDiagnostic> Diagnostics { get; init; }
    public byte[]? Pe { get; init; }
    public byte[]? Pdb { get; init; }
    public string EntryType { get; init; } = "";
    public string EntryMethod { get; init; } = "";
    public EntryShape Shape { get; init; }
}

/// <summary>Maps compiler diagnostics onto the user's lines.</summary>
internal static class DiagnosticMapper
{
    /// <param name="bodyStart">Generated-text offset where the user's (mapped) code starts.</param>
    /// <param name="preludeSpan">Generated-text span of wrapper/preamble code (reported at 1:1).</param>
    /// <param name="headerLineMap">Generated line (0-based) -> user line (1-based) for hoisted lines.</param>
    public static List<ScriptDiagnostic> Map(IEnumerable<Diagnostic> diagnostics, SyntaxTree userTree, TextSpan preludeSpan,
        int bodyStart, IReadOnlyDictionary<int, int>? headerLineMap, bool headIsVerbatim)
    {
        var list = new List<ScriptDiagnostic>();
        foreach (var d in diagnostics)
        {
            if (d.Severity is not (DiagnosticSeverity.Error or DiagnosticSeverity.Warning)) continue;
            var sev = d.Severity == DiagnosticSeverity.Error ? "error" : "warning";
            var loc = d.Location;
            if (!loc.IsInSource || loc.SourceTree != userTree)
            {
                list.Add(new ScriptDiagnostic(Id: d.Id, Severity: sev, Message: d.GetMessage(), Line: 1, Column: 1));
                continue;
            }
            var span = loc.SourceSpan;
            var raw = loc.GetLineSpan();
            if (span.Start >= bodyStart)
            {
                var m = loc.GetMappedLineSpan();
                list.Add(new ScriptDiagnostic(Id: d.Id, Severity: sev, Message: d.GetMessage(),
                    Line: m.StartLinePosition.Line + 1, Column: m.StartLinePosition.Character + 1,
                    EndLine: m.EndLinePosition.Line + 1, EndColumn: m.EndLinePosition.Character + 1));
            }
            else if (headerLineMap is not null && headerLineMap.TryGetValue(raw.StartLinePosition.Line, out var userLine))
            {
                list.Add(new ScriptDiagnostic(Id: d.Id, Severity: sev, Message: d.GetMessage(),
                    Line: userLine, Column: raw.StartLinePosition.Character + 1,
                    EndLine: userLine, EndColumn: raw.EndLinePosition.Character + 1));
            }
            else if (headIsVerbatim && span.End <= preludeSpan.Start)
            {
                // The head (C# using directives) is the user's text at its original position.
                list.Add(new ScriptDiagnostic(Id: d.Id, Severity: sev, Message: d.GetMessage(),
                    Line: raw.StartLinePosition.Line + 1, Column: raw.StartLinePosition.Character + 1,
                    EndLine: raw.EndLinePosition.Line + 1, EndColumn: raw.EndLinePosition.Character + 1));
            }
            else
            {
                list.Add(new ScriptDiagnostic(Id: d.Id, Severity: sev, Message: "(generated argument/globals declarations) " + d.GetMessage(), Line: 1, Column: 1));
            }
        }
        return list;
    }
}

internal static class CSharpScriptCompiler
{
    public const string FileName = "task.csx";
    public const string ScriptClassName = "KrScript";

    public static readonly ImmutableArray<string> DefaultUsings =
    [
        "System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Text",
        "System.Text.Json", "System.Text.Json.Nodes", "System.Threading", "System.Threading.Tasks",
    ];

    private static readonly CSharpParseOptions s_parse = new(CS.LanguageVersion.Latest, DocumentationMode.None, SourceCodeKind.Script);

    private static readonly CSharpCompilationOptions s_options = new CSharpCompilationOptions(
            OutputKind.DynamicallyLinkedLibrary,
            scriptClassName: ScriptClassName,
            usings: DefaultUsings,
            optimizationLevel: OptimizationLevel.Release,
            allowUnsafe: false,
            concurrentBuild: false,
            deterministic: true,
            nullableContextOptions: NullableContextOptions.Disable)
        // No #r / #load: a null resolver turns them into compile errors (scripts cannot pull in files).
        .WithMetadataReferenceResolver(null)
        .WithSourceReferenceResolver(null);

    private static readonly EmitOptions s_emit = new(debugInformationFormat: DebugInformationFormat.PortablePdb);

    public static readonly HashSet<string> Reserved = new(StringComparer.Ordinal)
        { "TaskProgress", "TaskId", "TaskCancellationToken", "ct", "__KrArgs" };

    public static CompileOutput Compile(string code, ArgSignature sig, string assemblyName)
    {
        var diags = new List<ScriptDiagnostic>();
        var userParsed = CSharpSyntaxTree.ParseText(code, s_parse);
        var root = (CompilationUnitSyntax)userParsed.GetRoot();

        // Split after the last using / extern alias directive: they must stay first (CS1529).
        int split = 0;
        SyntaxNode? lastHead = (SyntaxNode?)root.Usings.LastOrDefault() ?? root.Externs.LastOrDefault();
        if (lastHead is not null) split = lastHead.FullSpan.End;
        var userText = userParsed.GetText();
        int restFirstLine = split >= code.Length && split > 0 && !EndsWithNewline(code)
            ? userText.Lines.Count + 1
            : userText.Lines.GetLinePosition(split).Line + 1;

        var sb = new StringBuilder(code.Length + 256);
        sb.Append(code, 0, split);
        if (split > 0 && !EndsWithNewline(sb)) sb.Append('\n');
        int preludeStart = sb.Length;
        for (int i = 0; i < sig.Slots.Length; i++)
        {
            var slot = sig.Slots[i];
            if (Reserved.Contains(slot.Name))
            {
                diags.Add(new ScriptDiagnostic(Id: "KR0001", Severity: "error", Line: 1, Column: 1,
                    Message: $"Argument name '{slot.Name}' is reserved (TaskProgress, TaskId, TaskCancellationToken, ct)."));
                continue;
            }
            if (!CS.SyntaxFacts.IsValidIdentifier(slot.Name))
            {
                diags.Add(new ScriptDiagnostic(Id: "KR0002", Severity: "warning", Line: 1, Column: 1,
                    Message: $"Argument '{slot.Name}' is not a valid C# identifier; no variable is declared for it."));
                continue;
            }
            var type = ArgSignature.CSharpType(slot.Kind);
            sb.Append(type).Append(" @").Append(slot.Name).Append(" = (").Append(type).Append(")__KrArgs[").Append(i).Append("];\n");
        }
        int preludeEnd = sb.Length;
        sb.Append("#line ").Append(restFirstLine).Append(" \"").Append(FileName).Append("\"\n");
        int bodyStart = sb.Length;
        // Release code lets the JIT inline small script methods, and an inlined frame has no line of its
        // own: the stack then points at the call site. Mark user methods and local functions NoInlining,
        // on an inserted line followed by #line so that no user line or column moves.
        int pos = split;
        foreach (var (at, line) in NoInliningInsertions(root, userText, code, split))
        {
            sb.Append(code, pos, at - pos);
            sb.Append("[global::System.Runtime.CompilerServices.MethodImpl(global::System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]\n#line ")
              .Append(line).Append(" \"").Append(FileName).Append("\"\n");
            pos = at;
        }
        sb.Append(code, pos, code.Length - pos);

        if (diags.Any(d => d.Severity == "error")) return new CompileOutput { Success = false, Diagnostics = diags };

        var tree = CSharpSyntaxTree.ParseText(SourceText.From(sb.ToString(), Encoding.UTF8), s_parse, path: FileName);
        var compilation = CSharpCompilation.CreateScriptCompilation(
            assemblyName, tree, References.All, s_options, previousScriptCompilation: null,
            returnType: typeof(object), globalsType: typeof(ScriptGlobals));

        using var pe = new MemoryStream();
        using var pdb = new MemoryStream();
        var result = compilation.Emit(pe, pdb, options: s_emit);
        diags.AddRange(DiagnosticMapper.Map(result.Diagnostics, tree, TextSpan.FromBounds(preludeStart, preludeEnd), bodyStart, null, headIsVerbatim: true));
        if (!result.Success) return new CompileOutput { Success = false, Diagnostics = diags };
        return new CompileOutput
        {
            Success = true, Diagnostics = diags, Pe = pe.ToArray(), Pdb = pdb.ToArray(),
            EntryType = ScriptClassName, EntryMethod = "<Factory>", Shape = EntryShape.ScriptFactory,
        };
    }

    /// <summary>Line starts (offset, 1-based user line) of method / local function declarations with a
    /// body that begin their line and do not already carry a MethodImpl attribute.</summary>
    private static IEnumerable<(int At, int Line)> NoInliningInsertions(CompilationUnitSyntax root, SourceText text, string code, int split)
    {
        var list = new List<(int, int)>();
        foreach (var node in root.DescendantNodes())
        {
            SyntaxList<AttributeListSyntax> attrs;
            switch (node)
            {
                case MethodDeclarationSyntax m when m.Body is not null || m.ExpressionBody is not null: attrs = m.AttributeLists; break;
                case LocalFunctionStatementSyntax f when f.Body is not null || f.ExpressionBody is not null: attrs = f.AttributeLists; break;
                default: continue;
            }
            if (node.SpanStart < split) continue;
            if (attrs.SelectMany(a => a.Attributes).Any(a => a.Name.ToString().Contains("MethodImpl", StringComparison.Ordinal))) continue;
            var line = text.Lines.GetLineFromPosition(node.SpanStart);
            if (line.Start < split) continue;
            bool onlyWhitespaceBefore = true;
            for (int i = line.Start; i < node.SpanStart; i++) if (!char.IsWhiteSpace(code[i])) { onlyWhitespaceBefore = false; break; }
            if (!onlyWhitespaceBefore) continue;
            list.Add((line.Start, line.LineNumber + 1));
        }
        return list.Distinct().OrderBy(x => x.Item1);
    }

    private static bool EndsWithNewline(string s) => s.Length > 0 && (s[^1] == '\n' || s[^1] == '\r');
    private static bool EndsWithNewline(StringBuilder s) => s.Length > 0 && (s[^1] == '\n' || s[^1] == '\r');
}

/// <summary>
/// VB.NET has no scripting API: the snippet becomes the body of
/// <c>Public Async Function Run(g As ScriptGlobals) As Task(Of Object)</c> in a module, compiled as a DLL.
/// Leading <c>Option</c>/<c>Imports</c> lines are hoisted to the file top (and blanked in the body so the
/// line numbers do not move); the body sits in an <c>#ExternalSource("task.vb", 1)</c> block so
/// diagnostics and PDB lines are the user's.
/// </summary>
internal static class VbScriptCompiler
{
    public const string FileName = "task.vb";
    public const string ModuleName = "KrVbScript";

    public static readonly ImmutableArray<string> DefaultImports =
    [
        "System", "System.Collections", "System.Collections.Generic", "System.IO", "System.Linq", "System.Text",
        "System.Text.Json", "System.Text.Json.Nodes", "System.Threading", "System.Threading.Tasks", "Microsoft.VisualBasic",
    ];

    private static readonly VisualBasicParseOptions s_parse = new(VB.LanguageVersion.Latest, DocumentationMode.None, SourceCodeKind.Regular);

    // Option Strict Off: script-friendly (implicit narrowing, late binding on Object) like VB project
    // defaults; a snippet may start with "Option Strict On" to opt in. Option Explicit On, Option Infer On.
    private static readonly VisualBasicCompilationOptions s_options = new VisualBasicCompilationOptions(
            OutputKind.DynamicallyLinkedLibrary,
            globalImports: DefaultImports.Select(GlobalImport.Parse),
            optionStrict: OptionStrict.Off,
            optionInfer: true,
            optionExplicit: true,
            optionCompareText: false,
            embedVbCoreRuntime: false,
            optimizationLevel: OptimizationLevel.Release,
            concurrentBuild: false,
            deterministic: true)
        .WithSpecificDiagnosticOptions(new Dictionary<string, ReportDiagnostic>
        {
            ["BC42356"] = ReportDiagnostic.Suppress, // async function lacks Await
            ["BC42105"] = ReportDiagnostic.Suppress, // function doesn't return a value on all code paths
            ["BC42353"] = ReportDiagnostic.Suppress, // same, for Task(Of T)
        })
        .WithMetadataReferenceResolver(null)
        .WithSourceReferenceResolver(null);

    private static readonly EmitOptions s_emit = new(debugInformationFormat: DebugInformationFormat.PortablePdb);

    public static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
        { "TaskProgress", "TaskId", "TaskCancellationToken", "ct", "__KrArgs", "__krG" };

    public static CompileOutput Compile(string code, ArgSignature sig, string assemblyName)
    {
        var diags = new List<ScriptDiagnostic>();
        var lines = SplitLines(code);

        // Hoist leading Option / Imports statements (blank lines and comments may sit between them).
        var hoisted = new List<(int userLine, string text)>();
        for (int i = 0; i < lines.Count; i++)
        {
            var t = lines[i].Trim();
            if (t.Length == 0 || t.StartsWith('\'') || t.StartsWith("REM ", StringComparison.OrdinalIgnoreCase)) continue;
            if (StartsWithWord(t, "Imports") || StartsWithWord(t, "Option"))
            {
                hoisted.Add((i + 1, lines[i]));
                lines[i] = "";
                continue;
            }
            break;
        }

        var sb = new StringBuilder(code.Length + 1024);
        int genLine = 0;
        var headerMap = new Dictionary<int, int>();
        // Option statements must precede Imports.
        foreach (var h in hoisted.OrderBy(h => StartsWithWord(h.text.Trim(), "Option") ? 0 : 1))
        {
            headerMap[genLine] = h.userLine;
            sb.Append(h.text.TrimEnd()).Append('\n'); genLine++;
        }
        int preludeStart = sb.Length;
        sb.Append("Public Module ").Append(ModuleName).Append('\n');
        sb.Append("Public Async Function Run(__krG As Global.Kr.Roslyn.ScriptGlobals) As Global.System.Threading.Tasks.Task(Of Object)\n");
        sb.Append("Dim TaskProgress As Global.Kr.Roslyn.ScriptTaskProgress = __krG.TaskProgress\n");
        sb.Append("Dim TaskId As Global.System.String = __krG.TaskId\n");
        sb.Append("Dim TaskCancellationToken As Global.System.Threading.CancellationToken = __krG.TaskCancellationToken\n");
        sb.Append("Dim ct As Global.System.Threading.CancellationToken = __krG.TaskCancellationToken\n");
        for (int i = 0; i < sig.Slots.Length; i++)
        {
            var slot = sig.Slots[i];
            if (Reserved.Contains(slot.Name))
            {
                diags.Add(new ScriptDiagnostic(Id: "KR0001", Severity: "error", Line: 1, Column: 1,
                    Message: $"Argument name '{slot.Name}' is reserved (TaskProgress, TaskId, TaskCancellationToken, ct; VB names are case-insensitive)."));
                continue;
            }
            if (!VB.SyntaxFacts.IsValidIdentifier(slot.Name))
            {
                diags.Add(new ScriptDiagnostic(Id: "KR0002", Severity: "warning", Line: 1, Column: 1,
                    Message: $"Argument '{slot.Name}' is not a valid VB identifier; no variable is declared for it."));
                continue;
            }
            var type = ArgSignature.VbType(slot.Kind);
            sb.Append("Dim [").Append(slot.Name).Append("] As ").Append(type).Append(" = CType(__krG.__KrArgs(").Append(i).Append("), ").Append(type).Append(")\n");
        }
        int preludeEnd = sb.Length;
        sb.Append("#ExternalSource(\"").Append(FileName).Append("\", 1)\n");
        int bodyStart = sb.Length;
        foreach (var l in lines) sb.Append(l).Append('\n');
        int bodyEnd = sb.Length;
        sb.Append("#End ExternalSource\n");
        sb.Append("End Function\nEnd Module\n");

        if (diags.Any(d => d.Severity == "error")) return new CompileOutput { Success = false, Diagnostics = diags };

        var tree = VisualBasicSyntaxTree.ParseText(SourceText.From(sb.ToString(), Encoding.UTF8), s_parse, path: FileName);
        var compilation = VisualBasicCompilation.Create(assemblyName, [tree], References.All, s_options);
        using var pe = new MemoryStream();
        using var pdb = new MemoryStream();
        var result = compilation.Emit(pe, pdb, options: s_emit);
        // Diagnostics after the body (End Function / End Module mismatches) are reported at the last user line.
        var mapped = DiagnosticMapper.Map(result.Diagnostics, tree, TextSpan.FromBounds(preludeStart, preludeEnd), bodyStart, headerMap, headIsVerbatim: false);
        foreach (var m in mapped)
            if (m.Line > lines.Count + 1) { diags.Add(new ScriptDiagnostic(Id: m.Id, Severity: m.Severity, Message: m.Message, Line: Math.Max(1, lines.Count), Column: 1)); }
            else diags.Add(m);
        if (!result.Success) return new CompileOutput { Success = false, Diagnostics = diags };
        return new CompileOutput
        {
            Success = true, Diagnostics = diags, Pe = pe.ToArray(), Pdb = pdb.ToArray(),
            EntryType = ModuleName, EntryMethod = "Run", Shape = EntryShape.GlobalsFunction,
        };
    }

    private static bool StartsWithWord(string t, string word) =>
        t.StartsWith(word, StringComparison.OrdinalIgnoreCase) && t.Length > word.Length && char.IsWhiteSpace(t[word.Length]);

    private static List<string> SplitLines(string code)
    {
        var list = new List<string>();
        int start = 0;
        for (int i = 0; i < code.Length; i++)
        {
            if (code[i] == '\r' || code[i] == '\n')
            {
                list.Add(code[start..i]);
                if (code[i] == '\r' && i + 1 < code.Length && code[i + 1] == '\n') i++;
                start = i + 1;
            }
        }
        if (start < code.Length) list.Add(code[start..]);
        return list;
    }
}

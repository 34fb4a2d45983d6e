using System.Reflection;
using System.Runtime.Loader;

namespace Kr.Roslyn;

/// <summary>
/// Collectible load context for one compiled script. Every dependency resolves from the context that
/// loaded Kr.Roslyn (normally the default one), so the globals type and framework types are shared.
/// </summary>
internal sealed class ScriptLoadContext : AssemblyLoadContext
{
    private static readonly AssemblyLoadContext s_parent =
        AssemblyLoadContext.GetLoadContext(typeof(ScriptGlobals).Assembly) ?? AssemblyLoadContext.Default;

    public ScriptLoadContext(string name) : base(name, isCollectible: true) { }

    protected override Assembly? Load(AssemblyName assemblyName) =>
        ReferenceEquals(s_parent, Default) ? null : s_parent.LoadFromAssemblyName(assemblyName);
}

/// <summary>A compiled, loaded script: one collectible ALC, one entry delegate.</summary>
internal sealed class CompiledScript
{
    public required string Key { get; init; }
    public required string Language { get; init; }
    public required IReadOnlyList<ScriptDiagnostic> Warnings { get; init; }
    public ScriptLoadContext? Alc { get; set; }
    public Assembly? Assembly { get; set; }
    public Func<ScriptGlobals, Task<object?>>? Invoke { get; set; }
    public double CompileMs { get; init; }

    // Guarded by the engine's cache lock.
    public int ActiveRuns;
    public int Handles;
    public bool Evicted;
    public LinkedListNode<CompiledScript>? Node;

    public static CompiledScript Load(string key, string language, CompileOutput output, double compileMs)
    {
        var alc = new ScriptLoadContext("kr-" + language + "-" + key[..12]);
        using var pe = new MemoryStream(output.Pe!, writable: false);
        using var pdb = new MemoryStream(output.Pdb!, writable: false);
        var asm = alc.LoadFromStream(pe, pdb);
        var type = asm.GetType(output.EntryType, throwOnError: true)!;
        var method = type.GetMethod(output.EntryMethod, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
                     ?? throw new InvalidOperationException($"Entry {output.EntryType}.{output.EntryMethod} not found.");
        Func<ScriptGlobals, Task<object?>> invoke;
        if (output.Shape == EntryShape.ScriptFactory)
        {
            // Script submission factory: Task<object> <Factory>(object[] submissionArray);
            // slot 0 holds the globals, slot 1 receives the submission instance.
            var factory = method.CreateDelegate<Func<object?[], Task<object?>>>();
            invoke = g => factory([g, null]);
        }
        else
        {
            invoke = method.CreateDelegate<Func<ScriptGlobals, Task<object?>>>();
        }
        return new CompiledScript
        {
            Key = key, Language = language, Warnings = output.Diagnostics.Where(d => d.Severity == "warning").ToArray(),
            Alc = alc, Assembly = asm, Invoke = invoke, CompileMs = compileMs,
        };
    }
}

internal sealed record HandleInfo(string Language, string Code, ArgSignature Signature, string Key, System.Text.Json.Nodes.JsonObject? Args);

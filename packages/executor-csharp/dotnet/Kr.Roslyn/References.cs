using System.Collections.Immutable;
using System.Reflection.Metadata;
using Microsoft.CodeAnalysis;

namespace Kr.Roslyn;

/// <summary>
/// The metadata references every script compiles against, created ONCE per process
/// (creating them per compile leaks native memory, see notes §2.5). The set is every managed assembly
/// of the shared framework (Microsoft.NETCore.App) plus Kr.Roslyn (for the globals type).
/// AssemblyMetadata.CreateFromFile memory-maps the files lazily instead of copying whole images.
/// </summary>
public static class References
{
    private static readonly Lazy<ImmutableArray<MetadataReference>> s_all = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    public static ImmutableArray<MetadataReference> All => s_all.Value;

    private static ImmutableArray<MetadataReference> Build()
    {
        var list = ImmutableArray.CreateBuilder<MetadataReference>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var frameworkDir = Path.GetDirectoryName(typeof(object).Assembly.Location);
        if (string.IsNullOrEmpty(frameworkDir))
            throw new InvalidOperationException("Kr.Roslyn needs a framework-dependent (not single-file) deployment: typeof(object).Assembly.Location is empty.");

        var tpa = (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string)?.Split(Path.PathSeparator) ?? [];
        var candidates = tpa.Where(p => string.Equals(Path.GetDirectoryName(p), frameworkDir, StringComparison.Ordinal))
            .Concat(Directory.EnumerateFiles(frameworkDir, "*.dll"));
        foreach (var path in candidates)
        {
            var name = Path.GetFileNameWithoutExtension(path);
            if (!seen.Add(name)) continue;
            if (!IsManaged(path)) continue;
            list.Add(AssemblyMetadata.CreateFromFile(path).GetReference(filePath: path));
        }
        var self = typeof(ScriptGlobals).Assembly.Location;
        if (string.IsNullOrEmpty(self))
            throw new InvalidOperationException("Kr.Roslyn must be loaded from a file (the globals type must have metadata on disk).");
        list.Add(AssemblyMetadata.CreateFromFile(self).GetReference(filePath: self));
        return list.ToImmutable();
    }

    private static bool IsManaged(string path)
    {
        try
        {
            using var fs = File.OpenRead(path);
            using var pe = new System.Reflection.PortableExecutable.PEReader(fs);
            return pe.HasMetadata && pe.GetMetadataReader().IsAssembly;
        }
        catch { return false; }
    }
}

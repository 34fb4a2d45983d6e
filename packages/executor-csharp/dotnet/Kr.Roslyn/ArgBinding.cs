using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Kr.Roslyn;

/// <summary>The CLR type a JSON argument is declared with.</summary>
public enum ArgKind { Int, Long, Double, String, Bool, Null, Json }

public readonly record struct ArgSlot(string Name, ArgKind Kind);

/// <summary>
/// Argument names and types, in ordinal name order. Part of the cache key: the same code with an
/// argument of another type compiles to different code.
/// </summary>
public sealed class ArgSignature : IEquatable<ArgSignature>
{
    public static readonly ArgSignature Empty = new([]);

    public ArgSignature(ArgSlot[] slots)
    {
        Slots = slots;
        var sb = new StringBuilder();
        foreach (var s in slots) sb.Append(s.Name).Append(':').Append(s.Kind).Append(';');
        Text = sb.ToString();
    }

    public ArgSlot[] Slots { get; }
    public string Text { get; }

    public static ArgSignature From(JsonObject? args)
    {
        if (args is null || args.Count == 0) return Empty;
        var slots = new ArgSlot[args.Count];
        int i = 0;
        foreach (var (name, node) in args) slots[i++] = new ArgSlot(name, KindOf(node));
        Array.Sort(slots, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return new ArgSignature(slots);
    }

    /// <summary>JSON integer -> int (long when out of range), other number -> double, string, bool,
    /// null -> object, array/object -> JsonNode.</summary>
    public static ArgKind KindOf(JsonNode? node)
    {
        if (node is null) return ArgKind.Null;
        switch (node.GetValueKind())
        {
            case JsonValueKind.String: return ArgKind.String;
            case JsonValueKind.True:
            case JsonValueKind.False: return ArgKind.Bool;
            case JsonValueKind.Null:
            case JsonValueKind.Undefined: return ArgKind.Null;
            case JsonValueKind.Number:
                var text = node.ToJsonString();
                if (IsIntegerLiteral(text))
                {
                    if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)) return ArgKind.Int;
                    if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)) return ArgKind.Long;
                }
                return ArgKind.Double;
            default: return ArgKind.Json;
        }
    }

    private static bool IsIntegerLiteral(string s)
    {
        int i = s.Length > 0 && s[0] == '-' ? 1 : 0;
        if (i == s.Length) return false;
        for (; i < s.Length; i++) if (s[i] < '0' || s[i] > '9') return false;
        return true;
    }

    /// <summary>Converts the run's JSON values to CLR values in slot order. Arrays and objects are deep
    /// clones, so a script mutating its argument does not change the caller's copy.</summary>
    public object?[] Bind(JsonObject? args)
    {
        if (Slots.Length == 0) return [];
        var values = new object?[Slots.Length];
        for (int i = 0; i < Slots.Length; i++)
        {
            JsonNode? node = null;
            args?.TryGetPropertyValue(Slots[i].Name, out node);
            // Arms cast to object: JsonNode converts implicitly from int/string/..., and would win as natural type.
            values[i] = Slots[i].Kind switch
            {
                ArgKind.Int => (object?)int.Parse(node!.ToJsonString(), CultureInfo.InvariantCulture),
                ArgKind.Long => (object?)long.Parse(node!.ToJsonString(), CultureInfo.InvariantCulture),
                ArgKind.Double => (object?)double.Parse(node!.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture),
                ArgKind.String => (object?)StringOf(node!),
                ArgKind.Bool => (object?)(node!.GetValueKind() == JsonValueKind.True),
                ArgKind.Null => null,
                ArgKind.Json => (object?)node?.DeepClone(),
                _ => null,
            };
        }
        return values;
    }

    private static string StringOf(JsonNode node) =>
        node is JsonValue v && v.TryGetValue<string>(out var s) ? s
            // A JsonValue built from another CLR type (DateTime, Guid, ...) that serialises as a string.
            : JsonDocument.Parse(node.ToJsonString()).RootElement.GetString() ?? "";

    public bool Equals(ArgSignature? other) => other is not null && other.Text == Text;
    public override bool Equals(object? obj) => Equals(obj as ArgSignature);
    public override int GetHashCode() => Text.GetHashCode(StringComparison.Ordinal);
    public override string ToString() => Text;

    public static string CSharpType(ArgKind k) => k switch
    {
        ArgKind.Int => "global::System.Int32",
        ArgKind.Long => "global::System.Int64",
        ArgKind.Double => "global::System.Double",
        ArgKind.String => "global::System.String",
        ArgKind.Bool => "global::System.Boolean",
        ArgKind.Null => "global::System.Object",
        _ => "global::System.Text.Json.Nodes.JsonNode",
    };

    public static string VbType(ArgKind k) => k switch
    {
        ArgKind.Int => "Global.System.Int32",
        ArgKind.Long => "Global.System.Int64",
        ArgKind.Double => "Global.System.Double",
        ArgKind.String => "Global.System.String",
        ArgKind.Bool => "Global.System.Boolean",
        ArgKind.Null => "Global.System.Object",
        _ => "Global.System.Text.Json.Nodes.JsonNode",
    };
}

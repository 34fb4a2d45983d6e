using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;

namespace Kr.Pwsh.Host;

/// <summary>
/// PowerShell output -> JSON, never throwing:
/// - PSCustomObject and hashtables keep their properties; other .NET objects give their public
///   readable properties (ETS note properties included);
/// - DateTime / DateTimeOffset are ISO 8601 (round-trip "o"); enums are their names; TimeSpan is "c";
/// - deeper than <see cref="DefaultDepth"/> levels, a value becomes its ToString() (as ConvertTo-Json does);
/// - a cycle, a throwing getter or anything else unserialisable becomes a "[...]" string;
/// - collections keep at most <see cref="MaxItems"/> items.
/// </summary>
public static class ResultSerializer
{
    public const int DefaultDepth = 8;
    public const int MaxItems = 10_000;

    /// <summary>PowerShell's unrolling: nothing -> null, one object -> it, several -> an array.</summary>
    public static JsonNode? FromPipeline(IList<PSObject?> output, int depth)
    {
        if (output.Count == 0) return null;
        if (output.Count == 1) return ToJson(output[0], depth);
        var array = new JsonArray();
        foreach (var item in output.Take(MaxItems)) array.Add(ToJson(item, depth));
        if (output.Count > MaxItems) array.Add($"[{output.Count - MaxItems} more items]");
        return array;
    }

    public static JsonNode? ToJson(object? value, int depth) => Convert(value, depth, new HashSet<object>(ReferenceEqualityComparer.Instance));

    private static JsonNode? Convert(object? value, int depth, HashSet<object> path)
    {
        try
        {
            return ConvertCore(value, depth, path);
        }
        catch (Exception ex)
        {
            return JsonValue.Create($"[Unserializable {value?.GetType().FullName}: {ex.Message}]");
        }
    }

    private static JsonNode? ConvertCore(object? value, int depth, HashSet<object> path)
    {
        PSObject? ps = value as PSObject;
        object? obj = ps is null ? value : ps.BaseObject;
        if (obj is null || obj is DBNull || obj == System.Management.Automation.Internal.AutomationNull.Value) return null;

        switch (obj)
        {
            case string s: return JsonValue.Create(s);
            case char c: return JsonValue.Create(c.ToString());
            case bool b: return JsonValue.Create(b);
            case int or long or short or byte or sbyte or uint or ushort or ulong or decimal:
                return JsonValue.Create(System.Convert.ToDecimal(obj, CultureInfo.InvariantCulture));
            case double d: return double.IsFinite(d) ? JsonValue.Create(d) : JsonValue.Create(d.ToString(CultureInfo.InvariantCulture));
            case float f: return float.IsFinite(f) ? JsonValue.Create((double)f) : JsonValue.Create(f.ToString(CultureInfo.InvariantCulture));
            case System.Numerics.BigInteger big: return JsonValue.Create(big.ToString(CultureInfo.InvariantCulture));
            case DateTime dt: return JsonValue.Create(dt.ToString("o", CultureInfo.InvariantCulture));
            case DateTimeOffset dto: return JsonValue.Create(dto.ToString("o", CultureInfo.InvariantCulture));
            case TimeSpan ts: return JsonValue.Create(ts.ToString("c", CultureInfo.InvariantCulture));
            case Enum e: return JsonValue.Create(e.ToString());
            case Guid or Uri or Version or Type or ScriptBlock or System.Text.RegularExpressions.Regex or IntPtr or UIntPtr or Delegate or MemberInfo or System.Net.IPAddress:
                return JsonValue.Create(obj.ToString());
        }

        if (depth <= 0) return JsonValue.Create(SafeToString(obj));
        // Every PSCustomObject shares one base instance: its identity is the PSObject wrapper.
        object identity = obj is PSCustomObject && ps is not null ? ps : obj;
        if (!obj.GetType().IsValueType && !path.Add(identity)) return JsonValue.Create($"[Circular reference: {obj.GetType().FullName}]");
        try
        {
            switch (obj)
            {
                case PSCustomObject when ps is not null:
                    return Properties(ps, depth, path, includeAdapted: false);
                case ErrorRecord er:
                    return new JsonObject
                    {
                        ["message"] = er.ToString(),
                        ["errorId"] = er.FullyQualifiedErrorId,
                        ["category"] = er.CategoryInfo.Category.ToString(),
                    };
                case Exception ex:
                    return new JsonObject { ["type"] = ex.GetType().FullName, ["message"] = ex.Message };
                case IDictionary dict:
                {
                    var o = new JsonObject();
                    var count = 0;
                    foreach (DictionaryEntry entry in dict)
                    {
                        if (count++ >= MaxItems) break;
                        var key = SafeToString(entry.Key);
                        o[key] = Convert(entry.Value, depth - 1, path);
                    }
                    return o;
                }
                case IEnumerable enumerable:
                {
                    var array = new JsonArray();
                    var count = 0;
                    foreach (var item in enumerable)
                    {
                        if (count++ >= MaxItems) { array.Add("[more items]"); break; }
                        array.Add(Convert(item, depth - 1, path));
                    }
                    return array;
                }
                default:
                    return Properties(ps ?? PSObject.AsPSObject(obj), depth, path, includeAdapted: true);
            }
        }
        finally
        {
            if (!obj.GetType().IsValueType) path.Remove(identity);
        }
    }

    private static JsonObject Properties(PSObject ps, int depth, HashSet<object> path, bool includeAdapted)
    {
        var o = new JsonObject();
        var members = includeAdapted ? ps.Properties : (IEnumerable<PSPropertyInfo>)ps.Properties.Where(p => p is PSNoteProperty or PSScriptProperty or PSAliasProperty or PSCodeProperty or PSProperty);
        foreach (var property in members)
        {
            if (!property.IsGettable) continue;
            JsonNode? node;
            try
            {
                node = Convert(property.Value, depth - 1, path);
            }
            catch (Exception ex)
            {
                node = JsonValue.Create($"[Unreadable property: {(ex.InnerException ?? ex).Message}]");
            }
            o[property.Name] = node;
        }
        return o;
    }

    private static string SafeToString(object? value)
    {
        try { return value?.ToString() ?? ""; }
        catch (Exception ex) { return $"[Unserializable {value?.GetType().FullName}: {ex.Message}]"; }
    }
}

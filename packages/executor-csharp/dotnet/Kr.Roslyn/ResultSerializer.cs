using System.Collections;
using System.Globalization;
using System.Numerics;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Kr.Roslyn;

/// <summary>
/// Turns a script's result into a detached <see cref="JsonNode"/> tree BEFORE the run returns, so no
/// script-defined type or instance outlives the run and pins its collectible AssemblyLoadContext.
///
/// Rules (System.Text.Json shapes, written by hand: the reflection-based JsonSerializer caches
/// per-type metadata in its options and in static accessor caches, which would pin script types):
/// null -> null; string/char -> string; bool; integers, decimal -> number; float/double -> number, or
/// null when NaN/Infinity; DateTime/DateTimeOffset -> ISO 8601 ("o"); DateOnly/TimeOnly -> ISO;
/// TimeSpan -> "c" format; Guid/Uri/Version/BigInteger -> string; enums -> name; byte[] -> base64;
/// JsonNode/JsonElement/JsonDocument -> copy; IDictionary / IEnumerable&lt;KeyValuePair&lt;string,_&gt;&gt; ->
/// object (keys via ToString); other IEnumerable -> array; Task/Delegate/pointers -> null;
/// Exception -> {type, message}; other objects -> public instance properties and fields, declared names.
/// Cycles: a reference already on the current path becomes null (ReferenceHandler.IgnoreCycles).
/// Depth beyond MaxDepth or more than MaxNodes values -> the run fails (like JsonSerializer's MaxDepth).
/// </summary>
public sealed class ResultSerializer
{
    public ResultSerializer(int maxDepth = 64, int maxNodes = 100_000)
    {
        MaxDepth = maxDepth;
        MaxNodes = maxNodes;
    }

    public int MaxDepth { get; }
    public int MaxNodes { get; }

    public JsonNode? Serialize(object? value)
    {
        var state = new State(this);
        return state.Convert(value, 0);
    }

    private sealed class State(ResultSerializer owner)
    {
        private readonly HashSet<object> _path = new(ReferenceEqualityComparer.Instance);
        private int _nodes;

        public JsonNode? Convert(object? value, int depth)
        {
            if (++_nodes > owner.MaxNodes)
                throw new JsonException($"The result has more than {owner.MaxNodes} values; return a smaller result.");
            if (depth > owner.MaxDepth)
                throw new JsonException($"The result is nested deeper than the maximum depth of {owner.MaxDepth}.");

            switch (value)
            {
                case null: return null;
                case string s: return JsonValue.Create(s);
                case bool b: return JsonValue.Create(b);
                case int i: return JsonValue.Create(i);
                case long l: return JsonValue.Create(l);
                case double d: return double.IsFinite(d) ? JsonValue.Create(d) : null;
                case float f: return float.IsFinite(f) ? JsonValue.Create(f) : null;
                case decimal m: return JsonValue.Create(m);
                case short sh: return JsonValue.Create(sh);
                case byte by: return JsonValue.Create(by);
                case sbyte sb: return JsonValue.Create(sb);
                case ushort us: return JsonValue.Create(us);
                case uint ui: return JsonValue.Create(ui);
                case ulong ul: return JsonValue.Create(ul);
                case char c: return JsonValue.Create(c.ToString());
                case Enum e: return JsonValue.Create(e.ToString());
                case DateTime dt: return JsonValue.Create(dt.ToString("o", CultureInfo.InvariantCulture));
                case DateTimeOffset dto: return JsonValue.Create(dto.ToString("o", CultureInfo.InvariantCulture));
                case DateOnly don: return JsonValue.Create(don.ToString("o", CultureInfo.InvariantCulture));
                case TimeOnly ton: return JsonValue.Create(ton.ToString("o", CultureInfo.InvariantCulture));
                case TimeSpan ts: return JsonValue.Create(ts.ToString("c", CultureInfo.InvariantCulture));
                case Guid g: return JsonValue.Create(g.ToString());
                case Uri u: return JsonValue.Create(u.ToString());
                case Version v: return JsonValue.Create(v.ToString());
                case BigInteger bi: return JsonValue.Create(bi.ToString(CultureInfo.InvariantCulture));
                case byte[] bytes: return JsonValue.Create(System.Convert.ToBase64String(bytes));
                case JsonNode node: return node.DeepClone();
                case JsonElement el: return JsonNode.Parse(el.GetRawText());
                case JsonDocument doc: return JsonNode.Parse(doc.RootElement.GetRawText());
                case Task or Delegate or Pointer or IntPtr or UIntPtr or Type or MemberInfo or Assembly or Module:
                    return value is Type t ? JsonValue.Create(t.FullName) : null;
                case Exception ex:
                    return new JsonObject { ["type"] = ex.GetType().FullName, ["message"] = ex.Message };
            }

            var type = value.GetType();
            if (type.IsPrimitive) return JsonValue.Create(System.Convert.ToString(value, CultureInfo.InvariantCulture));

            bool track = !type.IsValueType;
            if (track && !_path.Add(value)) return null; // cycle
            try
            {
                if (value is IDictionary dict)
                {
                    var obj = new JsonObject();
                    foreach (DictionaryEntry de in dict)
                        obj[KeyOf(de.Key)] = Convert(de.Value, depth + 1);
                    return obj;
                }
                if (value is IEnumerable<KeyValuePair<string, object?>> kvs)
                {
                    var obj = new JsonObject();
                    foreach (var kv in kvs) obj[kv.Key] = Convert(kv.Value, depth + 1);
                    return obj;
                }
                if (value is IEnumerable seq)
                {
                    var arr = new JsonArray();
                    foreach (var item in seq) arr.Add(Convert(item, depth + 1));
                    return arr;
                }
                return ConvertObject(value, type, depth);
            }
            finally
            {
                if (track) _path.Remove(value);
            }
        }

        private JsonObject ConvertObject(object value, Type type, int depth)
        {
            var obj = new JsonObject();
            foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (!p.CanRead || p.GetIndexParameters().Length != 0 || p.GetMethod is null || !p.GetMethod.IsPublic) continue;
                if (p.PropertyType.IsByRef || p.PropertyType.IsPointer || p.PropertyType.IsByRefLike) continue;
                object? v;
                try { v = p.GetValue(value); }
                catch { continue; } // a throwing getter is left out
                obj[p.Name] = Convert(v, depth + 1);
            }
            foreach (var f in type.GetFields(BindingFlags.Public | BindingFlags.Instance))
            {
                if (f.FieldType.IsPointer || f.FieldType.IsByRefLike) continue;
                obj[f.Name] = Convert(f.GetValue(value), depth + 1);
            }
            return obj;
        }

        private static string KeyOf(object key) => key switch
        {
            string s => s,
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => key.ToString() ?? "",
        };
    }
}

global using Kr.Host;
using System.Text.Json.Nodes;

/// <summary>Builds the Kr.Host request records with the harness's defaults (no args, no code fallback).</summary>
static class Req
{
    public static PrepareRequest Prep(string Language, string Code, JsonObject? Args = null) =>
        new(Language, Code, Args ?? new JsonObject());

    /// <summary>Empty <paramref name="Args"/> on a known handle runs with the arguments given to Prepare.</summary>
    public static RunRequest Run(string TaskId, string? Handle = null, string Language = "", string Code = "", JsonObject? Args = null) =>
        new(TaskId, Language, Handle, Code, Args ?? new JsonObject());
}

using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Sdpm.Engine.Contracts.Sampling;

namespace Sdpm.Engine.Contracts.Progress;

/// <summary>The wire form of <see cref="EngineProgress"/>: one JSON object per line, snake_case names, kinds and modes
/// as lower-case strings, absent fields left out, non-finite numbers as "NaN" / "Infinity".</summary>
/// <remarks>A child process (<c>sdpm train --progress jsonl</c>, a worker) writes <see cref="Serialize"/>d lines to its
/// stdout; the parent reads them back with <see cref="TryParse"/>, which passes over lines that are not events (a native
/// library may print to the same stream).</remarks>
public static class EngineProgressJson
{
    /// <summary>The serializer options of the wire form.</summary>
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
        RespectRequiredConstructorParameters = true,
        RespectNullableAnnotations = true,
    };

    /// <summary>One line of JSON, without the line break.</summary>
    public static string Serialize(EngineProgress e) => JsonSerializer.Serialize(e, Options);

    /// <summary>Reads one event.</summary>
    /// <exception cref="FormatException">The line is not an engine progress event.</exception>
    public static EngineProgress Parse(string line)
    {
        try
        {
            return JsonSerializer.Deserialize<EngineProgress>(line, Options) ?? throw new FormatException("not an engine progress event: null.");
        }
        catch (JsonException e)
        {
            throw new FormatException($"not an engine progress event: {e.Message}", e);
        }
    }

    /// <summary>Reads one event; false (and null) for a line that is not one, such as a native library's message.</summary>
    public static bool TryParse(string? line, out EngineProgress? progress)
    {
        progress = null;
        if (string.IsNullOrWhiteSpace(line) || line.TrimStart()[0] != '{') return false;
        try
        {
            progress = JsonSerializer.Deserialize<EngineProgress>(line, Options);
            return progress is not null;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The short text line of an event (<c>--progress text</c>, a job's log).</summary>
    public static string Text(EngineProgress e) => e.Kind switch
    {
        ProgressKind.Step => string.Create(CultureInfo.InvariantCulture,
            $"step {e.Step}/{e.TotalSteps}  {string.Join("  ", (e.Terms ?? new Dictionary<string, double>()).Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:0.0000}")))}  lr {e.LearningRate:0.00e0}  {e.SamplesPerSecond:0.0} samples/s  eta {e.EtaSeconds:0}s  [{e.Device}]"),
        ProgressKind.Case => string.Create(CultureInfo.InvariantCulture, $"case {e.Step}/{e.TotalSteps} {e.CaseId}  eta {e.EtaSeconds:0}s  [{e.Device}]"),
        ProgressKind.Mode => $"  {e.CaseId} {(e.Mode is { } m ? SamplingModes.Name(m) : "")}: {e.Message}",
        _ => $"{Name(e.Kind)}: {e.Message} [{e.Device}]".Replace(" []", "", StringComparison.Ordinal),
    };

    /// <summary>The wire name of a kind ("start", "step", ...).</summary>
    public static string Name(ProgressKind kind) => JsonNamingPolicy.SnakeCaseLower.ConvertName(kind.ToString());
}

using System.Text.Json;
using System.Text.Json.Serialization;
using Sdpm.Engine.Training;

namespace Sdpm.Cli.Commands;

/// <summary>Writes engine progress events: one JSON object per line (--progress jsonl), short text lines, or nothing.</summary>
internal sealed class EngineOutput(TextWriter writer, string format) : IProgress<EngineProgress>
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Parses --progress (jsonl | text | none; default text).</summary>
    public static string Format(ArgReader a) => a.Option("--progress") switch
    {
        null or "text" => "text",
        "jsonl" => "jsonl",
        "none" => "none",
        var other => throw new UsageException($"--progress must be jsonl, text or none, got '{other}'."),
    };

    public void Report(EngineProgress e)
    {
        lock (writer)
        {
            if (format == "jsonl") writer.WriteLine(JsonSerializer.Serialize(e, Json));
            else if (format == "text") writer.WriteLine(Text(e));
            writer.Flush();
        }
    }

    private static string Text(EngineProgress e) => e.Kind switch
    {
        "step" => FormattableString.Invariant(
            $"step {e.Step}/{e.TotalSteps}  {string.Join("  ", (e.Terms ?? new Dictionary<string, double>()).Select(kv => $"{kv.Key} {kv.Value:0.0000}"))}  lr {e.LearningRate:0.00e0}  {e.SamplesPerSecond:0.0} samples/s  eta {e.EtaSeconds:0}s  [{e.Device}]"),
        "case" => FormattableString.Invariant($"case {e.Step}/{e.TotalSteps} {e.CaseId}  eta {e.EtaSeconds:0}s  [{e.Device}]"),
        "mode" => $"  {e.CaseId} {e.Mode}: {e.Message}",
        _ => $"{e.Kind}: {e.Message} [{e.Device}]".Replace(" []", "", StringComparison.Ordinal),
    };
}

/// <summary>Shared option parsing for the engine verbs.</summary>
internal static class EngineArgs
{
    public static double? Double(ArgReader a, string name, double min, double max)
    {
        var s = a.Option(name);
        if (s is null) return null;
        if (!double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v) || v < min || v > max)
            throw new UsageException($"{name} must be a number from {min} to {max}, got '{s}'.");
        return v;
    }

    public static string Device(ArgReader a)
    {
        var d = a.Option("--device") ?? "auto";
        if (d is not ("auto" or "cpu" or "cuda") && !System.Text.RegularExpressions.Regex.IsMatch(d, "^cuda:[0-9]+$"))
            throw new UsageException($"--device must be auto, cpu, cuda or cuda:N, got '{d}'.");
        return d;
    }

    public static string Preset(ArgReader a, string fallback)
    {
        var p = a.Option("--preset") ?? fallback;
        if (!Sdpm.Engine.Network.NetworkConfig.PresetNames.Contains(p)) throw new UsageException($"--preset must be tiny, small or paper, got '{p}'.");
        return p;
    }

    /// <summary>Sets libtorch's intra-op threads when --threads is given.</summary>
    public static void Threads(ArgReader a)
    {
        if (a.Int("--threads", 1, 1024) is { } n)
        {
            Sdpm.Engine.Torch.TorchRuntime.EnsureInitialized();
            TorchSharp.torch.set_num_threads(n);
        }
    }

    /// <summary>A token cancelled by the caller's token or by Ctrl+C (so a run stops cleanly and checkpoints).</summary>
    public static CancellationTokenSource CancelOnCtrlC(CancellationToken outer)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(outer);
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            try { cts.Cancel(); } catch (ObjectDisposedException) { }
        };
        return cts;
    }
}

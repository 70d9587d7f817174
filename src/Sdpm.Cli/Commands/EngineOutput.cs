using System.Text.Json;
using Sdpm.Engine.Contracts;
using Sdpm.Engine.Contracts.Progress;
using Sdpm.Engine.Contracts.Training;

namespace Sdpm.Cli.Commands;

/// <summary>Writes engine progress events: one JSON object per line (--progress jsonl), short text lines, or nothing.</summary>
internal sealed class EngineOutput(TextWriter writer, string format) : IProgress<EngineProgress>
{
    /// <summary>The options of every JSON the engine verbs print (bench, protocol comparison).</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
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
            if (format == "jsonl") writer.WriteLine(EngineProgressJson.Serialize(e));
            else if (format == "text") writer.WriteLine(EngineProgressJson.Text(e));
            writer.Flush();
        }
    }
}

/// <summary>Shared option parsing for the engine verbs.</summary>
internal static class EngineArgs
{
    /// <summary>The engine settings of a command line: --NAME VALUE (and --NAME for flags), errors as usage errors.</summary>
    public static SettingReader Settings(ArgReader a) =>
        new(name => a.Option("--" + name), name => a.Flag("--" + name), "--", message => new UsageException(message));

    public static string Device(ArgReader a) => Settings(a).Device() ?? "auto";

    public static string Preset(ArgReader a, string fallback) => Settings(a).Choice("preset", NetworkConfig.PresetNames) ?? fallback;

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

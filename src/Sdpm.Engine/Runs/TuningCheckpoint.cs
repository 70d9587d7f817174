using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Sdpm.Engine.Contracts.Metrics;
using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Engine.Contracts.Tuning;

namespace Sdpm.Engine.Runs;

/// <summary>One validation case's scores under every configuration of a tuning, in the tuning's configuration order.</summary>
internal sealed record TunedCase(string CaseId, bool LesionFree, IReadOnlyList<CaseMetrics> Metrics);

/// <summary>A JSON-lines file that keeps each validation case's scores as soon as they are computed, so that a killed
/// <c>sdpm tune</c> started again goes on from the first case it had not finished. The first line names the tuning it
/// belongs to (a SHA-256 over the checkpoint's bytes, the data's fingerprint, the validation cases, the device, the batch
/// size, T and every configuration); a file of another tuning is refused, never mixed in. A last line cut short by the
/// kill is dropped (that case is computed again).</summary>
internal sealed class TuningCheckpoint
{
    private const int Format = 1;
    private readonly string _path;
    private readonly Dictionary<string, TunedCase> _done = new(StringComparer.Ordinal);
    private readonly int _configurations;

    public IReadOnlyDictionary<string, TunedCase> Done => _done;

    private TuningCheckpoint(string path, int configurations)
    {
        _path = path;
        _configurations = configurations;
    }

    /// <summary>The identity of a tuning: what must be equal for a kept case's scores to be the ones this run computes.</summary>
    public static string Identity(string checkpointFile, string dataFingerprint, IEnumerable<string> validationCases, string device, int? maxBatch,
        int diffusionSteps, IEnumerable<(SamplingMode Mode, NetworkSetting Network, PostSetting Post)> configurations)
    {
        var text = new StringBuilder();
        using (var file = File.OpenRead(checkpointFile)) text.AppendLine(Convert.ToHexStringLower(SHA256.HashData(file)));
        text.AppendLine(dataFingerprint).AppendLine(string.Join(",", validationCases)).AppendLine(device)
            .AppendLine(maxBatch?.ToString(CultureInfo.InvariantCulture) ?? "-").AppendLine(diffusionSteps.ToString(CultureInfo.InvariantCulture));
        foreach (var (mode, n, p) in configurations)
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{SamplingModes.Name(mode)} {n.Ti} {n.Repeats} {n.InferRepeats} {n.D:R} {n.Nu:R} {n.LabelNoise} {n.Eta:R} {p.Threshold:R} {p.MinComponentVoxels} {p.Removal}"));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>Opens the file: reads the cases a run of the same tuning kept, or starts the file when it is absent or
    /// empty.</summary>
    /// <exception cref="ArgumentException">The file belongs to another tuning, or is not a tuning checkpoint.</exception>
    public static TuningCheckpoint Open(string path, string identity, int configurations, string description)
    {
        var checkpoint = new TuningCheckpoint(path, configurations);
        var lines = File.Exists(path) ? File.ReadAllLines(path) : [];
        if (lines.Length == 0 || lines.All(string.IsNullOrWhiteSpace))
        {
            if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } dir) Directory.CreateDirectory(dir);
            var header = JsonSerializer.Serialize(new { tuning_checkpoint = Format, identity, description });
            File.WriteAllText(path, header + "\n");
            return checkpoint;
        }
        string? kept;
        try
        {
            using var head = JsonDocument.Parse(lines[0]);
            kept = head.RootElement.GetProperty("tuning_checkpoint").GetInt32() == Format ? head.RootElement.GetProperty("identity").GetString() : null;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new ArgumentException($"--checkpoint {path} is not a tuning checkpoint; name another file.");
        }
        if (kept != identity)
            throw new ArgumentException($"--checkpoint {path} was written by another tuning (the model, the data, the validation cases, the device, the batch size or the grid differ); delete it or name another file.");
        var good = new List<string> { lines[0] };
        for (var i = 1; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            if (Parse(lines[i], configurations) is { } c)
            {
                checkpoint._done[c.CaseId] = c;
                good.Add(lines[i]);
            }
            else if (i < lines.Length - 1)
                throw new ArgumentException($"--checkpoint {path}: line {i + 1} is damaged (only the last line can be cut short by a kill); delete the file to tune from the start.");
        }
        if (good.Count != lines.Count(l => !string.IsNullOrWhiteSpace(l))) File.WriteAllText(path, string.Join("\n", good) + "\n"); // the cut-short line goes
        return checkpoint;
    }

    private static TunedCase? Parse(string line, int configurations)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            var id = root.GetProperty("case").GetString()!;
            var metrics = root.GetProperty("metrics").EnumerateArray()
                .Select(m => new CaseMetrics(id, m[0].GetDouble(), m[1].GetDouble(), m[2].GetDouble())).ToList();
            return metrics.Count == configurations ? new TunedCase(id, root.GetProperty("lesion_free").GetBoolean(), metrics) : null;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>Appends a finished case and flushes it to the disk before the next case starts.</summary>
    public void Add(TunedCase c)
    {
        if (c.Metrics.Count != _configurations) throw new InvalidOperationException($"{c.CaseId}: {c.Metrics.Count} scores for {_configurations} configurations.");
        var line = JsonSerializer.Serialize(new
        {
            @case = c.CaseId,
            lesion_free = c.LesionFree,
            metrics = c.Metrics.Select(m => new[] { m.Dice, m.VolumePredMl, m.VolumeRefMl }),
        });
        using (var stream = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read))
        {
            stream.Write(Encoding.UTF8.GetBytes(line + "\n"));
            stream.Flush(flushToDisk: true);
        }
        _done[c.CaseId] = c;
    }
}

using System.Globalization;
using System.Text.Json;
using Sdpm.Data.Entities;

namespace Sdpm.Portal.Features.Jobs;

/// <summary>One line of a chart: a name and its points (x = training step).</summary>
/// <param name="Hidden">Drawn only when picked in the legend (diagnostics on another scale than the losses, like grad_norm).</param>
public sealed record CurveSeries(string Name, IReadOnlyList<int> Steps, IReadOnlyList<double> Values, bool Hidden = false);

/// <summary>How jobs, their curves and their models read on the pages.</summary>
public static class JobDisplay
{
    public static string State(JobState state) => state.ToString().ToLowerInvariant();

    public static string Kind(JobKind kind) => kind switch
    {
        JobKind.Train => "training",
        JobKind.Infer => "inference",
        _ => "evaluation",
    };

    /// <summary>"1 h 02 min", "3 min 05 s", "12 s"; an em dash when the job has not started.</summary>
    public static string Duration(TimeSpan? span)
    {
        if (span is not { } d) return "—";
        if (d < TimeSpan.Zero) d = TimeSpan.Zero;
        return d.TotalHours >= 1 ? $"{(int)d.TotalHours} h {d.Minutes:D2} min"
            : d.TotalMinutes >= 1 ? $"{d.Minutes} min {d.Seconds:D2} s"
            : $"{d.Seconds} s";
    }

    public static string Megabytes(long? bytes) =>
        bytes is { } b ? (b / (1024.0 * 1024.0)).ToString("#,0", CultureInfo.InvariantCulture) + " MB" : "—";

    /// <summary>"820 KB", "4.2 MB", "312 MB".</summary>
    public static string Size(long bytes) => bytes switch
    {
        < 1024 * 1024 => (bytes / 1024.0).ToString("#,0", CultureInfo.InvariantCulture) + " KB",
        < 10 * 1024 * 1024 => (bytes / (1024.0 * 1024.0)).ToString("0.0", CultureInfo.InvariantCulture) + " MB",
        _ => Megabytes(bytes),
    };

    /// <summary>A training job's settings in one line: kind/preset first, then every other setting as "name value"
    /// (what the job was asked for; the recipe fills in what it does not name).</summary>
    public static string TrainSettings(IReadOnlyDictionary<string, string> settings)
    {
        var parts = new List<string>();
        if (settings.TryGetValue("model", out var model) && settings.TryGetValue("preset", out var preset)) parts.Add($"{model}/{preset}");
        parts.AddRange(settings.Where(kv => kv.Key is not ("model" or "preset"))
            .OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => kv.Value == "true" ? kv.Key : $"{kv.Key} {kv.Value}"));
        return string.Join(" · ", parts);
    }

    public static double Percent(int step, int total) => total > 0 ? Math.Clamp(100.0 * step / total, 0, 100) : 0;

    /// <summary>The total loss and each other term as a line over the steps (terms missing at a point are skipped).</summary>
    public static IReadOnlyList<CurveSeries> Curves(IReadOnlyList<JobCurvePoint> points)
    {
        var result = new List<CurveSeries>();
        var withLoss = points.Where(p => p.Loss is not null).ToList();
        if (withLoss.Count > 0) result.Add(new("total", withLoss.Select(p => p.Step).ToList(), withLoss.Select(p => p.Loss!.Value).ToList()));
        var terms = points.SelectMany(p => p.Terms.Keys).Where(k => k != "total").Distinct().Order(StringComparer.Ordinal);
        foreach (var term in terms)
        {
            var of = points.Where(p => p.Terms.ContainsKey(term)).ToList();
            result.Add(new(term, of.Select(p => p.Step).ToList(), of.Select(p => p.Terms[term]).ToList(), Diagnostics.Contains(term)));
        }
        return result;
    }

    /// <summary>Reported with the loss terms but not losses: hidden until picked in the chart's legend.</summary>
    public static readonly IReadOnlySet<string> Diagnostics = new HashSet<string>(StringComparer.Ordinal) { "grad_norm", "lr" };

    /// <summary>The samples per second of the latest point that reports it.</summary>
    public static double? SamplesPerSecond(IReadOnlyList<JobCurvePoint> points) => points.LastOrDefault(p => p.SamplesPerSecond is > 0)?.SamplesPerSecond;

    /// <summary>A model version's resolved training options (its <c>OptionsJson</c>), or null when they cannot be read.</summary>
    public static Sdpm.Engine.Contracts.Training.TrainingOptions? TrainingOptions(string optionsJson)
    {
        try
        {
            return JsonSerializer.Deserialize<Sdpm.Engine.Contracts.Training.TrainingOptions>(string.IsNullOrWhiteSpace(optionsJson) ? "{}" : optionsJson);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>The number of diffusion steps T a model was trained with (its resolved options' DiffusionSteps), or null.</summary>
    public static int? DiffusionSteps(string optionsJson) =>
        FlattenOptions(optionsJson).TryGetValue("DiffusionSteps", out var t) && int.TryParse(t, System.Globalization.CultureInfo.InvariantCulture, out var steps) && steps > 0
            ? steps : null;

    /// <summary>A statistic as "0.812 (0.75 to 0.86)", or its note when undefined.</summary>
    public static string Statistic(Sdpm.Jobs.OutcomeStatistic s, string format = "0.000") =>
        s.Mean is { } mean
            ? mean.ToString(format, System.Globalization.CultureInfo.InvariantCulture)
              + (s.CiLow is { } lo && s.CiHigh is { } hi
                  ? $" ({lo.ToString(format, System.Globalization.CultureInfo.InvariantCulture)} to {hi.ToString(format, System.Globalization.CultureInfo.InvariantCulture)})"
                  : "")
            : s.Note ?? "n/a";

    /// <summary>Every option as a flat "a.b.c" key with its JSON value as text (strings unquoted, arrays as JSON).</summary>
    public static IReadOnlyDictionary<string, string> FlattenOptions(string optionsJson)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(string.IsNullOrWhiteSpace(optionsJson) ? "{}" : optionsJson);
            Flatten(doc.RootElement, "", result);
        }
        catch (JsonException)
        {
            result["(options)"] = optionsJson;
        }
        return result;
    }

    private static void Flatten(JsonElement e, string prefix, IDictionary<string, string> into)
    {
        if (e.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in e.EnumerateObject()) Flatten(p.Value, prefix.Length == 0 ? p.Name : $"{prefix}.{p.Name}", into);
            return;
        }
        into[prefix.Length == 0 ? "(value)" : prefix] = e.ValueKind switch
        {
            JsonValueKind.String => e.GetString()!,
            JsonValueKind.Null => "null",
            _ => e.GetRawText(),
        };
    }

    /// <summary>The options whose values are not the same in every model that reads them (a missing option counts as a
    /// value), in key order: each row has one value per model, null where the model lacks the option. With
    /// <paramref name="kinds"/> (each model's kind name, "unet"), an option a model's kind does not read
    /// (<see cref="Sdpm.Engine.Contracts.Training.TrainingOptionUse"/>: a U-Net's diffusion and loss settings) is marked as
    /// not read in that model's cell and does not make a row differ.</summary>
    public static IReadOnlyList<OptionDifference> OptionDifferences(IReadOnlyList<string> optionsJson, IReadOnlyList<string>? kinds = null)
    {
        var flat = optionsJson.Select(FlattenOptions).ToList();
        var kindOf = Enumerable.Range(0, flat.Count).Select(i => kinds is not null && i < kinds.Count ? KindOf(kinds[i]) : null).ToList();
        return flat.SelectMany(f => f.Keys).Distinct().Order(StringComparer.Ordinal)
            .Select(k => new OptionDifference(k, flat.Select(f => f.TryGetValue(k, out var v) ? v : null).ToList(),
                kindOf.Select(kind => kind is not { } m || Sdpm.Engine.Contracts.Training.TrainingOptionUse.IsRead(m, k)).ToList()))
            .Where(d => d.Values.Where((_, i) => d.IsRead(i)).Distinct().Count() > 1)
            .ToList();
    }

    private static Sdpm.Engine.Contracts.Training.ModelKind? KindOf(string name) =>
        Sdpm.Engine.Contracts.Training.ModelKinds.Names.Contains(name) ? Sdpm.Engine.Contracts.Training.ModelKinds.Parse(name) : null;
}

/// <summary>One option that differs between compared models: its flat key, each model's value (null: not set) and whether
/// each model's kind reads it (null: every model does).</summary>
public sealed record OptionDifference(string Key, IReadOnlyList<string?> Values, IReadOnlyList<bool>? Read = null)
{
    public bool IsRead(int model) => Read is null || Read[model];
}

using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sdpm.Engine.Contracts.Splits;

/// <summary>The part of a dataset split a case is in.</summary>
/// <remarks>Validation was added after Train and Test, so the numeric values of those two did not change.</remarks>
public enum SplitSubset
{
    Train,
    Test,
    Validation,
}

/// <summary>A patient-level split: case ids per part. Saved once with a run and never changed after.</summary>
/// <remarks>A train/test split (the CLI's) has no validation part; then neither <see cref="Validation"/> nor
/// <see cref="ValidationFraction"/> is written, so its split.json reads exactly as before they existed.</remarks>
public sealed record DatasetSplit(ulong Seed, double TestFraction, IReadOnlyList<string> Train, IReadOnlyList<string> Test)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>The validation case ids (empty for a train/test split).</summary>
    [JsonIgnore]
    public IReadOnlyList<string> Validation { get; init; } = [];

    /// <summary>The share of each stratum's patients asked for validation (0 for a train/test split).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public double ValidationFraction { get; init; }

    // Written only when there is a validation part; a file without it reads as an empty one.
    [JsonInclude, JsonPropertyName("Validation"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    private IReadOnlyList<string>? ValidationInFile
    {
        get => Validation.Count == 0 ? null : Validation;
        init => Validation = value ?? [];
    }

    /// <summary>The case ids of one part.</summary>
    public IReadOnlyList<string> Cases(SplitSubset subset) => subset switch
    {
        SplitSubset.Test => Test,
        SplitSubset.Validation => Validation,
        _ => Train,
    };

    /// <summary>The part a case is in, or null when the split does not hold it.</summary>
    public SplitSubset? SubsetOf(string caseId) =>
        Train.Contains(caseId, StringComparer.Ordinal) ? SplitSubset.Train
        : Test.Contains(caseId, StringComparer.Ordinal) ? SplitSubset.Test
        : Validation.Contains(caseId, StringComparer.Ordinal) ? SplitSubset.Validation
        : null;

    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Json));

    public static DatasetSplit Load(string path) =>
        JsonSerializer.Deserialize<DatasetSplit>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"{path}: empty split file.");

    /// <summary>Parses all | train | test (all is null: no restriction), the parts the CLI's inference can pick.</summary>
    /// <exception cref="ArgumentException">Another word.</exception>
    public static SplitSubset? ParseSubset(string text) => text switch
    {
        "all" => null,
        "train" => SplitSubset.Train,
        "test" => SplitSubset.Test,
        _ => throw new ArgumentException($"subset must be all, test or train, got '{text}'."),
    };

    /// <summary>The word for a part: all (null), train, validation or test.</summary>
    public static string SubsetName(SplitSubset? subset) => subset switch
    {
        null => "all",
        SplitSubset.Train => "train",
        SplitSubset.Validation => "validation",
        _ => "test",
    };
}

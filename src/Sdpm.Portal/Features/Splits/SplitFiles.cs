using System.Text.Json;
using System.Text.Json.Nodes;
using Sdpm.Data.Entities;

namespace Sdpm.Portal.Features.Splits;

/// <summary>nnU-Net's splits_final.json: a list of folds, each <c>{"train": [...], "val": [...]}</c> of case identifiers.
/// The portal writes one fold with the cases' pseudonymous ids and puts the test cases under an extra key <c>"test"</c>
/// (nnU-Net reads train and val of the fold it trains and ignores other keys).</summary>
public static class SplitFiles
{
    public const string FileName = "splits_final.json";

    /// <summary>Most bytes of an imported file (a 5-fold file of 100 000 cases is a few MB).</summary>
    public const int MaxBytes = 16 << 20;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>One fold: train, val and test ids, each sorted.</summary>
    public static string Write(IEnumerable<(string PseudoId, SplitSubset Subset)> cases)
    {
        var list = cases.ToList();
        JsonArray Ids(SplitSubset s) => new(list.Where(c => c.Subset == s).Select(c => c.PseudoId).Order(StringComparer.Ordinal).Select(id => (JsonNode)JsonValue.Create(id)!).ToArray());
        var fold = new JsonObject { ["train"] = Ids(SplitSubset.Train), ["val"] = Ids(SplitSubset.Validation), ["test"] = Ids(SplitSubset.Test) };
        return new JsonArray(fold).ToJsonString(Indented);
    }

    /// <summary>The ids per part of one fold of a splits_final.json (a list of folds, or a single fold object).</summary>
    /// <returns>The ids by part, or the message that says what is wrong with the file.</returns>
    public static (IReadOnlyDictionary<SplitSubset, IReadOnlyList<string>>? Parts, string? Error) Read(string json, int fold)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json);
        }
        catch (JsonException e)
        {
            return (null, $"The file is not JSON: {e.Message}");
        }
        var folds = root switch
        {
            JsonArray array => array.ToList(),
            JsonObject single => [single],
            _ => null,
        };
        if (folds is null || folds.Count == 0) return (null, "Expected nnU-Net's splits_final.json: a list of folds, each {\"train\": [...], \"val\": [...]}.");
        if (fold < 0 || fold >= folds.Count) return (null, $"The file has {folds.Count} fold(s) (0 to {folds.Count - 1}); fold {fold} does not exist.");
        if (folds[fold] is not JsonObject chosen) return (null, $"Fold {fold} is not an object with \"train\" and \"val\" lists.");
        var parts = new Dictionary<SplitSubset, IReadOnlyList<string>>();
        foreach (var (key, subset) in new[] { ("train", SplitSubset.Train), ("val", SplitSubset.Validation), ("test", SplitSubset.Test) })
        {
            var node = chosen[key] ?? (key == "val" ? chosen["validation"] : null);
            if (node is null)
            {
                parts[subset] = [];
                continue;
            }
            if (node is not JsonArray ids || ids.Any(i => i is not JsonValue v || v.GetValueKind() != JsonValueKind.String))
            {
                return (null, $"\"{key}\" of fold {fold} must be a list of case ids (strings).");
            }
            parts[subset] = ids.Select(i => i!.GetValue<string>().Trim()).ToList();
        }
        if (parts.Values.All(p => p.Count == 0)) return (null, $"Fold {fold} lists no case in \"train\", \"val\" or \"test\".");
        var unknownKeys = chosen.Select(kv => kv.Key).Except(["train", "val", "validation", "test"]).ToList();
        return unknownKeys.Count > 0
            ? (null, $"Fold {fold} has keys the portal does not know: {string.Join(", ", unknownKeys)} (expected train, val and optionally test).")
            : (parts, null);
    }
}

using Sdpm.Data.Entities;

namespace Sdpm.Portal.Features.Cohorts;

/// <summary>Lesion types as scripts write them: lower-case words, either spelling of haemorrhage, any case.</summary>
public static class LesionTypes
{
    public const string CohortWords = "infarct, haemorrhage or mixed";
    public const string CaseWords = "infarct, haemorrhage, none (lesion-free) or unspecified";

    public static bool TryParseCohort(string? text, out CohortLesionType type)
    {
        (var ok, type) = Normalize(text) switch
        {
            "infarct" => (true, CohortLesionType.Infarct),
            "haemorrhage" => (true, CohortLesionType.Haemorrhage),
            "mixed" => (true, CohortLesionType.Mixed),
            _ => (false, default),
        };
        return ok;
    }

    public static bool TryParseCase(string? text, out CaseLesionType type)
    {
        (var ok, type) = Normalize(text) switch
        {
            "infarct" => (true, CaseLesionType.Infarct),
            "haemorrhage" => (true, CaseLesionType.Haemorrhage),
            "none" or "lesion-free" or "lesionfree" => (true, CaseLesionType.None),
            "unspecified" => (true, CaseLesionType.Unspecified),
            _ => (false, default),
        };
        return ok;
    }

    private static string Normalize(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        "hemorrhage" or "haemorrhagic" or "hemorrhagic" or "ich" => "haemorrhage",
        var s => s ?? "",
    };
}

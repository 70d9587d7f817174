namespace Sdpm.Portal.Features.Leaderboards;

/// <summary>One method's row of the SDPM paper's Table 1 (Dice, VC, VDP on the authors' private infarct and
/// haemorrhage data), shown apart from the portal's rows: it is not comparable with them.</summary>
public sealed record PublishedRow(string Method, double InfarctDice, double InfarctVc, double InfarctVdp, double HaemorrhageDice, double HaemorrhageVc, double HaemorrhageVdp);

public static class PublishedResults
{
    public const string Label = "As published, on the authors' private data: not comparable";

    /// <summary>Table 1 of the paper, as printed (../shared/seed/sdpm-paper.txt).</summary>
    public static IReadOnlyList<PublishedRow> Table1 { get; } =
    [
        new("SegResNet", 0.334, 0.409, 0.574, 0.926, 0.976, 0.086),
        new("UNETR", 0.304, 0.392, 0.709, 0.910, 0.967, 0.100),
        new("SwinUNETR", 0.366, 0.455, 0.656, 0.908, 0.965, 0.101),
        new("nnUNet", 0.337, 0.488, 0.692, 0.922, 0.978, 0.096),
        new("nnUNet++", 0.376, 0.507, 0.639, 0.915, 0.968, 0.070),
        new("SegDiff", 0.389, 0.482, 0.658, 0.927, 0.976, 0.066),
        new("MedSegDiff", 0.396, 0.540, 0.657, 0.930, 0.976, 0.069),
        new("SDPM w/o noise", 0.400, 0.557, 0.633, 0.927, 0.961, 0.074),
        new("SDPM avg", 0.378, 0.544, 0.641, 0.929, 0.972, 0.078),
        new("SDPM infer", 0.374, 0.531, 0.652, 0.931, 0.985, 0.067),
        new("SDPM sal", 0.397, 0.581, 0.540, 0.928, 0.980, 0.032),
        new("SDPM all", 0.399, 0.619, 0.545, 0.928, 0.980, 0.032),
    ];
}

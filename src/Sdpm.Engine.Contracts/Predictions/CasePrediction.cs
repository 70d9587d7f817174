using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Engine.Contracts.Predictions;

/// <summary>One mode's prediction of one case, on the case's original grid.</summary>
/// <param name="Probability">Mean lesion probability over the repeats, in [0, 1].</param>
/// <param name="Uncertainty">Per-voxel SD of the probability over the repeats (zeros for the deterministic avg mode).</param>
/// <param name="VolumeMl">Lesion volume of the final mask.</param>
/// <param name="VolumeSdMl">Spread (SD) of the lesion volume over the repeats (0 for deterministic modes).</param>
/// <param name="Passes">Network passes spent on this mode.</param>
public sealed record ModePrediction(SamplingMode Mode, Volume<byte> Mask, Volume<float> Probability, Volume<float> Uncertainty,
    double VolumeMl, double VolumeSdMl, long Passes, double Seconds);

/// <summary>All requested modes of one case, and the device they ran on.</summary>
public sealed record CasePrediction(string CaseId, IReadOnlyList<ModePrediction> Modes, string Device);

/// <summary>What an inference run reports per case and mode, once the sink has stored the maps.</summary>
public sealed record PredictionSummary(string CaseId, SamplingMode Mode, double VolumeMl, double VolumeSdMl, long Passes, double Seconds)
{
    public static PredictionSummary Of(string caseId, ModePrediction m) => new(caseId, m.Mode, m.VolumeMl, m.VolumeSdMl, m.Passes, m.Seconds);
}

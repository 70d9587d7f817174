using System.Globalization;
using System.Text;
using Sdpm.Engine.Contracts.Predictions;
using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Nifti;
using IOPath = System.IO.Path;

namespace Sdpm.Engine.Data;

/// <summary>Writes predictions as NIfTI files on each case's grid: OUT/MODE/CASE.nii.gz (uint8 mask), CASE_prob.nii.gz and
/// CASE_std.nii.gz (float32), and on completion OUT/volumes.csv (case, mode, volume, its SD over repeats, seconds).</summary>
public sealed class PredictionFolder(string path) : IPredictionSink
{
    public const string VolumesFileName = "volumes.csv";

    private readonly List<PredictionSummary> _written = [];

    public string Path { get; } = path;

    public string Description => Path;

    /// <summary>Where a mode's mask of a case goes; the maps sit beside it with _prob and _std.</summary>
    public string MaskPath(string caseId, SamplingMode mode) => IOPath.Combine(Path, SamplingModes.Name(mode), $"{caseId}.nii.gz");

    public void Write(CasePrediction prediction, CancellationToken ct = default)
    {
        foreach (var m in prediction.Modes)
        {
            ct.ThrowIfCancellationRequested();
            var name = SamplingModes.Name(m.Mode);
            var dir = IOPath.Combine(Path, name);
            Directory.CreateDirectory(dir);
            var grid = m.Mask.Geometry;
            MaskVolume.WriteNifti(MaskPath(prediction.CaseId, m.Mode), m.Mask, grid, new NiftiWriteOptions(Description: $"Sdpm {name} mask"));
            MaskVolume.WriteProbabilityNifti(IOPath.Combine(dir, $"{prediction.CaseId}_prob.nii.gz"), m.Probability, grid, new NiftiWriteOptions(Description: $"Sdpm {name} probability"));
            MaskVolume.WriteProbabilityNifti(IOPath.Combine(dir, $"{prediction.CaseId}_std.nii.gz"), m.Uncertainty, grid, new NiftiWriteOptions(Description: $"Sdpm {name} std over repeats"));
            _written.Add(PredictionSummary.Of(prediction.CaseId, m));
        }
    }

    public void Complete(CancellationToken ct = default)
    {
        Directory.CreateDirectory(Path);
        var sb = new StringBuilder("case,mode,volume_ml,volume_sd_ml,seconds\n");
        foreach (var r in _written)
            sb.Append(CultureInfo.InvariantCulture, $"{r.CaseId},{SamplingModes.Name(r.Mode)},{r.VolumeMl:0.###},{r.VolumeSdMl:0.###},{r.Seconds:0.##}\n");
        File.WriteAllText(IOPath.Combine(Path, VolumesFileName), sb.ToString());
    }
}

using System.Security.Cryptography;
using System.Text;
using Sdpm.Engine.Contracts.Cases;
using Sdpm.Engine.Contracts.Predictions;
using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Engine.Contracts.Training;
using Sdpm.Engine.Data;
using Sdpm.Engine.Runs;
using Sdpm.Engine.Sampling;
using Sdpm.Engine.Training;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Synthetic;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Engine.Tests;

/// <summary>The engine reads cases through <see cref="ICaseSource"/> and writes predictions through
/// <see cref="IPredictionSink"/>; the cohort-folder adapters are what the CLI uses.</summary>
public sealed class CaseSourceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sdpm-source-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Synth(string name)
    {
        var dir = Path.Combine(_dir, name);
        CohortGenerator.Write(dir, new CohortOptions(4, 2, 5, LesionMode.Hemorrhage, Size: 64, Slices: 3, LesionFreeFraction: 0));
        return dir;
    }

    [Fact]
    public void ACohortFolderListsItsManifestsCasesWithPatientSiteLesionAndGrid()
    {
        var data = Synth("cohort");
        var source = new CohortFolder(data);
        var cases = source.Cases;
        Assert.Equal(4, cases.Count);
        Assert.Equal(cases.Select(c => c.CaseId).Order(StringComparer.Ordinal), cases.Select(c => c.CaseId));
        Assert.Equal(2, cases.Select(c => c.Site).Distinct().Count());
        foreach (var c in cases)
        {
            Assert.Equal(CohortFolder.PatientOf(c.CaseId), c.PatientId);
            Assert.Equal(LesionType.Hemorrhage, c.Lesion);
            Assert.True(c.HasReference);
            var volume = source.LoadVolume(c.CaseId);
            Assert.Equal(volume.Dims, c.Dims);
            Assert.Equal(volume.Spacing.Z, c.Spacing!.Value.Z, 3);
            Assert.Equal(volume.Dims, source.LoadReference(c.CaseId)!.Dims);
        }
        // The manifest file itself names the same cohort.
        Assert.Equal(cases, new CohortFolder(Path.Combine(data, CohortManifest.FileName)).Cases);
    }

    [Fact]
    public void ABareFolderPairsImagesWithMasksByNameAndGroupsScansByPatient()
    {
        var images = Directory.CreateDirectory(Path.Combine(_dir, "bare", "images")).FullName;
        var masks = Directory.CreateDirectory(Path.Combine(_dir, "bare", "masks")).FullName;
        var grid = new VolumeGeometry(new Dims(8, 8, 2), Affine.Canonical(new Spacing(1, 1, 3)));
        foreach (var id in new[] { "p1_ct1", "p1_ct2", "p2" }) NiftiWriter.Write(Path.Combine(images, id + ".nii.gz"), new Volume<short>(grid));
        NiftiWriter.Write(Path.Combine(masks, "p1_ct1.nii.gz"), new Volume<byte>(grid));

        var source = new CohortFolder(Path.Combine(_dir, "bare"));
        Assert.Equal(
            [new CaseDescriptor("p1_ct1", "p1", "", LesionType.None, true), new("p1_ct2", "p1", "", LesionType.None, false), new("p2", "p2", "", LesionType.None, false)],
            source.Cases);
        Assert.NotNull(source.LoadReference("p1_ct1"));
        Assert.Null(source.LoadReference("p1_ct2"));
        Assert.Equal(grid.Dims, source.LoadVolume("p2").Dims);
        Assert.Throws<ArgumentException>(() => source.LoadVolume("p3"));
        Assert.Throws<ArgumentException>(() => new CohortFolder(Path.Combine(_dir, "missing")).Cases);
    }

    [Fact]
    public void TheFolderFingerprintIsTheOneEarlierCheckpointsCarry()
    {
        var data = Synth("cohort");
        var source = new CohortFolder(data);
        var ids = source.Cases.Select(c => c.CaseId).Take(3).Reverse().ToList();
        var prep = new PreprocessingOptions();
        // The formula of the engine's first releases (case ids, image and mask bytes, then the preprocessing options), so
        // that a run trained before case sources existed still resumes.
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var id in ids.Order(StringComparer.Ordinal))
        {
            sha.AppendData(Encoding.UTF8.GetBytes(id + "\n"));
            sha.AppendData(File.ReadAllBytes(Path.Combine(data, "images", id + ".nii.gz")));
            sha.AppendData(File.ReadAllBytes(Path.Combine(data, "masks", id + ".nii.gz")));
        }
        sha.AppendData(Encoding.UTF8.GetBytes(prep.ToString()));
        Assert.Equal(Convert.ToHexStringLower(sha.GetHashAndReset()), source.Fingerprint(ids, prep));
        Assert.NotEqual(source.Fingerprint(ids, prep), source.Fingerprint(ids, prep with { WindowWidth = 100 }));
        Assert.NotEqual(source.Fingerprint(ids, prep), source.Fingerprint(ids.Take(2), prep));
    }

    [Fact]
    public void RunsReadCasesOnlyThroughTheSourceAndWriteOnlyThroughTheSink()
    {
        var data = Synth("cohort");
        var options = new TrainingOptions(Preset: "tiny", Steps: 2, BatchSize: 2, Device: "cpu", TestFraction: 0.5);
        var fromFolder = Path.Combine(_dir, "run-folder");
        TrainingRun.Run(new TrainingRequest(new CohortFolder(data), fromFolder, options));
        var folderPredictions = Path.Combine(_dir, "pred-folder");
        var inference = new InferenceOptions([SamplingMode.Avg], Device: "cpu");
        var fromFolderWritten = InferenceRun.Run(new InferenceRequest(fromFolder, new CohortFolder(data), new PredictionFolder(folderPredictions), inference));

        // The same cases held in memory, their folder gone: what the database and blob store adapter will look like.
        var memory = MemorySource.Copy(new CohortFolder(data));
        Directory.Delete(data, recursive: true);
        var fromMemory = Path.Combine(_dir, "run-memory");
        TrainingRun.Run(new TrainingRequest(memory, fromMemory, options));
        Assert.Equal(File.ReadAllText(Path.Combine(fromFolder, TrainingRun.SplitFileName)), File.ReadAllText(Path.Combine(fromMemory, TrainingRun.SplitFileName)));
        using (var a = Checkpoint.Load(Path.Combine(fromFolder, SegmentationModel.CheckpointFileName)))
        using (var b = Checkpoint.Load(Path.Combine(fromMemory, SegmentationModel.CheckpointFileName)))
        {
            Assert.Equal(a.Options, b.Options);
            foreach (var (name, t) in a.Group("ema"))
                Assert.True(t.allclose(b.Group("ema")[name], rtol: 0, atol: 0), $"EMA weight {name} differs between sources");
        }

        var sink = new MemorySink();
        var written = InferenceRun.Run(new InferenceRequest(fromMemory, memory, sink, inference));
        Assert.True(sink.Completed);
        Assert.Equal(fromFolderWritten.Select(w => w with { Seconds = 0 }), written.Select(w => w with { Seconds = 0 }));
        Assert.Equal(memory.Cases.Select(c => c.CaseId), sink.Cases.Select(c => c.CaseId));
        foreach (var p in sink.Cases)
        {
            var mode = Assert.Single(p.Modes);
            var file = new PredictionFolder(folderPredictions).MaskPath(p.CaseId, SamplingMode.Avg);
            Assert.Equal(NiftiReader.ReadMask(file).Voxels, mode.Mask.Voxels);
            Assert.Equal(NiftiReader.ReadFloat(file.Replace(".nii.gz", "_prob.nii.gz", StringComparison.Ordinal)).Voxels, mode.Probability.Voxels);
        }
    }

    /// <summary>Cases held in memory, with a fingerprint over their voxels.</summary>
    private sealed class MemorySource(IReadOnlyList<CaseDescriptor> cases, Dictionary<string, (Volume<short> Image, Volume<byte>? Mask)> volumes) : ICaseSource
    {
        public static MemorySource Copy(ICaseSource from) =>
            new(from.Cases, from.Cases.ToDictionary(c => c.CaseId, c => (from.LoadVolume(c.CaseId), from.LoadReference(c.CaseId))));

        public string Description => "memory";

        public IReadOnlyList<CaseDescriptor> Cases => cases;

        public Volume<short> LoadVolume(string caseId, CancellationToken ct = default) => volumes[caseId].Image.Clone();

        public Volume<byte>? LoadReference(string caseId, CancellationToken ct = default) => volumes[caseId].Mask?.Clone();

        public string Fingerprint(IEnumerable<string> caseIds, PreprocessingOptions preprocessing, CancellationToken ct = default)
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            foreach (var id in caseIds.Order(StringComparer.Ordinal))
            {
                sha.AppendData(Encoding.UTF8.GetBytes(id));
                sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(volumes[id].Image.Voxels.AsSpan()));
                if (volumes[id].Mask is { } m) sha.AppendData(m.Voxels);
            }
            sha.AppendData(Encoding.UTF8.GetBytes(preprocessing.ToString()));
            return Convert.ToHexStringLower(sha.GetHashAndReset());
        }
    }

    private sealed class MemorySink : IPredictionSink
    {
        public List<CasePrediction> Cases { get; } = [];

        public bool Completed { get; private set; }

        public string Description => "memory";

        public void Write(CasePrediction prediction, CancellationToken ct = default) => Cases.Add(prediction);

        public void Complete(CancellationToken ct = default) => Completed = true;
    }
}

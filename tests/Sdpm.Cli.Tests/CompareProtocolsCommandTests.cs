using System.Text.Json;
using Sdpm.Engine.Contracts.Splits;
using Sdpm.Engine.Contracts.Training;
using Sdpm.Engine.Data;
using Sdpm.Engine.Runs;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Synthetic;

namespace Sdpm.Cli.Tests;

/// <summary>A tiny SDPM (2 training steps) on 8 small cases, half of them held out, some lesion-free.</summary>
public sealed class WholeVolumeRunFixture : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("sdpm-cli-protocols-").FullName;
    public string Data => Path.Combine(Dir, "cohort");
    public string Run => Path.Combine(Dir, "run");
    public DatasetSplit Split { get; }

    public WholeVolumeRunFixture()
    {
        CohortGenerator.Write(Data, new CohortOptions(8, 1, 21, LesionMode.Mixed, Size: 64, Slices: 4, LesionFreeFraction: 0.34));
        // T = 20 (the CLI trains with T = 500), so that the paper protocol's every-step chains stay short in a test.
        TrainingRun.Run(new TrainingRequest(new CohortFolder(Data), Run,
            new TrainingOptions(Model: ModelKind.Sdpm, Preset: "tiny", Steps: 2, BatchSize: 2, Device: "cpu", TestFraction: 0.5, DiffusionSteps: 20)));
        Split = DatasetSplit.Load(Path.Combine(Run, "split.json"));
    }

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}

public sealed class CompareProtocolsCommandTests(WholeVolumeRunFixture fx) : IClassFixture<WholeVolumeRunFixture>
{
    private static readonly string[] Modes = ["avg", "sal", "infer", "all"];

    /// <summary>Every figure of the whole-volume comparison is recomputed here from the masks <c>sdpm infer</c> writes with
    /// each protocol and the reference files, with this test's own Dice and volume arithmetic (voxel volume from the NIfTI
    /// header's pixdim, not from the engine's affine).</summary>
    [Fact]
    public void WholeVolumeScoresAreThoseOfInfersMasksWithEachProtocol()
    {
        var test = fx.Split.Test.ToHashSet();
        var cohort = new CohortFolder(fx.Data).Cases.Where(c => test.Contains(c.CaseId)).ToList();
        var lesionCases = cohort.Where(c => c.Lesion != LesionType.None).ToList();
        var freeCases = cohort.Where(c => c.Lesion == LesionType.None).ToList();
        Assert.True(lesionCases.Count >= 2 && freeCases.Count >= 1, "the fixture's test part needs lesion and lesion-free cases");

        var r = CliTestHost.Run("bench", "--compare-protocols", fx.Run, "--data", fx.Data, "--whole-volumes", "--cases", "2",
            "--lesion-free-cases", "1", "--paper-repeats", "1", "--device", "cpu", "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        var fast = Path.Combine(fx.Dir, "pred-fast");
        var paper = Path.Combine(fx.Dir, "pred-paper");
        Assert.Equal(0, CliTestHost.Run("infer", "--model", fx.Run, "--data", fx.Data, "--out", fast, "--subset", "test", "--device", "cpu", "--progress", "none").ExitCode);
        Assert.Equal(0, CliTestHost.Run("infer", "--model", fx.Run, "--data", fx.Data, "--out", paper, "--subset", "test", "--device", "cpu", "--progress", "none",
            "--protocol", "paper", "--sal-repeats", "1", "--infer-repeats", "1").ExitCode);

        using var doc = JsonDocument.Parse(r.Out);
        var root = doc.RootElement;
        Assert.Equal(1, root.GetProperty("paper_sal_repeats").GetInt32());
        var cases = root.GetProperty("cases").EnumerateArray().ToList();
        // The first two lesion cases and the first lesion-free case of the test part, in the cohort's order.
        Assert.Equal(lesionCases.Take(2).Select(c => c.CaseId).Append(freeCases[0].CaseId), cases.Select(c => c.GetProperty("case_id").GetString()));

        var expected = new Dictionary<string, List<(double FastDice, double PaperDice, double FastMl, double PaperMl, double FastOff, double PaperOff, double Agree, bool Free)>>();
        var anyVoxel = false;
        var offLesionSlices = 0;
        foreach (var c in cases)
        {
            var id = c.GetProperty("case_id").GetString()!;
            var refPath = Path.Combine(fx.Data, "masks", $"{id}.nii.gz"); // the synthetic cohort's layout (manifest.csv)
            var imagePath = Path.Combine(fx.Data, "images", $"{id}.nii.gz");
            var hdr = NiftiReader.Read(imagePath).Header;
            var voxelMl = hdr.PixDim[1] * hdr.PixDim[2] * hdr.PixDim[3] / 1000.0;
            int nx = (int)hdr.Dim[1], ny = (int)hdr.Dim[2], nz = (int)hdr.Dim[3];
            var reference = NiftiReader.ReadMask(refPath).Voxels;
            var lesionSlice = Enumerable.Range(0, nz).Select(z => reference.Skip(z * nx * ny).Take(nx * ny).Any(v => v != 0)).ToArray();
            offLesionSlices += lesionSlice.Count(x => !x);
            Assert.Equal(reference.Count(v => v != 0) * voxelMl, c.GetProperty("reference_ml").GetDouble(), 9);
            foreach (var mode in Modes)
            {
                var f = NiftiReader.ReadMask(Path.Combine(fast, mode, $"{id}.nii.gz")).Voxels;
                var p = NiftiReader.ReadMask(Path.Combine(paper, mode, $"{id}.nii.gz")).Voxels;
                anyVoxel |= f.Any(v => v != 0) || p.Any(v => v != 0);
                var row = (Dice(f, reference), Dice(p, reference), f.Count(v => v != 0) * voxelMl, p.Count(v => v != 0) * voxelMl,
                    OffLesion(f, lesionSlice, nx * ny) * voxelMl, OffLesion(p, lesionSlice, nx * ny) * voxelMl, Dice(f, p), reference.All(v => v == 0));
                var got = c.GetProperty("modes").EnumerateArray().Single(m => m.GetProperty("mode").GetString() == mode);
                Assert.Equal(row.Item1, got.GetProperty("fast_dice").GetDouble(), 9);
                Assert.Equal(row.Item2, got.GetProperty("paper_dice").GetDouble(), 9);
                Assert.Equal(row.Item3, got.GetProperty("fast_ml").GetDouble(), 9);
                Assert.Equal(row.Item4, got.GetProperty("paper_ml").GetDouble(), 9);
                Assert.Equal(row.Item5, got.GetProperty("fast_off_lesion_ml").GetDouble(), 9);
                Assert.Equal(row.Item6, got.GetProperty("paper_off_lesion_ml").GetDouble(), 9);
                Assert.Equal(row.Item7, got.GetProperty("agreement").GetDouble(), 9);
                (expected.TryGetValue(mode, out var list) ? list : expected[mode] = []).Add(row);
            }
        }
        Assert.True(anyVoxel, "every compared mask is empty: the comparison would check nothing");
        Assert.True(offLesionSlices > 0, "no slice without lesion: the off-lesion volume would check nothing");

        foreach (var s in root.GetProperty("modes").EnumerateArray())
        {
            var rows = expected[s.GetProperty("mode").GetString()!];
            var withLesion = rows.Where(x => !x.Free).ToList();
            var free = rows.Where(x => x.Free).ToList();
            Assert.Equal(withLesion.Average(x => x.FastDice), s.GetProperty("fast_dice").GetDouble(), 9);
            Assert.Equal(withLesion.Average(x => x.PaperDice), s.GetProperty("paper_dice").GetDouble(), 9);
            Assert.Equal(withLesion.Average(x => x.FastOff), s.GetProperty("fast_off_lesion_ml").GetDouble(), 9);
            Assert.Equal(free.Count(x => x.FastMl == 0), s.GetProperty("fast_lesion_free_empty").GetInt32());
            Assert.Equal(free.Count(x => x.PaperMl == 0), s.GetProperty("paper_lesion_free_empty").GetInt32());
            Assert.Equal(free.Average(x => x.PaperMl), s.GetProperty("paper_lesion_free_ml").GetDouble(), 9);
            Assert.Equal(rows.Average(x => x.Agree), s.GetProperty("agreement").GetDouble(), 9);
        }
    }

    [Fact]
    public void TheTextTableNamesEveryModeAndBothProtocolsCosts()
    {
        var r = CliTestHost.Run("bench", "--compare-protocols", fx.Run, "--data", fx.Data, "--whole-volumes", "--cases", "1",
            "--lesion-free-cases", "0", "--paper-repeats", "1", "--device", "cpu");
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Contains("whole volumes: 1 with a lesion, 0 lesion-free", r.Out);
        Assert.Contains("passes/slice: fast ", r.Out);
        foreach (var mode in Modes) Assert.Contains($"\n{mode,-6} ", r.Out);
        Assert.Contains("fast ", r.Error); // one progress line per case
    }

    [Theory]
    [InlineData("--slices-per-case does not go with --whole-volumes", "--whole-volumes", "--slices-per-case", "2")]
    [InlineData("--lesion-free-cases needs --whole-volumes", "--lesion-free-cases", "2")]
    [InlineData("no case to compare on", "--whole-volumes", "--cases", "0", "--lesion-free-cases", "0")]
    public void BadWholeVolumeFlagsAreRefusedWithTheReason(string message, params string[] flags)
    {
        var r = CliTestHost.Run(["bench", "--compare-protocols", fx.Run, "--data", fx.Data, .. flags]);
        CliTestHost.AssertOneLineError(r, CliApp.Usage, message);
    }

    private static double Dice(byte[] a, byte[] b)
    {
        long p = 0, g = 0, both = 0;
        for (var i = 0; i < a.Length; i++)
        {
            if (a[i] != 0) p++;
            if (b[i] != 0) g++;
            if (a[i] != 0 && b[i] != 0) both++;
        }
        return p + g == 0 ? 1 : 2.0 * both / (p + g);
    }

    private static long OffLesion(byte[] mask, bool[] lesionSlice, int sliceLength) =>
        Enumerable.Range(0, lesionSlice.Length).Where(z => !lesionSlice[z]).Sum(z => (long)mask.Skip(z * sliceLength).Take(sliceLength).Count(v => v != 0));
}

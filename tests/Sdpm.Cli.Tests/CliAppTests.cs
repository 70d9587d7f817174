using System.Text.Json;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Png;
using Sdpm.Imaging.Synthetic;
using Sdpm.Imaging.Tests.Dicom;
using Sdpm.Imaging.Tests.Support;
using Sdpm.Imaging.Volumes;
using static Sdpm.Cli.Tests.CliTestHost;

namespace Sdpm.Cli.Tests;

public class CliAppTests
{
    [Fact]
    public void SynthWritesACohortWithAManifest()
    {
        using var dir = new TempDir();
        var r = Run("synth", "--out", dir.Path, "--cases", "3", "--sites", "2", "--seed", "5", "--lesion", "infarct", "--size", "128", "--slices", "8");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("wrote 3 cases", r.Out);
        var manifest = CohortManifest.Read(dir.Path);
        Assert.Equal(3, manifest.Count);
        Assert.All(manifest, e => Assert.True(File.Exists(Path.Combine(dir.Path, e.Image)) && File.Exists(Path.Combine(dir.Path, e.Mask))));
        Assert.All(manifest, e => Assert.Equal(new Dims(128, 128, 8), e.Dims));
        Assert.All(manifest, e => Assert.NotEqual(LesionType.Hemorrhage, e.Lesion));
    }

    [Fact]
    public void SynthMakesAWideCohortWithAGivenFieldOfViewAndSliceThickness()
    {
        using var dir = new TempDir();
        var r = Run("synth", "--out", dir.Path, "--cases", "2", "--sites", "1", "--seed", "5", "--variation", "wide", "--size", "160",
            "--fov", "180", "--slice-mm", "3", "--slices", "4");
        Assert.Equal(0, r.ExitCode);
        Assert.All(CohortManifest.Read(dir.Path), e =>
        {
            Assert.Equal(new Dims(160, 160, 4), e.Dims);
            Assert.Equal(180.0 / 160, e.Spacing.X, 3);
            Assert.Equal(3.0, e.Spacing.Z, 3);
        });
        AssertOneLineError(Run("synth", "--out", dir.File("x"), "--cases", "1", "--sites", "1", "--seed", "1", "--variation", "odd"), 2, "--variation must be standard or wide");
        AssertOneLineError(Run("synth", "--out", dir.File("y"), "--cases", "1", "--sites", "1", "--seed", "1", "--fov", "90"), 2, "--fov must be 150..400 mm");
    }

    [Fact]
    public void SynthIsDeterministic()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        string[] args = ["--cases", "2", "--sites", "1", "--seed", "77", "--size", "128", "--slices", "4"];
        Assert.Equal(0, Run(["synth", "--out", a.Path, .. args]).ExitCode);
        Assert.Equal(0, Run(["synth", "--out", b.Path, .. args]).ExitCode);
        Assert.Equal(File.ReadAllBytes(Path.Combine(a.Path, "manifest.csv")), File.ReadAllBytes(Path.Combine(b.Path, "manifest.csv")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(a.Path, "images", "case0002.nii.gz")), File.ReadAllBytes(Path.Combine(b.Path, "images", "case0002.nii.gz")));
    }

    [Theory]
    [InlineData("--size", "100", "--size must be 128, 160, 256 or 512")]
    [InlineData("--lesion", "tumour", "--lesion must be")]
    [InlineData("--cases", "zero", "--cases must be an integer")]
    public void SynthRefusesBadOptionsWithExitCode2(string option, string value, string message)
    {
        using var dir = new TempDir();
        var args = new List<string> { "synth", "--out", dir.File("out"), "--cases", "2", "--sites", "1", "--seed", "1" };
        var i = args.IndexOf(option);
        if (i >= 0) args[i + 1] = value; else args.AddRange([option, value]);
        AssertOneLineError(Run(args.ToArray()), 2, message);
        Assert.False(Directory.Exists(dir.File("out")));
    }

    [Fact]
    public void MissingRequiredOptionAndUnknownOptionAreUsageErrors()
    {
        AssertOneLineError(Run("synth", "--cases", "2", "--sites", "1", "--seed", "1"), 2, "--out is required");
        AssertOneLineError(Run("inspect", "x.nii", "--jsn"), 2, "unknown option --jsn");
        AssertOneLineError(Run("frobnicate"), 2, "unknown command");
        AssertOneLineError(Run(), 2, "no command");
    }

    [Fact]
    public void InspectJsonHasTheDocumentedKeys()
    {
        using var dir = new TempDir();
        var v = new Volume<short>(new Dims(4, 3, 2), Affine.FromRows([0.5, 0, 0, 0, 0, 0.6, 0, 0, 0, 0, 5, 0])); // RAS grid
        for (var i = 0; i < v.Voxels.Length; i++) v.Voxels[i] = (short)(i * 10 - 100);
        NiftiWriter.Write(dir.File("case.nii.gz"), v);
        var r = Run("inspect", dir.File("case.nii.gz"), "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Out);
        var j = doc.RootElement;
        Assert.Equal("nifti-1", j.GetProperty("format").GetString());
        Assert.Equal([4, 3, 2], j.GetProperty("dims").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([0.5, 0.6, 5.0], j.GetProperty("spacing").EnumerateArray().Select(e => Math.Round(e.GetDouble(), 4)));
        Assert.Equal("int16", j.GetProperty("datatype").GetString());
        Assert.Equal(-100, j.GetProperty("min").GetDouble());
        Assert.Equal(130, j.GetProperty("max").GetDouble());
        Assert.Equal(v.Voxels.Average(x => (double)x), j.GetProperty("mean").GetDouble(), 9);
        Assert.Equal(v.Voxels.Sum(x => (double)x), j.GetProperty("sum").GetDouble());
        Assert.Equal(0, j.GetProperty("phi").GetArrayLength());
        Assert.Equal("RAS", j.GetProperty("orientation").GetString());
    }

    [Fact]
    public void InspectReportsDicomFindingsWithoutTheirValues()
    {
        using var dir = new TempDir();
        DicomTestWriter.WriteSeries(dir.Path, DicomTestWriter.Axial(3, tweak: (_, s) => s with
        {
            Extra = new() { [(0x0010, 0x0010)] = ("PN", "Doe^Jane"), [(0x0008, 0x0080)] = ("LO", "General Hospital") },
        }));
        var r = Run("inspect", dir.Path, "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Out);
        var phi = doc.RootElement.GetProperty("phi").EnumerateArray().ToList();
        Assert.Contains(phi, p => p.GetProperty("tag").GetString() == "(0010,0010)" && p.GetProperty("name").GetString() == "PatientName");
        Assert.Contains(phi, p => p.GetProperty("name").GetString() == "InstitutionName");
        Assert.DoesNotContain("Doe", r.Out);
        Assert.DoesNotContain("General Hospital", r.Out);
        Assert.Equal("dicom", doc.RootElement.GetProperty("format").GetString());
        Assert.Equal(2.5, doc.RootElement.GetProperty("spacing")[2].GetDouble(), 6);

        var text = Run("inspect", dir.Path);
        Assert.Equal(0, text.ExitCode);
        Assert.Contains("PatientName", text.Out);
        Assert.Contains("2 finding(s)", text.Out);
    }

    [Fact]
    public void BadInputGivesOneLineAndExitCode1()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("cut.nii"), new byte[100]);
        AssertOneLineError(Run("inspect", dir.File("cut.nii")), 1, "cut.nii");
        AssertOneLineError(Run("inspect", dir.Dir("empty")), 1, "empty");
        AssertOneLineError(Run("inspect", dir.File("missing.nii.gz")), 1, "no such file");
        AssertOneLineError(Run("convert", dir.File("cut.nii"), dir.File("out.nii.gz")), 1, "cut.nii");
        Assert.False(File.Exists(dir.File("out.nii.gz")));
    }

    [Fact]
    public void ConvertWritesCanonicalHuNifti()
    {
        using var dir = new TempDir();
        // A prone patient (both in-plane axes flipped) in DICOM: the output must be canonical.
        DicomTestWriter.WriteSeries(dir.Dir("dcm"), DicomTestWriter.Axial(3, tweak: (_, s) => s with { Orientation = [-1, 0, 0, 0, -1, 0] }));
        var r = Run("convert", dir.File("dcm"), dir.File("out.nii.gz"));
        Assert.Equal(0, r.ExitCode);
        var image = NiftiReader.Read(dir.File("out.nii.gz"));
        Assert.Equal(NiftiDataType.Int16, image.Header.DataType);
        Assert.Equal("LPS", Orientation.AxisCodes(image.Affine));
        Assert.Equal(1000 + 100 * 2 + 10 * 3 + 4 - 1024, image.ToInt16()[0, 0, 2]);
        AssertOneLineError(Run("convert", dir.File("dcm"), dir.File("out.png")), 2, "must end in .nii");
    }

    [Fact]
    public void ConvertsAPngStackWithItsMask()
    {
        using var dir = new TempDir();
        var image = dir.Dir("image/case1");
        var mask = dir.Dir("mask/case1");
        for (var k = 1; k <= 3; k++)
        {
            File.WriteAllBytes(Path.Combine(image, $"{k}.png"), PngEncoder.EncodeGray8(Enumerable.Repeat((byte)(k * 50), 12).ToArray(), 4, 3));
            var m = new byte[12];
            m[k] = 255;
            File.WriteAllBytes(Path.Combine(mask, $"{k}.png"), PngEncoder.EncodeGray8(m, 4, 3));
        }
        var r = Run("convert", image, dir.File("ct.nii.gz"), "--mask-out", dir.File("mask.nii.gz"), "--window", "40,80", "--spacing", "0.5,0.5,5");
        Assert.Equal(0, r.ExitCode);
        var ct = NiftiReader.Read(dir.File("ct.nii.gz"));
        Assert.Equal(new Spacing(0.5, 0.5, 5), ct.Affine.VoxelSizes());
        Assert.Equal((short)Math.Round(0 + 100 * 80 / 255.0), ct.ToInt16()[0, 0, 1]);
        Assert.Equal(3, NiftiReader.Read(dir.File("mask.nii.gz")).ToMask().Voxels.Sum(b => b));
    }

    [Fact]
    public void RenderWritesAPng()
    {
        using var dir = new TempDir();
        Assert.Equal(0, Run("synth", "--out", dir.Path, "--cases", "1", "--sites", "1", "--seed", "3", "--size", "128", "--slices", "6").ExitCode);
        var r = Run("render", Path.Combine(dir.Path, "images", "case0001.nii.gz"), "--out", dir.File("s.png"), "--preset", "stroke",
            "--mask", Path.Combine(dir.Path, "masks", "case0001.nii.gz"));
        Assert.Equal(0, r.ExitCode);
        var png = PngDecoder.Decode(File.ReadAllBytes(dir.File("s.png")));
        Assert.Equal((128, 128, 3), (png.Width, png.Height, png.Channels));
    }

    [Fact]
    public void BenchImagingReportsFigures()
    {
        var r = Run("bench-imaging", "--json", "--runs", "1");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Out);
        Assert.True(doc.RootElement.GetProperty("read_ms_median").GetDouble() > 0);
        Assert.True(doc.RootElement.GetProperty("png_ms_median").GetDouble() > 0);
        Assert.True(doc.RootElement.GetProperty("file_bytes").GetInt64() > 1_000_000);
        Assert.True(doc.RootElement.GetProperty("store_slice_ms_median").GetDouble() > 0);
    }

    [Fact]
    public void RenderRefusesAMaskFromAnotherGridWithTheSameDims()
    {
        using var dir = new TempDir();
        Assert.Equal(0, Run("synth", "--out", dir.Path, "--cases", "1", "--sites", "1", "--seed", "3", "--size", "128", "--slices", "6").ExitCode);
        var image = NiftiReader.ReadHu(Path.Combine(dir.Path, "images", "case0001.nii.gz"));
        var shifted = new Volume<byte>(image.Dims, Affine.Canonical(image.Spacing, 50, 50, 50));
        NiftiWriter.Write(dir.File("other.nii.gz"), shifted);
        var r = Run("render", Path.Combine(dir.Path, "images", "case0001.nii.gz"), "--out", dir.File("s.png"), "--mask", dir.File("other.nii.gz"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("grid", r.Error);
        Assert.False(File.Exists(dir.File("s.png")));
    }

    [Theory]
    [InlineData("--max-bytes", "18446744073709551615")]
    [InlineData("--max-bytes", "0")]
    [InlineData("--max-voxels", "-5")]
    [InlineData("--max-voxels", "9223372036854775808")]
    public void LimitOptionsOutOfRangeAreUsageErrors(string option, string value)
    {
        using var dir = new TempDir();
        NiftiWriter.Write(dir.File("x.nii.gz"), new Volume<short>(new Dims(4, 4, 4), Affine.Identity));
        var r = Run("inspect", dir.File("x.nii.gz"), option, value);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(option, r.Error);
    }

    [Fact]
    public void HelpListsTheVerbs()
    {
        var r = Run("--help");
        Assert.Equal(0, r.ExitCode);
        foreach (var verb in new[] { "synth", "inspect", "convert", "bench-imaging" }) Assert.Contains(verb, r.Out);
        Assert.Equal(0, Run("synth", "--help").ExitCode);
    }
}

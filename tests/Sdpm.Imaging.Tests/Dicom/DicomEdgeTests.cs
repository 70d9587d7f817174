using Sdpm.Imaging.Dicom;
using Sdpm.Imaging.Import;
using Sdpm.Imaging.Tests.Support;

namespace Sdpm.Imaging.Tests.Dicom;

/// <summary>Padding, missing or mixed pixel spacing, and dcm2niix process control.</summary>
public class DicomEdgeTests
{
    [Fact]
    public void PaddedPixelsBecomeAir()
    {
        using var dir = new TempDir();
        DicomTestWriter.WriteSeries(dir.Path, DicomTestWriter.Axial(2, tweak: (k, s) =>
        {
            var px = (short[])s.Pixels!.Clone();
            px[0] = -2000; // padding: would be -3024 HU with the intercept
            return s with { Pixels = px, Extra = new() { [(0x0028, 0x0120)] = ("SS", "-2000") } };
        }));
        var v = VolumeImporter.Open(dir.Path);
        Assert.Equal(-1024, v.Statistics.Min);
        Assert.Equal(-1024, v.Hu.Voxels.Min());
        Assert.Equal(2, v.Hu.Voxels.Count(x => x == -1024));
    }

    [Fact]
    public void MissingPixelSpacingIsStatedInTheNotes()
    {
        using var dir = new TempDir();
        DicomTestWriter.WriteSeries(dir.Path, DicomTestWriter.Axial(2, tweak: (k, s) => s with { PixelSpacing = [] }));
        var v = VolumeImporter.Open(dir.Path);
        Assert.Contains(v.Notes, n => n.Contains("PixelSpacing is missing", StringComparison.Ordinal));
    }

    [Fact]
    public void SlicesWithDifferentPixelSpacingAreRefused()
    {
        using var dir = new TempDir();
        DicomTestWriter.WriteSeries(dir.Path, DicomTestWriter.Axial(3, tweak: (k, s) => k == 2 ? s with { PixelSpacing = [0.9, 0.9] } : s));
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.Path));
        Assert.Equal(ImagingError.Inconsistent, e.Error);
        Assert.Contains("pixel spacing", e.Message);
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static string SlowTool(TempDir dir)
    {
        var path = dir.File("dcm2niix");
        File.WriteAllText(path, "#!/bin/sh\nsleep 30\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    [Fact]
    public void Dcm2NiixIsKilledOnCancellation()
    {
        if (OperatingSystem.IsWindows()) return;
        using var dir = new TempDir();
        var tool = SlowTool(dir);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        Assert.ThrowsAny<OperationCanceledException>(() => Dcm2Niix.Convert(tool, dir.Dir("in"), dir.Dir("out"), TimeSpan.FromMinutes(5), cts.Token));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"took {sw.Elapsed}");
    }

    [Fact]
    public void Dcm2NiixIsKilledAfterTheTimeout()
    {
        if (OperatingSystem.IsWindows()) return;
        using var dir = new TempDir();
        var tool = SlowTool(dir);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<ImagingException>(() => Dcm2Niix.Convert(tool, dir.Dir("in"), dir.Dir("out"), TimeSpan.FromMilliseconds(300)));
        Assert.Contains("did not finish", e.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"took {sw.Elapsed}");
    }
}

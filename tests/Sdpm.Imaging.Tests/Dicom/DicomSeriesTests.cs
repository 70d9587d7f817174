using System.IO.Compression;
using Sdpm.Imaging.Dicom;
using Sdpm.Imaging.Import;
using Sdpm.Imaging.Tests.Support;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Tests.Dicom;

public class DicomSeriesTests
{
    private static int Raw(int k, int r, int c) => 1000 + 100 * k + 10 * r + c;

    [Theory]
    [InlineData(DicomTestWriter.Implicit)]
    [InlineData(DicomTestWriter.Explicit)]
    [InlineData(DicomTestWriter.Deflated)]
    public void ReadsASeriesSortedByPositionWithSpacingFromPositions(string ts)
    {
        using var dir = new TempDir();
        // Files are written superior first, so file order and instance numbers disagree with the anatomy.
        DicomTestWriter.WriteSeries(dir.Path, DicomTestWriter.Axial(6, dz: 2.5, ts: ts).Reverse());
        var v = VolumeImporter.Open(dir.Path);
        Assert.Equal("dicom", v.Format);
        Assert.Equal("int16", v.Datatype);
        Assert.Equal(new Dims(5, 4, 6), v.Hu.Dims);
        Assert.Equal(0.6, v.Hu.Spacing.X, 9); // column spacing: PixelSpacing[1]
        Assert.Equal(0.7, v.Hu.Spacing.Y, 9); // row spacing: PixelSpacing[0]
        Assert.Equal(2.5, v.Hu.Spacing.Z, 9); // from positions, not SliceThickness (9.9)
        Assert.Equal("LPS", v.SourceOrientation);
        for (var k = 0; k < 6; k++)
            for (var r = 0; r < 4; r++)
                for (var c = 0; c < 5; c++)
                    Assert.Equal(Raw(k, r, c) - 1024, v.Hu[c, r, k]);
        // Voxel (0,0,0) sits at the first position, converted from DICOM LPS to NIfTI RAS.
        var p = v.Hu.Affine.Transform(0, 0, 0);
        Assert.Equal((10.0, 20.0, -30.0), (Math.Round(p.X, 9), Math.Round(p.Y, 9), Math.Round(p.Z, 9)));
        Assert.Equal(v.Hu.Voxels.Min(), v.Statistics.Min);
        Assert.Equal(v.Hu.Voxels.Sum(x => (double)x), v.Statistics.Sum);
    }

    [Fact]
    public void RotatedPatientIsReorientedToCanonical()
    {
        using var dir = new TempDir();
        // Rows run to the patient's right and columns to anterior (patient lying prone): both in-plane axes flipped.
        DicomTestWriter.WriteSeries(dir.Path, DicomTestWriter.Axial(3, tweak: (_, s) => s with { Orientation = [-1, 0, 0, 0, -1, 0] }));
        var v = VolumeImporter.Open(dir.Path);
        Assert.Equal("RAS", v.SourceOrientation);
        Assert.Equal("LPS", Orientation.AxisCodes(v.Hu.Affine));
        for (var k = 0; k < 3; k++)
            Assert.Equal(Raw(k, 3, 4) - 1024, v.Hu[0, 0, k]); // the stored last row/column is now first
    }

    [Fact]
    public void AppliesRescaleAndBitsStored()
    {
        using var dir = new TempDir();
        DicomTestWriter.WriteSeries(dir.Path, DicomTestWriter.Axial(2, tweak: (_, s) => s with { Slope = 2, Intercept = -1000, BitsStored = 12, Signed = false }));
        var v = VolumeImporter.Open(dir.Path);
        Assert.Equal("uint16", v.Datatype);
        Assert.Equal(2 * Raw(1, 2, 3) - 1000, v.Hu[3, 2, 1]);
    }

    [Fact]
    public void ReadsAZipOfASeries()
    {
        using var dir = new TempDir();
        var series = DicomTestWriter.WriteSeries(dir.Dir("s"), DicomTestWriter.Axial(4));
        var zip = dir.File("series.zip");
        using (var z = ZipFile.Open(zip, ZipArchiveMode.Create))
            foreach (var f in series) z.CreateEntryFromFile(f, "study/series/" + Path.GetFileName(f));
        var v = VolumeImporter.Open(zip);
        Assert.Equal(new Dims(5, 4, 4), v.Hu.Dims);
        Assert.Equal(Raw(3, 1, 1) - 1024, v.Hu[1, 1, 3]);
    }

    [Fact]
    public void ReadsASingleFile()
    {
        using var dir = new TempDir();
        var files = DicomTestWriter.WriteSeries(dir.Path, DicomTestWriter.Axial(1));
        var v = VolumeImporter.Open(files[0]);
        Assert.Equal(new Dims(5, 4, 1), v.Hu.Dims);
        Assert.Equal(9.9, v.Hu.Spacing.Z, 9); // one slice: only SliceThickness can say
    }

    [Fact]
    public void MixedSeriesAreRefused()
    {
        using var dir = new TempDir();
        DicomTestWriter.WriteSeries(dir.Path, DicomTestWriter.Axial(4, tweak: (k, s) => k < 2 ? s : s with { SeriesUid = "1.2.3.999" }));
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.Path));
        Assert.Equal(ImagingError.Inconsistent, e.Error);
        Assert.Contains("mixes 2 DICOM series", e.Message);
    }

    [Fact]
    public void UnevenSpacingIsRefused()
    {
        using var dir = new TempDir();
        DicomTestWriter.WriteSeries(dir.Path, DicomTestWriter.Axial(5, tweak: (k, s) => k == 4 ? s with { Position = [-10, -20, -30 + 3 * 2.5 + 5] } : s));
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.Path));
        Assert.Contains("Uneven slice spacing", e.Message);
    }

    [Fact]
    public void DuplicatePositionsAreRefused()
    {
        using var dir = new TempDir();
        DicomTestWriter.WriteSeries(dir.Path, DicomTestWriter.Axial(4, tweak: (k, s) => k == 3 ? s with { Position = [-10, -20, -30] } : s));
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.Path));
        Assert.Contains("share the position", e.Message);
    }

    [Fact]
    public void GantryTiltIsRefused()
    {
        using var dir = new TempDir();
        // Axial images whose positions also move anteriorly: a sheared (tilted-gantry) volume.
        DicomTestWriter.WriteSeries(dir.Path, DicomTestWriter.Axial(5, tweak: (k, s) => s with { Position = [-10, -20 + 0.5 * k, -30 + 2.5 * k] }));
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.Path));
        Assert.Equal(ImagingError.Unsupported, e.Error);
        Assert.Contains("Gantry tilt", e.Message);
    }

    [Fact]
    public void ADicomFileThatIsNotAnImageIsRefused()
    {
        using var dir = new TempDir();
        var p = dir.File("report.dcm");
        File.WriteAllBytes(p, DicomTestWriter.Write(new CtSlice { IncludePixels = false, SopClassUid = "1.2.840.10008.5.1.4.1.1.88.11" }));
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(p));
        Assert.Equal(ImagingError.NoImage, e.Error);
        Assert.StartsWith("Not an image", e.Message);
    }

    [Fact]
    public void NonImageObjectsBesideASeriesAreIgnored()
    {
        using var dir = new TempDir();
        DicomTestWriter.WriteSeries(dir.Path, DicomTestWriter.Axial(3));
        File.WriteAllBytes(dir.File("zz_report.dcm"), DicomTestWriter.Write(new CtSlice { IncludePixels = false }));
        Assert.Equal(3, VolumeImporter.Open(dir.Path).Hu.Dims.Z);
    }

    [Fact]
    public void TruncatedDicomIsRefused()
    {
        using var dir = new TempDir();
        var bytes = DicomTestWriter.Write(DicomTestWriter.Axial(1).First());
        File.WriteAllBytes(dir.File("cut.dcm"), bytes[..(bytes.Length - 15)]);
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.File("cut.dcm")));
        Assert.Equal(ImagingError.Truncated, e.Error);
    }

    [Fact]
    public void CompressedSyntaxWithoutDcm2NiixIsRefusedNamingTheSyntax()
    {
        using var dir = new TempDir();
        DicomTestWriter.WriteSeries(dir.Path, DicomTestWriter.Axial(2, ts: "1.2.840.10008.1.2.4.50"));
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.Path, options: new ImportOptions(Dcm2NiixPath: "")));
        Assert.Equal(ImagingError.Unsupported, e.Error);
        Assert.Contains("JPEG Baseline (1.2.840.10008.1.2.4.50)", e.Message);
        Assert.Contains("dcm2niix is not installed", e.Message);
    }
}

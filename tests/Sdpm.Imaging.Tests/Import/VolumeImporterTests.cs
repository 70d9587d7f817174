using System.IO.Compression;
using Sdpm.Imaging.Import;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Tests.Dicom;
using Sdpm.Imaging.Tests.Support;

namespace Sdpm.Imaging.Tests.Import;

public class VolumeImporterTests
{
    [Fact]
    public void EmptyFolderIsRefused()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.Dir("empty")));
        Assert.Equal(ImagingError.NoImage, e.Error);
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void FolderWithoutImagesIsRefused()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("readme.txt"), "hello");
        Assert.Equal(ImagingError.NoImage, Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.Path)).Error);
    }

    [Fact]
    public void MissingPathIsRefused()
    {
        Assert.Equal(ImagingError.NotFound, Assert.Throws<ImagingException>(() => VolumeImporter.Open("/nonexistent/x.nii.gz")).Error);
    }

    [Fact]
    public void ZipEntryWithParentSegmentsIsRefusedAndNothingIsWrittenOutside()
    {
        using var dir = new TempDir();
        var zip = dir.File("evil.zip");
        var slice = DicomTestWriter.Write(DicomTestWriter.Axial(1).First());
        using (var z = ZipFile.Open(zip, ZipArchiveMode.Create))
        {
            using (var s = z.CreateEntry("series/0001.dcm").Open()) s.Write(slice);
            using (var s = z.CreateEntry("../../evil.dcm").Open()) s.Write(slice);
        }
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(zip));
        Assert.Equal(ImagingError.UnsafePath, e.Error);
        Assert.Contains("../../evil.dcm", e.Message);

        var target = Path.Combine(dir.Path, "a", "b");
        Assert.Throws<ImagingException>(() => SafeZip.ExtractTo(zip, target));
        Assert.False(Directory.Exists(target), "nothing may be extracted");
        Assert.False(File.Exists(Path.Combine(dir.Path, "evil.dcm")));
        Assert.False(File.Exists(Path.Combine(dir.Path, "a", "evil.dcm")));
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("C:/windows/x.dcm")]
    [InlineData("a/../../b")]
    [InlineData("..\\x")]
    public void UnsafeEntryNamesAreDetected(string name) => Assert.False(SafeZip.IsSafeName(name));

    [Fact]
    public void SafeZipExtractsNormalArchives()
    {
        using var dir = new TempDir();
        var zip = dir.File("ok.zip");
        using (var z = ZipFile.Open(zip, ZipArchiveMode.Create))
            using (var s = z.CreateEntry("x/y.txt").Open()) s.Write("hi"u8);
        var written = SafeZip.ExtractTo(zip, dir.Dir("out"));
        Assert.Equal("hi", File.ReadAllText(Assert.Single(written)));
    }

    [Fact]
    public void ZipBombIsRefused()
    {
        using var dir = new TempDir();
        var zip = dir.File("bomb.zip");
        using (var z = ZipFile.Open(zip, ZipArchiveMode.Create))
            using (var s = z.CreateEntry("zeros.dcm", CompressionLevel.Optimal).Open()) s.Write(new byte[30_000_000]);
        Assert.True(new FileInfo(zip).Length < 200_000);
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(zip, new ImportLimits(MaxBytes: 5_000_000)));
        Assert.Equal(ImagingError.TooLarge, e.Error);
    }

    [Fact]
    public void EmptyFileIsRefused()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("empty.nii.gz"), []);
        Assert.Equal(ImagingError.Truncated, Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.File("empty.nii.gz"))).Error);
    }

    [Fact]
    public void DetectsNiftiByContentNotByName()
    {
        using var dir = new TempDir();
        NiftiWriter.Write(dir.File("scan.nii.gz"), TestVolumes.Ramp());
        File.Move(dir.File("scan.nii.gz"), dir.File("upload.bin"));
        var v = VolumeImporter.Open(dir.File("upload.bin"));
        Assert.Equal("nifti-1", v.Format);
        Assert.Equal(TestVolumes.Ramp().Voxels, v.Hu.Voxels);
        Assert.Equal(-500, v.Statistics.Min);
    }
}

using System.Buffers.Binary;
using System.IO.Compression;
using Sdpm.Imaging.Import;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Tests.Support;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Tests.Nifti;

/// <summary>One test per kind of bad NIfTI input: each is refused with a clear ImagingException.</summary>
public class NiftiBadInputTests
{
    private static byte[] ValidNifti(Dims dims)
    {
        var v = new Volume<short>(dims, Affine.Canonical(new Spacing(1, 1, 1)));
        using var ms = new MemoryStream();
        NiftiWriter.Write(ms, v, gzip: false);
        return ms.ToArray();
    }

    private static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    [Fact]
    public void TruncatedHeaderIsRefused()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("cut.nii"), ValidNifti(new Dims(4, 4, 4))[..200]);
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.File("cut.nii")));
        Assert.Equal(ImagingError.Truncated, e.Error);
        Assert.Contains("header", e.Message);
    }

    [Fact]
    public void TruncatedGzipIsRefused()
    {
        using var dir = new TempDir();
        var gz = Gzip(ValidNifti(new Dims(64, 64, 8)));
        File.WriteAllBytes(dir.File("cut.nii.gz"), gz[..(gz.Length / 2)]);
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.File("cut.nii.gz")));
        Assert.Equal(ImagingError.Truncated, e.Error);
        Assert.Contains("cut.nii.gz", e.Message);
    }

    [Fact]
    public void WrongMagicIsRefused()
    {
        using var dir = new TempDir();
        var bytes = ValidNifti(new Dims(4, 4, 4));
        "xyz\0"u8.CopyTo(bytes.AsSpan(344));
        File.WriteAllBytes(dir.File("magic.nii"), bytes);
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.File("magic.nii")));
        Assert.Equal(ImagingError.UnknownFormat, e.Error);
        Assert.Contains("magic", e.Message);
    }

    [Fact]
    public void UnknownFileSignatureIsRefused()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("notes.nii"), "this is not an image at all, just text");
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.File("notes.nii")));
        Assert.Equal(ImagingError.UnknownFormat, e.Error);
    }

    [Fact]
    public void GzipThatInflatesPastTheLimitIsRefused()
    {
        using var dir = new TempDir();
        // A valid header announcing 256x256x400 int16 (52 MB of zeros, ~50 kB compressed); the limit is 8 MB.
        File.WriteAllBytes(dir.File("bomb.nii.gz"), Gzip(ValidNifti(new Dims(256, 256, 400))));
        Assert.True(new FileInfo(dir.File("bomb.nii.gz")).Length < 1_000_000);
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.File("bomb.nii.gz"), new ImportLimits(MaxBytes: 8_000_000)));
        Assert.Equal(ImagingError.TooLarge, e.Error);
        Assert.Contains("limit", e.Message);
    }

    [Fact]
    public void DimsThatNeedMoreBytesThanTheFileHasAreRefusedAsTruncated()
    {
        using var dir = new TempDir();
        var bytes = ValidNifti(new Dims(8, 8, 4));
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(40 + 2 * 3), 40); // dim[3]: 4 -> 40
        File.WriteAllBytes(dir.File("dims.nii"), bytes);
        File.WriteAllBytes(dir.File("dims.nii.gz"), Gzip(bytes));
        foreach (var name in new[] { "dims.nii", "dims.nii.gz" })
        {
            var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.File(name)));
            Assert.Equal(ImagingError.Truncated, e.Error); // a cut file and a file whose dims are too large look the same
            Assert.Contains("8x8x40", e.Message);
        }
    }

    [Fact]
    public void AbsurdDimsAreRefusedBeforeAllocating()
    {
        using var dir = new TempDir();
        var bytes = ValidNifti(new Dims(4, 4, 4));
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(40 + 2), 30000);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(40 + 4), 30000);
        File.WriteAllBytes(dir.File("absurd.nii"), bytes);
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.File("absurd.nii")));
        Assert.Equal(ImagingError.TooLarge, e.Error);

        // The limit is configurable.
        var small = ValidNifti(new Dims(64, 64, 4));
        File.WriteAllBytes(dir.File("small.nii"), small);
        Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.File("small.nii"), new ImportLimits(MaxDimPerAxis: 32)));
        Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.File("small.nii"), new ImportLimits(MaxVoxels: 1000)));
        Assert.Equal(64, VolumeImporter.Open(dir.File("small.nii")).Hu.Dims.X);
    }

    [Fact]
    public void NegativeDimsAreRefused()
    {
        using var dir = new TempDir();
        var bytes = ValidNifti(new Dims(4, 4, 4));
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(42), -4);
        File.WriteAllBytes(dir.File("neg.nii"), bytes);
        Assert.Equal(ImagingError.Inconsistent, Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.File("neg.nii"))).Error);
    }

    [Fact]
    public void InfinityInFloatDataIsRefused()
    {
        using var dir = new TempDir();
        var v = new Volume<float>(new Dims(3, 3, 3), Affine.Identity);
        using (var fs = File.Create(dir.File("inf.nii"))) NiftiWriter.Write(fs, v, gzip: false);
        var bytes = File.ReadAllBytes(dir.File("inf.nii"));
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(352 + 4 * 5), float.PositiveInfinity);
        File.WriteAllBytes(dir.File("inf.nii"), bytes);
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.File("inf.nii")));
        Assert.Equal(ImagingError.InvalidValues, e.Error);
        Assert.Contains("voxel 5", e.Message);
    }

    [Fact]
    public void UnsupportedDatatypeIsRefused()
    {
        using var dir = new TempDir();
        var bytes = ValidNifti(new Dims(4, 4, 4));
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(70), 128); // RGB24
        File.WriteAllBytes(dir.File("rgb.nii"), bytes);
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.File("rgb.nii")));
        Assert.Equal(ImagingError.Unsupported, e.Error);
        Assert.Contains("datatype 128", e.Message);
    }

    [Fact]
    public void WriterRefusesNaN()
    {
        using var dir = new TempDir();
        var v = new Volume<float>(new Dims(2, 2, 2), Affine.Identity);
        v.Voxels[3] = float.NaN;
        Assert.Throws<ImagingException>(() => NiftiWriter.Write(dir.File("nan.nii.gz"), v));
        Assert.Empty(Directory.GetFiles(dir.Path));
    }
}

using System.Buffers.Binary;
using System.IO.Compression;
using Sdpm.Imaging.Import;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Tests.Dicom;
using Sdpm.Imaging.Tests.Support;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Tests.Import;

/// <summary>Limits hold before memory is spent: lying headers, bombs, and corrupt archives.</summary>
public class LimitsTests
{
    [Fact]
    public void ATinyGzipClaimingAHugeVolumeFailsAsTruncatedWithoutAllocatingIt()
    {
        using var dir = new TempDir();
        var v = new Volume<short>(new Dims(4, 4, 4), Affine.Canonical(new Spacing(1, 1, 1)));
        using var ms = new MemoryStream();
        NiftiWriter.Write(ms, v, gzip: false);
        var bytes = ms.ToArray();
        short[] dim = [3, 4096, 4096, 17]; // 570 MB of int16 announced, 128 bytes present
        for (var i = 0; i < 4; i++) BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(40 + 2 * i), dim[i]);
        using (var gz = new GZipStream(File.Create(dir.File("liar.nii.gz")), CompressionLevel.Fastest)) gz.Write(bytes);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.File("liar.nii.gz")));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(ImagingError.Truncated, e.Error);
        Assert.True(allocated < 64L << 20, $"allocated {allocated} bytes for a 128-byte payload");
    }

    [Fact]
    public void AZipEntryWhoseHeadersUnderstateItsSizeNeverYieldsMoreThanTheLimit()
    {
        using var dir = new TempDir();
        var zip = dir.File("liar.zip");
        using (var z = ZipFile.Open(zip, ZipArchiveMode.Create))
            using (var s = z.CreateEntry("zeros.dcm", CompressionLevel.Optimal).Open()) s.Write(new byte[20_000_000]);
        // Patch the uncompressed size in the local header and the central directory down to 1000 bytes.
        var bytes = File.ReadAllBytes(zip);
        Patch(bytes, [0x50, 0x4b, 0x03, 0x04], 22);
        Patch(bytes, [0x50, 0x4b, 0x01, 0x02], 24);
        File.WriteAllBytes(zip, bytes);

        // Depending on the runtime, the entry stream stops at the declared size or inflates on; either way at most
        // the limit comes out, and memory stays near it.
        var before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            var items = SafeZip.ReadAll(zip, new ImportLimits(MaxBytes: 2_000_000));
            Assert.True(items.Sum(i => i.Bytes.LongLength) <= 2_000_000);
        }
        catch (ImagingException e)
        {
            Assert.Contains(e.Error, new[] { ImagingError.TooLarge, ImagingError.Inconsistent });
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 16L << 20, $"allocated {allocated} bytes");
        Assert.Throws<ImagingException>(() => VolumeImporter.Open(zip, new ImportLimits(MaxBytes: 2_000_000)));

        static void Patch(byte[] b, byte[] signature, int offset)
        {
            var at = b.AsSpan().IndexOf(signature);
            Assert.True(at >= 0);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at + offset), 1000);
        }
    }

    [Fact]
    public void ADeflatedDicomThatInflatesPastTheLimitIsRefused()
    {
        using var dir = new TempDir();
        // 1024 x 1024 int16 zeros: 2 MB inflated, a few kB deflated.
        var slice = new CtSlice { TransferSyntax = DicomTestWriter.Deflated, Rows = 1024, Columns = 1024 };
        File.WriteAllBytes(dir.File("big.dcm"), DicomTestWriter.Write(slice));
        Assert.True(new FileInfo(dir.File("big.dcm")).Length < 100_000);
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.Path, new ImportLimits(MaxBytes: 1_000_000)));
        Assert.Equal(ImagingError.TooLarge, e.Error);
        Assert.Equal(1024, VolumeImporter.Open(dir.Path).Hu.Dims.X);
    }

    [Fact]
    public void TheInflatedBytesOfAllFilesCountAgainstTheLimit()
    {
        using var dir = new TempDir();
        // Each file inflates to ~0.5 MB; three together pass a 1.2 MB limit that each alone fits.
        DicomTestWriter.WriteSeries(dir.Path, DicomTestWriter.Axial(3, ts: DicomTestWriter.Deflated,
            tweak: (k, s) => s with { Rows = 512, Columns = 512, Pixels = null }));
        Assert.True(Directory.GetFiles(dir.Path).Sum(f => new FileInfo(f).Length) < 100_000);
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.Path, new ImportLimits(MaxBytes: 1_200_000)));
        Assert.Equal(ImagingError.TooLarge, e.Error);
    }

    [Fact]
    public void TheVoxelLimitIsCheckedFromTheFirstSliceBeforeTheOthersAreDecoded()
    {
        using var dir = new TempDir();
        var paths = DicomTestWriter.WriteSeries(dir.Path, DicomTestWriter.Axial(3));
        // The second file is cut short: decoding it would fail as truncated.
        File.WriteAllBytes(paths[1], File.ReadAllBytes(paths[1])[..200]);
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.Path, new ImportLimits(MaxVoxels: 2 * 4 * 5)));
        Assert.Equal(ImagingError.TooLarge, e.Error);
        Assert.Equal(ImagingError.Truncated, Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.Path)).Error);
    }

    [Fact]
    public void ACorruptSecondEntryIsAnImagingErrorAndNothingIsExtracted()
    {
        using var dir = new TempDir();
        var zip = dir.File("corrupt.zip");
        using (var z = ZipFile.Open(zip, ZipArchiveMode.Create))
        {
            using (var s = z.CreateEntry("a/first.txt").Open()) s.Write("first"u8);
            using (var s = z.CreateEntry("a/second.txt").Open()) s.Write("second"u8);
        }
        // Compression method 99 (AES) on the second entry, in its local header and in the central directory.
        var bytes = File.ReadAllBytes(zip);
        SetMethod(bytes, [0x50, 0x4b, 0x03, 0x04], 8);
        SetMethod(bytes, [0x50, 0x4b, 0x01, 0x02], 10);
        File.WriteAllBytes(zip, bytes);

        var e = Assert.Throws<ImagingException>(() => SafeZip.ReadAll(zip));
        Assert.Contains("second.txt", e.Message);
        var target = Path.Combine(dir.Path, "out");
        Assert.Throws<ImagingException>(() => SafeZip.ExtractTo(zip, target));
        Assert.False(Directory.Exists(target), "nothing may be extracted");
        Assert.Single(Directory.GetFileSystemEntries(dir.Path)); // no temporary folder left behind
        Assert.Throws<ImagingException>(() => VolumeImporter.Open(zip));

        static void SetMethod(byte[] b, byte[] signature, int offset)
        {
            var first = b.AsSpan().IndexOf(signature);
            var second = first + 4 + b.AsSpan(first + 4).IndexOf(signature);
            Assert.True(second > first);
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(second + offset), 99);
        }
    }

    [Fact]
    public void ACorruptCentralDirectoryIsAnImagingError()
    {
        using var dir = new TempDir();
        var zip = dir.File("cd.zip");
        using (var z = ZipFile.Open(zip, ZipArchiveMode.Create))
            using (var s = z.CreateEntry("x.txt").Open()) s.Write("x"u8);
        var bytes = File.ReadAllBytes(zip);
        var cd = bytes.AsSpan().IndexOf((ReadOnlySpan<byte>)[0x50, 0x4b, 0x01, 0x02]);
        bytes[cd + 1] = 0; // break the central directory signature
        File.WriteAllBytes(zip, bytes);
        Assert.Throws<ImagingException>(() => SafeZip.ReadAll(zip));
        Assert.Throws<ImagingException>(() => VolumeImporter.Open(zip));
    }

    [Fact]
    public void UploadsAsNonSeekableStreamsAreImportedUnderTheirFileName()
    {
        using var dir = new TempDir();
        NiftiWriter.Write(dir.File("scan.nii.gz"), TestVolumes.Ramp());
        using var upload = new ForwardOnlyStream(File.ReadAllBytes(dir.File("scan.nii.gz")));
        var v = VolumeImporter.Open(upload, "patient_0042.nii.gz");
        Assert.Equal(TestVolumes.Ramp().Voxels, v.Hu.Voxels);
        Assert.Contains(v.Findings, f => f.Tag == "filename");
        using var big = new ForwardOnlyStream(new byte[10_000]);
        Assert.Equal(ImagingError.TooLarge, Assert.Throws<ImagingException>(() => VolumeImporter.Open(big, "x.nii", new ImportLimits(MaxBytes: 5000))).Error);
    }

    private sealed class ForwardOnlyStream(byte[] data) : Stream
    {
        private readonly MemoryStream _inner = new(data);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 1000));
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

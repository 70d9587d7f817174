using System.IO.Compression;
using Sdpm.Imaging;
using Sdpm.Imaging.Volumes;
using Sdpm.Storage.Tests.Support;

namespace Sdpm.Storage.Tests;

public sealed class MaskBlobsTests : IDisposable
{
    private static readonly Dims Grid = new(256, 256, 20);

    private readonly TempStore temp = new();

    private FileSystemBlobStore Store => temp.Store;

    public void Dispose() => temp.Dispose();

    private static Volume<byte> Lesion() => TestVolumes.Sphere(Grid, cx: 140, cy: 97, cz: 9, radius: 7);

    [Fact]
    public async Task AMaskRoundTripsOntoItsGrid()
    {
        var mask = Lesion();
        Assert.True(mask.Voxels.Count(v => v == 1) > 1000); // the test has a real lesion to lose

        var blob = await Store.PutMaskAsync(mask);
        var read = Store.ReadMask(blob.Hash, mask.Geometry);

        Assert.Equal(mask.Dims, read.Dims);
        Assert.Equal(mask.Affine, read.Affine);
        Assert.Equal(mask.Voxels, read.Voxels);
    }

    [Fact]
    public async Task ASparseMaskIsStoredCompressedInFarFewerBytesThanItsVoxels()
    {
        var blob = await Store.PutMaskAsync(Lesion());

        Assert.True(blob.Length < Grid.VoxelCount / 100, $"{blob.Length} bytes for {Grid.VoxelCount} voxels");
        var stored = File.ReadAllBytes(temp.PathOf(blob.Hash));
        Assert.Equal(stored.Length, blob.Length);
        Assert.Equal(new byte[] { 0x1f, 0x8b }, stored[..2]); // gzip
    }

    [Fact]
    public async Task TheRunLengthBytesAreTheGunzippedBlobAndStartWithSrleAndTheDims()
    {
        var blob = await Store.PutMaskAsync(Lesion());

        var rle = Store.ReadMaskRunLength(blob.Hash);

        using var gunzipped = new MemoryStream();
        using (var gzip = new GZipStream(File.OpenRead(temp.PathOf(blob.Hash)), CompressionMode.Decompress)) gzip.CopyTo(gunzipped);
        Assert.Equal(gunzipped.ToArray(), rle);
        Assert.Equal("SRLE"u8.ToArray(), rle[..4]);
        // Version 1, then X = 256 and Y = 256 as LEB128 (0x80 0x02) and Z = 20.
        Assert.Equal(new byte[] { 1, 0x80, 0x02, 0x80, 0x02, 20 }, rle[4..10]);
    }

    [Fact]
    public async Task AnEmptyMaskRoundTrips()
    {
        var empty = new Volume<byte>(new Dims(64, 48, 5), Affine.Identity);

        var blob = await Store.PutMaskAsync(empty);

        Assert.All(Store.ReadMask(blob.Hash, empty.Geometry).Voxels, v => Assert.Equal(0, v));
    }

    [Fact]
    public async Task AMaskWithAFullSliceAndForegroundAtBothEndsRoundTrips()
    {
        var mask = new Volume<byte>(new Dims(7, 5, 3), Affine.Identity);
        mask.Slice(1).Fill(1);
        mask[0, 0, 0] = 1;
        mask[6, 4, 2] = 1;

        var blob = await Store.PutMaskAsync(mask);

        Assert.Equal(mask.Voxels, Store.ReadMask(blob.Hash, mask.Geometry).Voxels);
    }

    [Fact]
    public async Task TheSameMaskTwiceIsOneBlob()
    {
        var a = await Store.PutMaskAsync(Lesion());
        var b = await Store.PutMaskAsync(Lesion());
        var other = Lesion();
        other[0, 0, 0] = 1;
        var c = await Store.PutMaskAsync(other);

        Assert.Equal(a.Hash, b.Hash);
        Assert.NotEqual(a.Hash, c.Hash);
        Assert.Equal(2, Store.List().Count());
    }

    [Fact]
    public async Task AMaskReadOntoAGridOfOtherDimsIsAnImagingError()
    {
        var blob = await Store.PutMaskAsync(Lesion());

        var e = Assert.Throws<ImagingException>(() => Store.ReadMask(blob.Hash, new VolumeGeometry(new Dims(256, 256, 21), Affine.Identity)));

        Assert.Equal(ImagingError.Inconsistent, e.Error);
    }

    public static TheoryData<string> CorruptMasks => ["random bytes", "gzip header then garbage", "gzip of a truncated mask", "first half of a mask blob", "no bytes",
        "gzip of a mask with a byte after it", "gzip of a mask with a slice one pixel short"];

    [Theory]
    [MemberData(nameof(CorruptMasks))]
    public async Task ACorruptMaskBlobIsAnImagingErrorNotARawInvalidData(string kind)
    {
        var hash = (await Store.PutAsync(new MemoryStream(await Corrupt(kind)))).Hash;

        var read = Record.Exception(() => Store.ReadMask(hash, Lesion().Geometry));

        Assert.IsType<ImagingException>(read);
    }

    [Theory]
    [MemberData(nameof(CorruptMasks))]
    public async Task ACorruptMaskBlobIsAnImagingErrorFromReadMaskRunLength(string kind)
    {
        var hash = (await Store.PutAsync(new MemoryStream(await Corrupt(kind)))).Hash;

        var e = Assert.Throws<ImagingException>(() => Store.ReadMaskRunLength(hash));

        Assert.Equal(ImagingError.Inconsistent, e.Error);
        Assert.Contains(hash, e.Message);
    }

    [Fact]
    public async Task AGzippedBlobThatIsNotARunLengthMaskIsAnImagingError()
    {
        var blob = await Store.PutAsync(new MemoryStream(Gzip(TempStore.RandomBytes(500, seed: 40))));

        Assert.Throws<ImagingException>(() => Store.ReadMaskRunLength(blob.Hash));
        Assert.Throws<ImagingException>(() => Store.ReadMask(blob.Hash, Lesion().Geometry));
    }

    private async Task<byte[]> Corrupt(string kind)
    {
        switch (kind)
        {
            case "random bytes":
                var random = TempStore.RandomBytes(2000, seed: 41);
                random[0] = 0x42; // not the gzip magic
                return random;
            case "gzip header then garbage":
                return [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, .. TempStore.RandomBytes(2000, seed: 42)];
            case "no bytes":
                return [];
            case "first half of a mask blob":
                var stored = File.ReadAllBytes(temp.PathOf((await Store.PutMaskAsync(Lesion())).Hash));
                return stored[..(stored.Length / 2)];
            case "gzip of a mask with a byte after it":
                return Gzip([.. RunLength(Lesion()), 0]);
            case "gzip of a mask with a slice one pixel short":
                // 4x4x1, one slice of runs 3 (background) and 12 (foreground): 15 of 16 pixels.
                return Gzip([.. "SRLE"u8, 1, 4, 4, 1, 2, 3, 12]);
            default:
                var rle = RunLength(Lesion());
                return Gzip(rle[..(rle.Length / 2)]);
        }
    }

    private static byte[] RunLength(Volume<byte> mask) => Sdpm.Imaging.Masks.RunLengthMask.Encode(mask);

    private static byte[] Gzip(byte[] bytes)
    {
        using var ms = new MemoryStream();
        using (var gzip = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true)) gzip.Write(bytes);
        return ms.ToArray();
    }
}

using System.Buffers.Binary;
using System.Security.Cryptography;
using Sdpm.Imaging;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Volumes;
using Sdpm.Storage.Tests.Support;

namespace Sdpm.Storage.Tests;

public sealed class VolumeBlobsTests : IDisposable
{
    private readonly TempStore temp = new();

    private FileSystemBlobStore Store => temp.Store;

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task ReadSliceGivesTheVoxelsOfThatSliceOfTheVolumeWritten()
    {
        var volume = TestVolumes.Ct();
        var blob = await Store.PutVolumeAsync(volume);

        foreach (var z in new[] { 0, 1, 3, 5 })
        {
            var slice = new short[37 * 23];
            var header = Store.ReadSlice<short>(blob.Hash, z, slice);

            Assert.Equal(volume.Slice(z).ToArray(), slice);
            Assert.Equal(new Dims(37, 23, 6), header.Dims);
        }
    }

    [Fact]
    public async Task SliceZLiesAtOffset256PlusZTimesXTimesYTimesTwoOfTheBlobFile()
    {
        const int X = 37, Y = 23, Z = 6;
        var volume = TestVolumes.Ct(X, Y, Z, seed: 2);
        var blob = await Store.PutVolumeAsync(volume);
        var path = temp.PathOf(blob.Hash);

        Assert.Equal(256 + X * Y * Z * 2, new FileInfo(path).Length);
        Assert.Equal(new FileInfo(path).Length, blob.Length);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read);
        var header = new byte[256];
        file.ReadExactly(header);
        Assert.Equal("SDPMVOL\0"u8.ToArray(), header[..8]);
        Assert.Equal(4, BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(12))); // NIfTI int16
        Assert.Equal([X, Y, Z], [BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(16)),
            BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(20)), BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(24))]);
        foreach (var z in new[] { 4, 0, 5 })
        {
            file.Seek(256 + (long)z * X * Y * 2, SeekOrigin.Begin);
            var raw = new byte[X * Y * 2];
            file.ReadExactly(raw);
            var expected = new short[X * Y];
            var actual = new short[X * Y];
            for (var y = 0; y < Y; y++)
                for (var x = 0; x < X; x++)
                {
                    expected[x + X * y] = volume[x, y, z];
                    actual[x + X * y] = BinaryPrimitives.ReadInt16LittleEndian(raw.AsSpan(2 * (x + X * y)));
                }
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public async Task TheVolumeHashIsTheSha256OfTheStoredFile()
    {
        var blob = await Store.PutVolumeAsync(TestVolumes.Ct(seed: 3));

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(temp.PathOf(blob.Hash)))), blob.Hash);
    }

    [Fact]
    public async Task HashOfPredictsTheBlobNameWithoutWritingAnything()
    {
        var volume = TestVolumes.Ct(seed: 8);

        var predicted = VolumeBlobs.HashOf(volume);
        var listedBefore = Store.List().Count();
        var blob = await Store.PutVolumeAsync(volume);

        Assert.Equal(0, listedBefore);
        Assert.Equal(blob.Hash, predicted);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(temp.PathOf(blob.Hash)))), predicted);
    }

    [Fact]
    public async Task ReadVolumeRoundTripsVoxelsAndAffineExactly()
    {
        var volume = TestVolumes.Ct(19, 31, 4, seed: 4, rows: TestVolumes.ObliqueRows);
        var blob = await Store.PutVolumeAsync(volume);

        var read = Store.ReadVolume<short>(blob.Hash);

        Assert.Equal(volume.Dims, read.Dims);
        Assert.Equal(volume.Voxels, read.Voxels);
        for (var r = 0; r < 3; r++)
            for (var c = 0; c < 4; c++) Assert.Equal(TestVolumes.ObliqueRows[4 * r + c], read.Affine[r, c]);
    }

    [Fact]
    public async Task ReadVolumeHeaderGivesDimsSpacingAffineAndType()
    {
        var blob = await Store.PutVolumeAsync(TestVolumes.Ct(seed: 5));

        var header = Store.ReadVolumeHeader(blob.Hash);

        Assert.Equal(new Dims(37, 23, 6), header.Dims);
        Assert.Equal(new Spacing(0.75, 0.5, 2.5), header.Spacing);
        Assert.Equal(Affine.FromRows(TestVolumes.SimpleRows), header.Affine);
        Assert.Equal(NiftiDataType.Int16, header.DataType);
        Assert.Equal(37 * 23 * 2, header.SliceBytes);
    }

    [Fact]
    public async Task TheSameVoxelsGiveTheSameHashAndOneChangedVoxelAnother()
    {
        var a = await Store.PutVolumeAsync(TestVolumes.Ct(seed: 6));
        var same = await Store.PutVolumeAsync(TestVolumes.Ct(seed: 6));
        var changed = TestVolumes.Ct(seed: 6);
        changed[36, 22, 5]++;
        var b = await Store.PutVolumeAsync(changed);

        Assert.Equal(a.Hash, same.Hash);
        Assert.NotEqual(a.Hash, b.Hash);
        Assert.Equal(2, Store.List().Count());
    }

    [Fact]
    public async Task TheSameVoxelsOnAnotherGridGiveAnotherHash()
    {
        var a = await Store.PutVolumeAsync(TestVolumes.Ct(seed: 7));
        var b = await Store.PutVolumeAsync(TestVolumes.Ct(seed: 7, rows: TestVolumes.ObliqueRows));

        Assert.NotEqual(a.Hash, b.Hash);
    }

    [Fact]
    public async Task FloatAndByteVolumesRoundTrip()
    {
        var probabilities = new Volume<float>(new Dims(5, 4, 3), Affine.Identity);
        var mask = new Volume<byte>(new Dims(5, 4, 3), Affine.Identity);
        for (var i = 0; i < 60; i++)
        {
            probabilities.Voxels[i] = i / 59f;
            mask.Voxels[i] = (byte)(i % 3 == 0 ? 1 : 0);
        }

        var p = await Store.PutVolumeAsync(probabilities);
        var m = await Store.PutVolumeAsync(mask);

        Assert.Equal(probabilities.Voxels, Store.ReadVolume<float>(p.Hash).Voxels);
        Assert.Equal(mask.Voxels, Store.ReadVolume<byte>(m.Hash).Voxels);
        Assert.Equal(NiftiDataType.Float32, Store.ReadVolumeHeader(p.Hash).DataType);
        Assert.Equal(NiftiDataType.UInt8, Store.ReadVolumeHeader(m.Hash).DataType);
    }

    [Fact]
    public async Task AVolumeOfAnotherVoxelTypeReadAsShortIsAnImagingError()
    {
        var blob = await Store.PutVolumeAsync(new Volume<float>(new Dims(4, 4, 2), Affine.Identity));

        var slice = Assert.Throws<ImagingException>(() => Store.ReadSlice<short>(blob.Hash, 0, new short[16]));
        var whole = Assert.Throws<ImagingException>(() => Store.ReadVolume<short>(blob.Hash));

        Assert.Equal(ImagingError.Inconsistent, slice.Error);
        Assert.Equal(ImagingError.Inconsistent, whole.Error);
    }

    [Fact]
    public async Task ABlobThatIsNotAVolumeIsAnImagingError()
    {
        var garbage = await Store.PutAsync(new MemoryStream(TempStore.RandomBytes(1000, seed: 8)));
        var tiny = await Store.PutAsync(new MemoryStream([1, 2, 3]));

        Assert.Equal(ImagingError.UnknownFormat, Assert.Throws<ImagingException>(() => Store.ReadVolumeHeader(garbage.Hash)).Error);
        Assert.Equal(ImagingError.Truncated, Assert.Throws<ImagingException>(() => Store.ReadVolumeHeader(tiny.Hash)).Error);
    }

    [Fact]
    public async Task ATruncatedVolumeBlobServesItsWholeSlicesAndRefusesTheRest()
    {
        var volume = TestVolumes.Ct(seed: 9);
        var full = await Store.PutVolumeAsync(volume);
        var bytes = File.ReadAllBytes(temp.PathOf(full.Hash));
        var cut = await Store.PutAsync(new MemoryStream(bytes[..(256 + 2 * 37 * 23 * 2 + 10)]));

        var slice = new short[37 * 23];
        Store.ReadSlice<short>(cut.Hash, 1, slice);
        Assert.Equal(volume.Slice(1).ToArray(), slice);
        Assert.Equal(ImagingError.Truncated, Assert.Throws<ImagingException>(() => Store.ReadSlice<short>(cut.Hash, 2, slice)).Error);
        Assert.Throws<ImagingException>(() => Store.ReadVolume<short>(cut.Hash));
    }

    [Fact]
    public async Task ASliceOutsideTheVolumeOrADestinationOfTheWrongSizeIsRefused()
    {
        var blob = await Store.PutVolumeAsync(TestVolumes.Ct(seed: 10));

        Assert.Throws<ArgumentOutOfRangeException>(() => Store.ReadSlice<short>(blob.Hash, 6, new short[37 * 23]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Store.ReadSlice<short>(blob.Hash, -1, new short[37 * 23]));
        Assert.Throws<ArgumentException>(() => Store.ReadSlice<short>(blob.Hash, 0, new short[23 * 23]));
    }

    [Fact]
    public void AMissingVolumeIsBlobNotFound() =>
        Assert.Throws<BlobNotFoundException>(() => Store.ReadSlice<short>(new string('a', 64), 0, new short[1]));
}

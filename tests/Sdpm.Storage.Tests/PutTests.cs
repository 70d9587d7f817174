using System.Security.Cryptography;
using System.Text;
using Sdpm.Storage.Tests.Support;

namespace Sdpm.Storage.Tests;

public sealed class PutTests : IDisposable
{
    private readonly TempStore temp = new();

    private FileSystemBlobStore Store => temp.Store;

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task APutReturnsTheLowerCaseSha256AndTheLengthOfTheContent()
    {
        // Larger than the store's 64 KiB copy buffer, so the hash is fed in several pieces.
        var bytes = TempStore.RandomBytes(300_001, seed: 1);
        var expected = Convert.ToHexStringLower(SHA256.HashData(bytes));

        var blob = await Store.PutAsync(new MemoryStream(bytes));

        Assert.Equal(expected, blob.Hash);
        Assert.Equal(bytes.Length, blob.Length);
        Assert.Equal(TempStore.Start, blob.WrittenAt);
    }

    [Fact]
    public async Task TheHashOfAbcIsTheStandardTestVector()
    {
        var blob = await Store.PutAsync(new MemoryStream("abc"u8.ToArray()));

        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", blob.Hash);
        Assert.Equal(3, blob.Length);
    }

    [Fact]
    public async Task EmptyContentIsStoredUnderTheHashOfNoBytes()
    {
        var blob = await Store.PutAsync(new MemoryStream());

        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", blob.Hash);
        Assert.Equal(0, blob.Length);
        Assert.Empty(File.ReadAllBytes(temp.PathOf(blob.Hash)));
    }

    [Fact]
    public async Task TheBlobLiesUnderTwoFanOutFoldersNamedByTheFirstFourHexDigits()
    {
        var bytes = TempStore.RandomBytes(5000, seed: 2);
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));

        await Store.PutAsync(new MemoryStream(bytes));

        var path = Path.Combine(temp.Root, hash[..2], hash[2..4], hash);
        Assert.True(File.Exists(path), $"expected {path}");
        Assert.Equal(bytes, File.ReadAllBytes(path));
        Assert.Empty(temp.TempFiles());
    }

    [Fact]
    public async Task ReadingABlobBackGivesTheSameBytes()
    {
        var bytes = TempStore.RandomBytes(200_000, seed: 3);
        var blob = await Store.PutAsync(new MemoryStream(bytes));

        using var read = Store.OpenRead(blob.Hash);
        using var copy = new MemoryStream();
        read.CopyTo(copy);

        Assert.Equal(bytes, copy.ToArray());
    }

    [Fact]
    public async Task OpenReadGivesASeekableStream()
    {
        var bytes = TempStore.RandomBytes(100_000, seed: 4);
        var blob = await Store.PutAsync(new MemoryStream(bytes));

        using var read = Store.OpenRead(blob.Hash);
        Assert.True(read.CanSeek);
        Assert.Equal(bytes.Length, read.Length);
        var part = new byte[16];
        foreach (var offset in new[] { 70_000, 12, 99_984 })
        {
            read.Seek(offset, SeekOrigin.Begin);
            read.ReadExactly(part);
            Assert.Equal(bytes.AsSpan(offset, 16).ToArray(), part);
        }
    }

    [Fact]
    public async Task AWriteDelegateIsHashedOverEverythingItWritesWhicheverWriteMethodItUses()
    {
        var expected = new MemoryStream();
        var blob = await Store.PutAsync(async (stream, ct) =>
        {
            foreach (var s in new[] { stream, (Stream)expected })
            {
                s.WriteByte(7);
                s.Write(Encoding.ASCII.GetBytes("sync array"), 0, 10);
                s.Write("sync span"u8);
                await s.WriteAsync(TempStore.RandomBytes(70_000, seed: 5), ct);
                await s.WriteAsync(Encoding.ASCII.GetBytes("async array"), 0, 11, ct);
            }
        });

        var bytes = expected.ToArray();
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), blob.Hash);
        Assert.Equal(bytes.Length, blob.Length);
        Assert.Equal(bytes, File.ReadAllBytes(temp.PathOf(blob.Hash)));
    }

    [Fact]
    public async Task ASecondPutOfTheSameContentStoresOneBlob()
    {
        var bytes = TempStore.RandomBytes(10_000, seed: 6);

        var first = await Store.PutAsync(new MemoryStream(bytes));
        var second = await Store.PutAsync(new MemoryStream(bytes));

        Assert.Equal(first.Hash, second.Hash);
        Assert.Equal(first.Length, second.Length);
        var listed = Assert.Single(Store.List());
        Assert.Equal(first.Hash, listed.Hash);
        Assert.Single(Directory.GetFiles(temp.Root, "*", SearchOption.AllDirectories));
        Assert.Empty(temp.TempFiles());
    }

    [Fact]
    public async Task ASecondPutOfTheSameContentRefreshesItsWriteTimeToNow()
    {
        var bytes = TempStore.RandomBytes(10_000, seed: 7);
        await Store.PutAsync(new MemoryStream(bytes));
        temp.Time.Advance(TimeSpan.FromDays(3));
        var later = TempStore.Start.AddDays(3);

        var second = await Store.PutAsync(new MemoryStream(bytes));

        Assert.Equal(later, second.WrittenAt);
        Assert.Equal(later, Store.Find(second.Hash)!.WrittenAt);
        Assert.Equal(later.UtcDateTime, File.GetLastWriteTimeUtc(temp.PathOf(second.Hash)));
    }

    [Fact]
    public async Task DifferentContentsAreDifferentBlobs()
    {
        var a = await Store.PutAsync(new MemoryStream([1, 2, 3]));
        var b = await Store.PutAsync(new MemoryStream([1, 2, 4]));

        Assert.NotEqual(a.Hash, b.Hash);
        Assert.Equal(new[] { a.Hash, b.Hash }.Order(), Store.List().Select(x => x.Hash).Order());
        Assert.Equal(new byte[] { 1, 2, 4 }, File.ReadAllBytes(temp.PathOf(b.Hash)));
    }

    [Fact]
    public async Task FindGivesTheLengthAndWriteTimeOfAStoredBlob()
    {
        temp.Time.Advance(TimeSpan.FromMinutes(5));
        var blob = await Store.PutAsync(new MemoryStream(new byte[1234]));

        var found = Store.Find(blob.Hash);

        Assert.Equal(new BlobInfo(blob.Hash, 1234, TempStore.Start.AddMinutes(5)), found);
    }

    [Fact]
    public async Task ANewStoreOnAnExistingFolderSeesItsBlobs()
    {
        var blob = await Store.PutAsync(new MemoryStream([9, 8, 7]));

        var reopened = new FileSystemBlobStore(temp.Root, temp.Time);

        Assert.Equal(blob, Assert.Single(reopened.List()));
        using var read = reopened.OpenRead(blob.Hash);
        Assert.Equal(3, read.Length);
    }
}

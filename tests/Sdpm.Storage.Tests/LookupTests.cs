using Sdpm.Storage.Tests.Support;

namespace Sdpm.Storage.Tests;

/// <summary>Hash checks, missing blobs and listing.</summary>
public sealed class LookupTests : IDisposable
{
    private const string Absent = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    private readonly TempStore temp = new();

    private FileSystemBlobStore Store => temp.Store;

    public void Dispose() => temp.Dispose();

    public static TheoryData<string> InvalidHashes => new()
    {
        "../etc/passwd",
        Absent.ToUpperInvariant(),
        Absent[..63],
        Absent + "0",
        "",
        Absent[..63] + "g",
        // 64 characters that would climb out of the root if they were used as a path.
        string.Concat(Enumerable.Repeat("../", 21)) + "a",
        "01/23/456789abcdef0123456789abcdef0123456789abcdef0123456789abcd",
    };

    [Theory]
    [MemberData(nameof(InvalidHashes))]
    public void OpenReadRefusesAnInvalidHash(string hash) =>
        Assert.Equal("hash", Assert.Throws<ArgumentException>(() => Store.OpenRead(hash)).ParamName);

    [Theory]
    [MemberData(nameof(InvalidHashes))]
    public void FindRefusesAnInvalidHash(string hash) =>
        Assert.Throws<ArgumentException>(() => Store.Find(hash));

    [Theory]
    [MemberData(nameof(InvalidHashes))]
    public void DeleteRefusesAnInvalidHash(string hash) =>
        Assert.Throws<ArgumentException>(() => Store.Delete(hash));

    [Theory]
    [MemberData(nameof(InvalidHashes))]
    public void DeleteIfWrittenBeforeRefusesAnInvalidHash(string hash) =>
        Assert.Throws<ArgumentException>(() => Store.DeleteIfWrittenBefore(hash, DateTimeOffset.MaxValue));

    [Fact]
    public async Task TheUpperCaseSpellingOfAStoredHashIsRefusedNotFound()
    {
        var blob = await Store.PutAsync(new MemoryStream([1, 2, 3]));

        Assert.Throws<ArgumentException>(() => Store.OpenRead(blob.Hash.ToUpperInvariant()));
        Assert.Throws<ArgumentException>(() => Store.Delete(blob.Hash.ToUpperInvariant()));
        Assert.NotNull(Store.Find(blob.Hash));
    }

    [Fact]
    public void OpenReadOfAMissingBlobThrowsBlobNotFound()
    {
        var e = Assert.Throws<BlobNotFoundException>(() => Store.OpenRead(Absent));

        Assert.Equal(Absent, e.Hash);
    }

    [Fact]
    public async Task OpenReadOfAMissingBlobWhoseFanOutFolderExistsThrowsBlobNotFound()
    {
        var blob = await Store.PutAsync(new MemoryStream([1, 2, 3]));
        var sibling = blob.Hash[..4] + new string('0', 60);
        if (sibling == blob.Hash) sibling = blob.Hash[..4] + new string('1', 60);

        Assert.Throws<BlobNotFoundException>(() => Store.OpenRead(sibling));
    }

    [Fact]
    public void FindOfAMissingBlobIsNull() => Assert.Null(Store.Find(Absent));

    [Fact]
    public void DeletingAMissingBlobReturnsFalse()
    {
        Assert.False(Store.Delete(Absent));
        Assert.False(Store.DeleteIfWrittenBefore(Absent, DateTimeOffset.MaxValue));
    }

    [Fact]
    public void AnEmptyStoreListsNothing() => Assert.Empty(Store.List());

    [Fact]
    public async Task ListGivesEveryBlobWithItsLengthAndTime()
    {
        var a = await Store.PutAsync(new MemoryStream(new byte[10]));
        temp.Time.Advance(TimeSpan.FromHours(1));
        var b = await Store.PutAsync(new MemoryStream(new byte[20]));
        temp.Time.Advance(TimeSpan.FromHours(1));
        var c = await Store.PutAsync(new MemoryStream(new byte[30]));

        var listed = Store.List().OrderBy(x => x.Length).ToList();

        Assert.Equal(
        [
            new BlobInfo(a.Hash, 10, TempStore.Start),
            new BlobInfo(b.Hash, 20, TempStore.Start.AddHours(1)),
            new BlobInfo(c.Hash, 30, TempStore.Start.AddHours(2)),
        ], listed);
    }

    [Fact]
    public async Task ListSkipsTemporaryFilesAndStrayFiles()
    {
        var a = await Store.PutAsync(new MemoryStream([1]));
        var b = await Store.PutAsync(new MemoryStream([2]));
        var folder = Path.GetDirectoryName(temp.PathOf(a.Hash))!;
        // A write in flight (even one whose temporary name looks like a hash), and files that are not blobs.
        temp.CreateTempFile(Absent, DateTimeOffset.UtcNow);
        temp.CreateTempFile(Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow);
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "x");
        File.WriteAllText(Path.Combine(folder, a.Hash + ".part"), "x");
        File.WriteAllText(Path.Combine(folder, a.Hash.ToUpperInvariant()), "x");
        File.WriteAllText(Path.Combine(folder, a.Hash[..63]), "x");
        File.WriteAllText(Path.Combine(temp.Root, Absent), "x");
        File.WriteAllText(Path.Combine(temp.Root, "README"), "x");
        Directory.CreateDirectory(Path.Combine(temp.Root, "zz"));

        Assert.Equal(new[] { a.Hash, b.Hash }.Order(), Store.List().Select(x => x.Hash).Order());
    }
}

using Sdpm.Storage.Tests.Support;

namespace Sdpm.Storage.Tests;

public sealed class BlobSweeperTests : IDisposable
{
    private static readonly TimeSpan Grace = TimeSpan.FromHours(2);

    private readonly TempStore temp = new();

    private FileSystemBlobStore Store => temp.Store;

    private BlobSweeper Sweeper => new(Store, temp.Time);

    public void Dispose() => temp.Dispose();

    private static Func<CancellationToken, Task<IReadOnlySet<string>>> References(params string[] hashes) =>
        _ => Task.FromResult<IReadOnlySet<string>>(hashes.ToHashSet());

    private Task<BlobInfo> Put(int length, int seed) => Store.PutAsync(new MemoryStream(TempStore.RandomBytes(length, seed)));

    [Fact]
    public async Task AnUnreferencedBlobOlderThanTheGracePeriodIsDeleted()
    {
        var blob = await Put(1000, seed: 20);
        temp.Time.Advance(Grace + TimeSpan.FromSeconds(1));

        var result = await Sweeper.SweepAsync(References(), Grace);

        Assert.Equal(1, result.Deleted);
        Assert.Equal(1000, result.BytesFreed);
        Assert.Equal(0, result.TempFilesDeleted);
        Assert.False(File.Exists(temp.PathOf(blob.Hash)));
        Assert.Empty(Store.List());
    }

    [Fact]
    public async Task TheResultCountsEveryDeletedBlobAndItsBytes()
    {
        var a = await Put(1000, seed: 21);
        var b = await Put(2345, seed: 22);
        var kept = await Put(777, seed: 23);
        temp.Time.Advance(TimeSpan.FromDays(1));

        var result = await Sweeper.SweepAsync(References(kept.Hash), Grace);

        Assert.Equal(2, result.Deleted);
        Assert.Equal(1000 + 2345, result.BytesFreed);
        Assert.Null(Store.Find(a.Hash));
        Assert.Null(Store.Find(b.Hash));
        Assert.Equal(kept, Assert.Single(Store.List()));
    }

    [Fact]
    public async Task AReferencedBlobIsNeverDeletedHoweverOld()
    {
        var blob = await Put(500, seed: 24);
        temp.Time.Advance(TimeSpan.FromDays(3650));

        var result = await Sweeper.SweepAsync(References(blob.Hash), Grace);
        var again = await Sweeper.SweepAsync(References(blob.Hash), TimeSpan.Zero);

        Assert.Equal(0, result.Deleted + again.Deleted);
        Assert.Equal(0, result.BytesFreed + again.BytesFreed);
        Assert.Equal(blob, Assert.Single(Store.List()));
    }

    [Fact]
    public async Task AnUnreferencedBlobYoungerThanTheGracePeriodIsKept()
    {
        var blob = await Put(500, seed: 25);
        temp.Time.Advance(Grace - TimeSpan.FromSeconds(1));

        var result = await Sweeper.SweepAsync(References(), Grace);

        Assert.Equal(0, result.Deleted);
        Assert.Equal(blob, Assert.Single(Store.List()));
    }

    [Fact]
    public async Task OnlyTheOldUnreferencedBlobsGoWhenOldYoungReferencedAndUnreferencedAreMixed()
    {
        var oldReferenced = await Put(100, seed: 26);
        var oldUnreferenced = await Put(200, seed: 27);
        temp.Time.Advance(TimeSpan.FromHours(3));
        var youngReferenced = await Put(300, seed: 28);
        var youngUnreferenced = await Put(400, seed: 29);
        temp.Time.Advance(TimeSpan.FromMinutes(30));

        var result = await Sweeper.SweepAsync(References(oldReferenced.Hash, youngReferenced.Hash), Grace);

        Assert.Equal(1, result.Deleted);
        Assert.Equal(200, result.BytesFreed);
        Assert.Equal(
            new[] { oldReferenced.Hash, youngReferenced.Hash, youngUnreferenced.Hash }.Order(),
            Store.List().Select(b => b.Hash).Order());
        Assert.Null(Store.Find(oldUnreferenced.Hash));
    }

    [Fact]
    public async Task ContentStoredAgainWhileTheReferencesAreReadIsKept()
    {
        var bytes = TempStore.RandomBytes(1000, seed: 30);
        var again = await Store.PutAsync(new MemoryStream(bytes));
        var gone = await Put(50, seed: 31);
        temp.Time.Advance(TimeSpan.FromDays(2));

        // The references are read after the store is listed: an import that stores the same content at that moment
        // (and has not committed its row yet) must not lose its blob.
        var result = await Sweeper.SweepAsync(async ct =>
        {
            await Store.PutAsync(new MemoryStream(bytes), ct);
            return new HashSet<string>();
        }, Grace);

        Assert.Equal(1, result.Deleted);
        Assert.Equal(50, result.BytesFreed);
        Assert.Null(Store.Find(gone.Hash));
        var kept = Store.Find(again.Hash);
        Assert.NotNull(kept);
        Assert.Equal(TempStore.Start.AddDays(2), kept.WrittenAt);
        Assert.Equal(bytes, File.ReadAllBytes(temp.PathOf(again.Hash)));
    }

    [Fact]
    public async Task OldTemporaryFilesAreRemovedAndYoungOnesKept()
    {
        temp.Time.Advance(TimeSpan.FromDays(1));
        var now = temp.Time.GetUtcNow();
        var old = temp.CreateTempFile("killed-write", now - Grace - TimeSpan.FromMinutes(1));
        var young = temp.CreateTempFile("write-in-flight", now - TimeSpan.FromMinutes(10));

        var result = await Sweeper.SweepAsync(References(), Grace);

        Assert.Equal(1, result.TempFilesDeleted);
        Assert.False(File.Exists(old));
        Assert.True(File.Exists(young));
    }

    [Fact]
    public async Task ACancelledSweepDeletesNothing()
    {
        var blob = await Put(100, seed: 32);
        temp.Time.Advance(TimeSpan.FromDays(1));
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Sweeper.SweepAsync(References(), Grace, cts.Token));

        Assert.Equal(blob, Assert.Single(Store.List()));
    }

    [Fact]
    public async Task ASweepOfAnEmptyStoreDoesNothing()
    {
        var result = await Sweeper.SweepAsync(References(), Grace);

        Assert.Equal(new SweepResult(0, 0, 0, 0), result);
    }
}

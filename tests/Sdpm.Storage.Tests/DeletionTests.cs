using Sdpm.Storage.Tests.Support;

namespace Sdpm.Storage.Tests;

/// <summary>Delete, DeleteIfWrittenBefore and DeleteTemporariesOlderThan.</summary>
public sealed class DeletionTests : IDisposable
{
    private readonly TempStore temp = new();

    private FileSystemBlobStore Store => temp.Store;

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task DeleteRemovesTheBlobOnce()
    {
        var keep = await Store.PutAsync(new MemoryStream([1]));
        var blob = await Store.PutAsync(new MemoryStream([2]));

        Assert.True(Store.Delete(blob.Hash));
        Assert.False(Store.Delete(blob.Hash));

        Assert.False(File.Exists(temp.PathOf(blob.Hash)));
        Assert.Null(Store.Find(blob.Hash));
        Assert.Throws<BlobNotFoundException>(() => Store.OpenRead(blob.Hash));
        Assert.Equal(keep, Assert.Single(Store.List()));
    }

    [Fact]
    public async Task DeleteIfWrittenBeforeKeepsABlobWrittenAfterTheCutoff()
    {
        var blob = await Store.PutAsync(new MemoryStream([1, 2, 3]));

        Assert.False(Store.DeleteIfWrittenBefore(blob.Hash, TempStore.Start.AddSeconds(-1)));
        Assert.True(File.Exists(temp.PathOf(blob.Hash)));
    }

    [Fact]
    public async Task DeleteIfWrittenBeforeKeepsABlobWrittenExactlyAtTheCutoff()
    {
        var blob = await Store.PutAsync(new MemoryStream([1, 2, 3]));

        Assert.False(Store.DeleteIfWrittenBefore(blob.Hash, TempStore.Start));
        Assert.NotNull(Store.Find(blob.Hash));
    }

    [Fact]
    public async Task DeleteIfWrittenBeforeDeletesABlobWrittenBeforeTheCutoff()
    {
        var blob = await Store.PutAsync(new MemoryStream([1, 2, 3]));

        Assert.True(Store.DeleteIfWrittenBefore(blob.Hash, TempStore.Start.AddSeconds(1)));

        Assert.False(File.Exists(temp.PathOf(blob.Hash)));
        Assert.Empty(Store.List());
    }

    [Fact]
    public async Task DeleteIfWrittenBeforeComparesInstantsNotClockReadings()
    {
        var blob = await Store.PutAsync(new MemoryStream([1, 2, 3]));
        var sameInstantElsewhere = TempStore.Start.ToOffset(TimeSpan.FromHours(5));
        var oneSecondLaterElsewhere = TempStore.Start.AddSeconds(1).ToOffset(TimeSpan.FromHours(-7));

        Assert.False(Store.DeleteIfWrittenBefore(blob.Hash, sameInstantElsewhere));
        Assert.True(Store.DeleteIfWrittenBefore(blob.Hash, oneSecondLaterElsewhere));
    }

    [Fact]
    public async Task APutAgainMovesABlobPastTheCutoff()
    {
        var bytes = new byte[] { 4, 5, 6 };
        var blob = await Store.PutAsync(new MemoryStream(bytes));
        temp.Time.Advance(TimeSpan.FromHours(3));
        await Store.PutAsync(new MemoryStream(bytes));

        Assert.False(Store.DeleteIfWrittenBefore(blob.Hash, TempStore.Start.AddHours(1)));
        Assert.NotNull(Store.Find(blob.Hash));
    }

    [Fact]
    public void DeleteTemporariesOlderThanDeletesOnlyOldTemporaryFiles()
    {
        var cutoff = new DateTimeOffset(2024, 6, 1, 12, 0, 0, TimeSpan.Zero);
        var old1 = temp.CreateTempFile("old1", cutoff.AddHours(-3));
        var old2 = temp.CreateTempFile("old2", cutoff.AddSeconds(-1));
        var atCutoff = temp.CreateTempFile("at", cutoff);
        var young = temp.CreateTempFile("young", cutoff.AddMinutes(10));

        Assert.Equal(2, Store.DeleteTemporariesOlderThan(cutoff));

        Assert.False(File.Exists(old1));
        Assert.False(File.Exists(old2));
        Assert.True(File.Exists(atCutoff));
        Assert.True(File.Exists(young));
    }

    [Fact]
    public async Task DeleteTemporariesOlderThanLeavesBlobsAlone()
    {
        var blob = await Store.PutAsync(new MemoryStream([1, 2, 3]));
        var old = temp.CreateTempFile("old", TempStore.Start.AddDays(-1));

        Assert.Equal(1, Store.DeleteTemporariesOlderThan(TempStore.Start.AddDays(1)));

        Assert.False(File.Exists(old));
        Assert.Equal(blob, Assert.Single(Store.List()));
    }

    [Fact]
    public void DeleteTemporariesOlderThanOnAnEmptyTemporaryFolderDeletesNothing() =>
        Assert.Equal(0, Store.DeleteTemporariesOlderThan(DateTimeOffset.MaxValue));
}

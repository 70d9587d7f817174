using System.Security.Cryptography;
using Sdpm.Storage.Tests.Support;

namespace Sdpm.Storage.Tests;

/// <summary>A write that fails or is cancelled leaves nothing behind: no blob, no temporary file.</summary>
public sealed class AtomicityTests : IDisposable
{
    private readonly TempStore temp = new();

    private FileSystemBlobStore Store => temp.Store;

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task ADiskThatFillsUpHalfWayLeavesNoBlobAndNoTemporaryFile()
    {
        var bytes = TempStore.RandomBytes(300_000, seed: 10);
        FailingStream? failing = null;
        string? tempPath = null;
        Store.WrapTempStream = file =>
        {
            tempPath = ((FileStream)file).Name;
            return failing = new FailingStream(file, limit: 100_000);
        };

        var e = await Assert.ThrowsAsync<IOException>(() => Store.PutAsync(new MemoryStream(bytes)));

        Assert.Equal("No space left on device.", e.Message);
        Assert.Equal(100_000, failing!.Written);
        Assert.StartsWith(Path.Combine(temp.Root, ".tmp"), tempPath);
        Assert.False(File.Exists(tempPath));
        AssertNothingStored();
    }

    [Fact]
    public async Task AfterAFailedWriteTheSameContentCanBeStoredWhole()
    {
        var bytes = TempStore.RandomBytes(300_000, seed: 11);
        Store.WrapTempStream = file => new FailingStream(file, limit: 150_000);
        await Assert.ThrowsAsync<IOException>(() => Store.PutAsync(new MemoryStream(bytes)));
        Store.WrapTempStream = null;

        var blob = await Store.PutAsync(new MemoryStream(bytes));

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), blob.Hash);
        Assert.Equal(bytes, File.ReadAllBytes(temp.PathOf(blob.Hash)));
        Assert.Single(Store.List());
        Assert.Empty(temp.TempFiles());
    }

    [Fact]
    public async Task AWriteDelegateThatThrowsLeavesNoBlobAndTheExceptionSurfaces()
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => Store.PutAsync(async (stream, ct) =>
        {
            await stream.WriteAsync(TempStore.RandomBytes(200_000, seed: 12), ct);
            throw new InvalidOperationException("the encoder failed");
        }));

        Assert.Equal("the encoder failed", e.Message);
        AssertNothingStored();
    }

    [Fact]
    public async Task AWriteCancelledHalfWayLeavesNoBlob()
    {
        using var cts = new CancellationTokenSource();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.PutAsync(async (stream, ct) =>
        {
            await stream.WriteAsync(TempStore.RandomBytes(100_000, seed: 13), ct);
            await cts.CancelAsync();
            await stream.WriteAsync(TempStore.RandomBytes(100_000, seed: 14), ct);
        }, cts.Token));

        AssertNothingStored();
    }

    [Fact]
    public async Task APutOfAStreamWithACancelledTokenLeavesNoBlob()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            Store.PutAsync(new MemoryStream(TempStore.RandomBytes(100_000, seed: 15)), cts.Token));

        AssertNothingStored();
    }

    [Fact]
    public async Task AFailedWriteOfContentAlreadyStoredLeavesTheStoredBlobIntact()
    {
        var bytes = TempStore.RandomBytes(300_000, seed: 16);
        var blob = await Store.PutAsync(new MemoryStream(bytes));
        temp.Time.Advance(TimeSpan.FromHours(1));
        Store.WrapTempStream = file => new FailingStream(file, limit: 1000);

        await Assert.ThrowsAsync<IOException>(() => Store.PutAsync(new MemoryStream(bytes)));

        Assert.Equal(blob, Assert.Single(Store.List()));
        Assert.Equal(bytes, File.ReadAllBytes(temp.PathOf(blob.Hash)));
        Assert.Empty(temp.TempFiles());
    }

    private void AssertNothingStored()
    {
        Assert.Empty(Store.List());
        Assert.Empty(temp.TempFiles());
        // Not even a fan-out folder: the only entry under the root is the temporary folder.
        Assert.Equal([Path.Combine(temp.Root, ".tmp")], Directory.GetFileSystemEntries(temp.Root));
    }
}

using System.Security.Cryptography;
using Sdpm.Storage.Tests.Support;

namespace Sdpm.Storage.Tests;

/// <summary>Clearing left-over temporary files must not break a write that is still going on.</summary>
public sealed class WriteInFlightTests : IDisposable
{
    private readonly TempStore temp = new();

    private FileSystemBlobStore Store => temp.Store;

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task TheTemporaryFileOfAStalledWriteIsNotDeletedHoweverOld()
    {
        var first = TempStore.RandomBytes(100_000, seed: 50);
        var second = TempStore.RandomBytes(50_000, seed: 51);
        var paused = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var put = Store.PutAsync(async (stream, ct) =>
        {
            await stream.WriteAsync(first, ct);
            paused.SetResult();
            await resume.Task;
            await stream.WriteAsync(second, ct);
        });
        await paused.Task;

        // The write has stalled for a day (a slow client, a long computation): its file looks like a left-over.
        var inFlight = Assert.Single(temp.TempFiles());
        File.SetLastWriteTimeUtc(inFlight, DateTime.UtcNow.AddDays(-1));
        var deleted = Store.DeleteTemporariesOlderThan(DateTimeOffset.UtcNow.AddHours(-2));
        resume.SetResult();
        var blob = await put;

        Assert.Equal(0, deleted);
        byte[] all = [.. first, .. second];
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(all)), blob.Hash);
        Assert.Equal(all, File.ReadAllBytes(temp.PathOf(blob.Hash)));
        Assert.Empty(temp.TempFiles());
    }

    [Fact]
    public async Task ALeftOverTemporaryFileNextToAWriteInFlightIsStillDeleted()
    {
        var leftOver = temp.CreateTempFile("killed", DateTimeOffset.UtcNow.AddDays(-1));
        var paused = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var put = Store.PutAsync(async (stream, ct) =>
        {
            await stream.WriteAsync(new byte[10], ct);
            paused.SetResult();
            await resume.Task;
        });
        await paused.Task;

        var deleted = Store.DeleteTemporariesOlderThan(DateTimeOffset.UtcNow.AddHours(-2));
        resume.SetResult();
        await put;

        Assert.Equal(1, deleted);
        Assert.False(File.Exists(leftOver));
    }
}

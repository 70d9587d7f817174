using Microsoft.EntityFrameworkCore;
using Sdpm.Storage;

namespace Sdpm.Portal.Tests.Cohorts;

/// <summary>A disk that fills up while a case is stored: the case is refused with a message an admin can act on,
/// nothing half-written is visible, and the same upload succeeds once there is room again.</summary>
public class FullDiskTests(CohortPortal portal) : IClassFixture<CohortPortal>
{
    [Fact]
    public async Task ACaseThatCannotBeStoredIsRefusedAndLeavesNothingVisible()
    {
        using var files = new TestCases();
        files.WriteNifti("disk", "full", TestCases.Case(2, seed: 41));
        var zip = files.Zip("disk", "disk.zip");
        var cohort = await portal.CreateCohortAsync("Full disk");
        var store = (FileSystemBlobStore)portal.Blobs;
        var before = portal.BlobNames();

        store.WrapTempStream = inner => new FullDisk(inner, 4096);
        (System.Net.HttpStatusCode Status, System.Text.Json.JsonElement Body) refused;
        try
        {
            refused = await portal.UploadAsync(cohort, zip);
        }
        finally
        {
            store.WrapTempStream = null;
        }
        var accepted = await portal.UploadAsync(cohort, zip);

        var row = refused.Body.GetProperty("cases")[0];
        Assert.Equal("refused", row.GetProperty("status").GetString());
        Assert.Contains("could not store this case", row.GetProperty("reason").GetString());
        Assert.Contains("No space left on device", row.GetProperty("reason").GetString());
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(store.Root, FileSystemBlobStore.TempFolderName)));
        Assert.Equal("imported", accepted.Body.GetProperty("cases")[0].GetProperty("status").GetString());
        Assert.Equal(1, await portal.DbAsync(db => db.Cases.CountAsync(c => c.CohortId == cohort)));
        Assert.Equal(3, portal.BlobNames().Except(before).Count()); // volume, mask, thumbnail: once
    }

    /// <summary>Accepts a number of bytes, then fails like a full file system.</summary>
    private sealed class FullDisk(Stream inner, long room) : Stream
    {
        private long written;

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (written + buffer.Length > room) throw new IOException("No space left on device");
            inner.Write(buffer);
            written += buffer.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override void Flush() => inner.Flush();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => written;
        public override long Position { get => written; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}

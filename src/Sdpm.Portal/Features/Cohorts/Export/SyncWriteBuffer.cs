namespace Sdpm.Portal.Features.Cohorts.Export;

/// <summary>
/// A write-only stream over a response body, which takes asynchronous writes only. <see cref="System.IO.Compression.ZipArchive"/>
/// writes an entry's data asynchronously (through <c>OpenAsync</c>), but some of its small records synchronously even then
/// (.NET 10 writes an entry's data descriptor in a synchronous dispose, and the central directory): those are kept in memory
/// and sent before the next asynchronous write, or by <see cref="FlushAsync(CancellationToken)"/>, which the writer calls
/// after each entry and at the end. So no thread blocks on the network, and what is held is a few hundred bytes per entry.
/// </summary>
internal sealed class SyncWriteBuffer(Stream inner) : Stream
{
    private readonly MemoryStream pending = new();
    private long written;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();

    /// <summary>Bytes written so far (ZipArchive asks, to record where entries start).</summary>
    public override long Position
    {
        get => written;
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        pending.Write(buffer);
        written += buffer.Length;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await SendPendingAsync(cancellationToken);
        await inner.WriteAsync(buffer, cancellationToken);
        written += buffer.Length;
    }

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        await SendPendingAsync(cancellationToken);
        await inner.FlushAsync(cancellationToken);
    }

    /// <summary>Nothing is sent synchronously: <see cref="FlushAsync(CancellationToken)"/> sends what is held.</summary>
    public override void Flush()
    {
    }

    private async Task SendPendingAsync(CancellationToken ct)
    {
        if (pending.Length == 0) return;
        await inner.WriteAsync(pending.GetBuffer().AsMemory(0, (int)pending.Length), ct);
        pending.SetLength(0);
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) pending.Dispose();
        base.Dispose(disposing);
    }
}

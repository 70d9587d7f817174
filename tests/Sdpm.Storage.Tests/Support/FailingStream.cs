namespace Sdpm.Storage.Tests.Support;

/// <summary>Passes writes to a stream until <paramref name="limit"/> bytes have gone through, then throws
/// <see cref="IOException"/> (as a full disk does), having written the part that fitted.</summary>
public sealed class FailingStream(Stream inner, long limit) : Stream
{
    public long Written { get; private set; }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        var fits = (int)Math.Min(buffer.Length, limit - Written);
        inner.Write(buffer[..fits]);
        Written += fits;
        if (fits < buffer.Length) throw new IOException("No space left on device.");
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var fits = (int)Math.Min(buffer.Length, limit - Written);
        await inner.WriteAsync(buffer[..fits], cancellationToken);
        Written += fits;
        if (fits < buffer.Length) throw new IOException("No space left on device.");
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => Written;
    public override long Position { get => Written; set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}

namespace Sdpm.Imaging.IO;

/// <summary>A read-only wrapper that throws once more than a set number of bytes has been read (decompression bombs).</summary>
internal sealed class LimitedReadStream(Stream inner, long maxBytes, string what) : Stream
{
    private long _read;

    public long BytesRead => _read;

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        Count(n);
        return n;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    private void Count(int n)
    {
        _read += n;
        if (_read > maxBytes)
            throw new ImagingException(ImagingError.TooLarge,
                $"{what} decompresses to more than the limit of {Bytes.Format(maxBytes)}.");
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _read; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>Small byte helpers shared by the readers.</summary>
public static class Bytes
{
    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => FormattableString.Invariant($"{bytes / (double)(1L << 30):0.#} GiB"),
        >= 1L << 20 => FormattableString.Invariant($"{bytes / (double)(1L << 20):0.#} MiB"),
        >= 1L << 10 => FormattableString.Invariant($"{bytes / (double)(1L << 10):0.#} KiB"),
        _ => $"{bytes} bytes",
    };

    /// <summary>Reads exactly buffer.Length bytes or returns how many were available.</summary>
    public static int ReadFully(Stream s, Span<byte> buffer)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = s.Read(buffer[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    /// <summary>Reads a whole stream, refusing more than maxBytes.</summary>
    /// <remarks>Memory follows the bytes that actually arrive: the buffer starts at the size hint (capped by the
    /// limit and 64 MiB) and doubles only when full, so a lying hint costs nothing and a bomb stops at the limit.</remarks>
    public static byte[] ReadAll(Stream s, long maxBytes, string what, long sizeHint = 0)
    {
        using var limited = new LimitedReadStream(s, maxBytes, what);
        var buffer = new byte[(int)Math.Clamp(Math.Min(sizeHint, maxBytes), 4096, 64L << 20)];
        var length = 0;
        Span<byte> probe = stackalloc byte[1];
        while (true)
        {
            if (length == buffer.Length)
            {
                // Full: is there more? Only then grow.
                if (limited.Read(probe) == 0) break;
                var next = (int)Math.Min(Array.MaxLength, Math.Max(buffer.Length * 2L, 4096));
                if (next <= buffer.Length)
                    throw new ImagingException(ImagingError.TooLarge, $"{what} is larger than the largest buffer.");
                Array.Resize(ref buffer, next);
                buffer[length++] = probe[0];
            }
            var n = limited.Read(buffer, length, buffer.Length - length);
            if (n == 0) break;
            length += n;
        }
        if (length != buffer.Length) Array.Resize(ref buffer, length);
        return buffer;
    }

    /// <summary>Writes a file through a temporary name and renames it, so a failure never leaves half a file.</summary>
    public static void WriteAtomically(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                write(fs);
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    public static bool IsGzip(ReadOnlySpan<byte> head) => head.Length >= 2 && head[0] == 0x1f && head[1] == 0x8b;
}

using Microsoft.Extensions.Time.Testing;

namespace Sdpm.Storage.Tests.Support;

/// <summary>A blob store in a fresh folder under the system temp folder (removed on dispose), on a fake clock.</summary>
public sealed class TempStore : IDisposable
{
    /// <summary>Whole seconds, so that file times compare exactly on any file system.</summary>
    public static readonly DateTimeOffset Start = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public TempStore()
    {
        Root = Path.Combine(Path.GetTempPath(), "sdpm-storage-tests", Guid.NewGuid().ToString("N"));
        Time = new FakeTimeProvider(Start);
        Store = new FileSystemBlobStore(Root, Time);
    }

    public string Root { get; }

    public FakeTimeProvider Time { get; }

    public FileSystemBlobStore Store { get; }

    /// <summary>Where a blob must lie: root/ab/cd/abcd… (written out here, not taken from the store).</summary>
    public string PathOf(string hash) => Path.Combine(Root, hash[..2], hash[2..4], hash);

    /// <summary>Names of the files in the temporary folder.</summary>
    public string[] TempFiles() => Directory.GetFiles(Path.Combine(Root, ".tmp"));

    /// <summary>Creates a file in the temporary folder with the given last write time.</summary>
    public string CreateTempFile(string name, DateTimeOffset lastWrite)
    {
        var path = Path.Combine(Root, ".tmp", name);
        File.WriteAllBytes(path, [1, 2, 3]);
        File.SetLastWriteTimeUtc(path, lastWrite.UtcDateTime);
        return path;
    }

    public static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public void Dispose()
    {
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
    }
}

using Sdpm.Storage.Tests.Support;

namespace Sdpm.Storage.Tests;

/// <summary>Folders 0700 and files 0600: the helper itself and the blob store that uses it (Unix only).</summary>
public sealed class OwnerOnlyTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "sdpm-storage-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    [Fact]
    public void ANewFolderAndItsMissingParentsAreOwnerOnly()
    {
        if (OperatingSystem.IsWindows()) return;
        var nested = Path.Combine(root, "a", "b");

        OwnerOnly.CreateDirectory(nested);

        Assert.Equal(OwnerOnly.DirectoryMode, File.GetUnixFileMode(nested));
        Assert.Equal(OwnerOnly.DirectoryMode, File.GetUnixFileMode(Path.Combine(root, "a")));
    }

    [Fact]
    public void AnExistingWorldReadableFolderIsTightened()
    {
        if (OperatingSystem.IsWindows()) return;
        Directory.CreateDirectory(root);
        File.SetUnixFileMode(root, (UnixFileMode)0b111_101_101); // 0755

        OwnerOnly.CreateDirectory(root);

        Assert.Equal(OwnerOnly.DirectoryMode, File.GetUnixFileMode(root));
    }

    [Fact]
    public void RestrictRemovesGroupAndOtherBitsOfAFileAndKeepsTheOwners()
    {
        if (OperatingSystem.IsWindows()) return;
        Directory.CreateDirectory(root);
        var file = Path.Combine(root, "portal.db");
        File.WriteAllText(file, "x");
        File.SetUnixFileMode(file, (UnixFileMode)0b110_110_100); // 0664
        var readOnly = Path.Combine(root, "read-only");
        File.WriteAllText(readOnly, "x");
        File.SetUnixFileMode(readOnly, (UnixFileMode)0b100_100_100); // 0444

        Assert.True(OwnerOnly.Restrict(file));
        Assert.True(OwnerOnly.Restrict(readOnly));

        Assert.Equal(OwnerOnly.FileMode, File.GetUnixFileMode(file));
        Assert.Equal(UnixFileMode.UserRead, File.GetUnixFileMode(readOnly));
        Assert.False(OwnerOnly.Restrict(Path.Combine(root, "missing")));
    }

    [Fact]
    public async Task WriteAllTextWritesA0600FileEvenOverAnOlderWorldReadableOne()
    {
        if (OperatingSystem.IsWindows()) return;
        Directory.CreateDirectory(root);
        var file = Path.Combine(root, "demo-credentials.txt");
        await File.WriteAllTextAsync(file, "old");
        await File.WriteAllTextAsync(file + ".tmp", "leftover");
        File.SetUnixFileMode(file + ".tmp", (UnixFileMode)0b110_100_100); // 0644

        await OwnerOnly.WriteAllTextAsync(file, "new");

        Assert.Equal("new", await File.ReadAllTextAsync(file));
        Assert.Equal(OwnerOnly.FileMode, File.GetUnixFileMode(file));
        Assert.False(File.Exists(file + ".tmp"));
    }

    [Fact]
    public async Task TheBlobStoreKeepsItsFoldersAndBlobsOwnerOnly()
    {
        if (OperatingSystem.IsWindows()) return;
        using var temp = new TempStore();

        var blob = await temp.Store.PutAsync(new MemoryStream(TempStore.RandomBytes(1000, seed: 3)));

        var path = temp.PathOf(blob.Hash);
        Assert.Equal(OwnerOnly.FileMode, File.GetUnixFileMode(path));
        Assert.Equal(OwnerOnly.DirectoryMode, File.GetUnixFileMode(Path.GetDirectoryName(path)!));
        Assert.Equal(OwnerOnly.DirectoryMode, File.GetUnixFileMode(Path.GetDirectoryName(Path.GetDirectoryName(path))!));
        Assert.Equal(OwnerOnly.DirectoryMode, File.GetUnixFileMode(temp.Root));
        Assert.Equal(OwnerOnly.DirectoryMode, File.GetUnixFileMode(temp.Store.TempFolder));
    }

    [Fact]
    public void ABlobStoreOpenedOnAnOlderWorldReadableRootTightensIt()
    {
        if (OperatingSystem.IsWindows()) return;
        Directory.CreateDirectory(root);
        File.SetUnixFileMode(root, (UnixFileMode)0b111_101_101); // 0755

        var store = new FileSystemBlobStore(root);

        Assert.Equal(OwnerOnly.DirectoryMode, File.GetUnixFileMode(store.Root));
    }
}

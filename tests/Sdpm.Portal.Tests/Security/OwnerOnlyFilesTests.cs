using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sdpm.Data;
using Sdpm.Portal.Data;
using Sdpm.Portal.Features.Cohorts.Import;
using Sdpm.Portal.Tests.Infrastructure;
using Sdpm.Storage;

namespace Sdpm.Portal.Tests.Security;

/// <summary>After a portal start the data folder, the database file (and its -wal/-shm), the keys, the blob store, the
/// upload staging folder and the demo credentials are readable by the portal's account only (Unix). The data-protection
/// keys are asked for in the data folder's "keys" (DataProtection:KeysFolder), so that their files are checked too.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class OwnerOnlyFilesTests
{
    private const UnixFileMode Folder = OwnerOnly.DirectoryMode; // 0700
    private const UnixFileMode File0600 = OwnerOnly.FileMode;
    private static readonly UnixFileMode WorldReadableFolder = (UnixFileMode)0b111_101_101; // 0755
    private static readonly UnixFileMode WorldReadableFile = (UnixFileMode)0b110_100_100; // 0644

    private static Dictionary<string, string?> KeysInTheDataFolder() => new() { ["DataProtection:KeysFolder"] = "keys" };

    [Fact]
    public async Task AfterAStartEveryFolderAndFileOfTheDataFolderIsOwnerOnly()
    {
        if (OperatingSystem.IsWindows()) return;
        using var factory = new PortalFactory(KeysInTheDataFolder());
        await UseAsync(factory);

        AssertOwnerOnly(factory.DataFolder, await DatabaseFileAsync(factory));
    }

    [Fact]
    public async Task AnOlderWorldReadableDataFolderIsTightenedAtTheNextStart()
    {
        if (OperatingSystem.IsWindows()) return;
        var folder = PortalFactory.NewDataFolder();
        try
        {
            string? database;
            using (var first = new PortalFactory(KeysInTheDataFolder(), folder))
            {
                await UseAsync(first);
                database = await DatabaseFileAsync(first);
            }
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            // As an older version (or a umask of 022) left them.
            foreach (var dir in Directory.EnumerateDirectories(folder, "*", SearchOption.AllDirectories).Append(folder))
            {
                File.SetUnixFileMode(dir, WorldReadableFolder);
            }
            foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
            {
                File.SetUnixFileMode(file, WorldReadableFile);
            }

            using var again = new PortalFactory(KeysInTheDataFolder(), folder);
            await UseAsync(again);
            AssertOwnerOnly(folder, database, olderBlobs: true);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Makes the portal write what it writes lazily: a data-protection key (the sign-in page's antiforgery
    /// token), a blob, the upload staging folder.</summary>
    private static async Task UseAsync(PortalFactory factory)
    {
        using var session = await PortalSession.SignInAsync(factory, "coordinator");
        Assert.Equal(HttpStatusCode.OK, (await session.Client.GetAsync("/")).StatusCode);
        await factory.Service<IBlobStore>().PutAsync(new MemoryStream("owner only"u8.ToArray()));
        _ = factory.Service<UploadStaging>();
    }

    /// <summary>The SQLite file, or null on another database (which keeps no file in the data folder).</summary>
    private static async Task<string?> DatabaseFileAsync(PortalFactory factory)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
        return db.Database.GetDbConnection() is Microsoft.Data.Sqlite.SqliteConnection sqlite ? Path.GetFullPath(sqlite.DataSource) : null;
    }

    /// <summary><paramref name="olderBlobs"/>: blob files and fan-out folders of an older version keep their modes (they are
    /// not walked at start-up); the store's root, tightened to 0700, closes them all.</summary>
    private static void AssertOwnerOnly(string dataFolder, string? database, bool olderBlobs = false)
    {
        if (OperatingSystem.IsWindows()) return;
        Assert.Equal(Folder, File.GetUnixFileMode(dataFolder));

        if (database is not null)
        {
            Assert.Equal(Path.Combine(dataFolder, "portal.db"), database);
            Assert.Equal(File0600, File.GetUnixFileMode(database));
            foreach (var companion in new[] { database + "-wal", database + "-shm" }.Where(File.Exists))
            {
                Assert.Equal(File0600, File.GetUnixFileMode(companion));
            }
        }

        var keys = Path.Combine(dataFolder, "keys");
        Assert.Equal(Folder, File.GetUnixFileMode(keys));
        var keyFiles = Directory.GetFiles(keys, "*.xml");
        Assert.NotEmpty(keyFiles);
        Assert.All(keyFiles, f => Assert.Equal(File0600, File.GetUnixFileMode(f)));

        var blobs = Path.Combine(dataFolder, "blobs");
        Assert.Equal(Folder, File.GetUnixFileMode(blobs));
        var blobFiles = Directory.GetFiles(blobs, "*", SearchOption.AllDirectories);
        Assert.NotEmpty(blobFiles);
        if (!olderBlobs)
        {
            Assert.All(blobFiles, f => Assert.Equal(File0600, File.GetUnixFileMode(f)));
            Assert.All(Directory.GetDirectories(blobs, "*", SearchOption.AllDirectories), d => Assert.Equal(Folder, File.GetUnixFileMode(d)));
        }

        Assert.Equal(Folder, File.GetUnixFileMode(Path.Combine(dataFolder, "uploads")));
        Assert.Equal(File0600, File.GetUnixFileMode(Path.Combine(dataFolder, DatabaseInitializer.CredentialsFileName)));
        Assert.Equal(File0600, File.GetUnixFileMode(Path.Combine(dataFolder, DatabaseInitializer.TokensFileName)));
    }
}

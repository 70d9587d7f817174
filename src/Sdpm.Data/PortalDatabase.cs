using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace Sdpm.Data;

/// <summary>The database servers the portal runs on: SQLite (embedded, the default) or PostgreSQL (a server).</summary>
public enum DatabaseProvider
{
    Sqlite,
    PostgreSql,
}

/// <summary>Which database the portal's processes use: the provider and its connection string.</summary>
public sealed record PortalConnection(DatabaseProvider Provider, string ConnectionString)
{
    /// <summary>A SQLite file (the folder is created when missing).</summary>
    public static PortalConnection SqliteFile(string databaseFile) => new(DatabaseProvider.Sqlite, PortalDatabase.SqliteConnectionString(databaseFile));

    /// <summary>For logs and messages: the file or server and database, never a password.</summary>
    public override string ToString() => Provider switch
    {
        DatabaseProvider.Sqlite => "SQLite " + new SqliteConnectionStringBuilder(ConnectionString).DataSource,
        _ => new NpgsqlConnectionStringBuilder(ConnectionString) is var b ? $"PostgreSQL {b.Host}:{b.Port}/{b.Database}" : "PostgreSQL",
    };
}

/// <summary>How the portal's DbContext is configured, shared by the portal, its workers, the design-time factories and tests.</summary>
public static class PortalDatabase
{
    public const string MigrationsAssembly = "Sdpm.Migrations";
    public const string PostgreSqlMigrationsAssembly = "Sdpm.Migrations.PostgreSql";

    /// <summary>Configuration: "Database:Provider" is Sqlite (default) or PostgreSQL; "ConnectionStrings:Portal" is the
    /// connection string (required for PostgreSQL; for SQLite it overrides the database file).</summary>
    public const string ProviderKey = "Database:Provider";

    /// <summary>The database that a process's configuration names; <paramref name="sqliteFile"/> is the SQLite file used when
    /// the provider is SQLite and no connection string is set.</summary>
    public static PortalConnection Resolve(IConfiguration configuration, string sqliteFile)
    {
        var provider = ParseProvider(configuration[ProviderKey]);
        var connectionString = configuration.GetSection("ConnectionStrings")["Portal"];
        if (provider == DatabaseProvider.PostgreSql)
        {
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                throw new InvalidOperationException(
                    "Database:Provider is PostgreSQL but ConnectionStrings:Portal is empty: set it (for example the environment variable " +
                    "ConnectionStrings__Portal=\"Host=db.example;Port=5432;Database=sdpm;Username=sdpm;Password=...\").");
            }
            return new PortalConnection(provider, connectionString);
        }
        return string.IsNullOrWhiteSpace(connectionString)
            ? PortalConnection.SqliteFile(sqliteFile)
            : new PortalConnection(provider, connectionString);
    }

    /// <summary>"Sqlite" (or empty) and "PostgreSQL" (also "Postgres", "Npgsql"), in any case.</summary>
    public static DatabaseProvider ParseProvider(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "sqlite" => DatabaseProvider.Sqlite,
        "postgresql" or "postgres" or "npgsql" => DatabaseProvider.PostgreSql,
        _ => throw new InvalidOperationException($"Database:Provider \"{value}\" is not known: use Sqlite or PostgreSQL."),
    };

    public static void Use(DbContextOptionsBuilder options, PortalConnection connection)
    {
        switch (connection.Provider)
        {
            case DatabaseProvider.Sqlite:
                UseSqlite(options, connection.ConnectionString);
                break;
            case DatabaseProvider.PostgreSql:
                options.UseNpgsql(connection.ConnectionString, npgsql => npgsql.MigrationsAssembly(PostgreSqlMigrationsAssembly));
                options.AddInterceptors(PostgreSqlWriteLock.Instance);
                break;
        }
    }

    public static void UseSqlite(DbContextOptionsBuilder options, string connectionString) =>
        options.UseSqlite(connectionString, sqlite => sqlite.MigrationsAssembly(MigrationsAssembly));

    /// <summary>A connection string for a SQLite file; the folder is created when missing. "Default Timeout" is also how
    /// long a statement waits for another process's write lock (Microsoft.Data.Sqlite retries SQLITE_BUSY until then).</summary>
    public static string SqliteConnectionString(string databaseFile)
    {
        var full = Path.GetFullPath(databaseFile);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        return $"Data Source={full};Foreign Keys=True;Default Timeout=30";
    }

    /// <summary>Whether a save failed on a unique index or primary key (two people took the same name or slot at once).</summary>
    public static bool IsUniqueViolation(DbUpdateException exception) => exception.InnerException switch
    {
        // SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY
        SqliteException sqlite => sqlite.SqliteExtendedErrorCode is 2067 or 1555,
        PostgresException postgres => postgres.SqlState == PostgresErrorCodes.UniqueViolation,
        _ => false,
    };

    /// <summary>Applies the pending migrations. Two processes starting together on PostgreSQL take turns under a session
    /// advisory lock, so the second finds the first's migrations applied (EF Core's own lock guards SQLite).</summary>
    public static async Task MigrateAsync(DbContext db, CancellationToken ct = default)
    {
        if (!db.Database.IsNpgsql())
        {
            await db.Database.MigrateAsync(ct);
            return;
        }
        // As EF Core's Migrate does: a missing database is created (when the user may), before the lock needs a connection.
        var creator = db.GetService<IRelationalDatabaseCreator>();
        if (!await creator.ExistsAsync(ct))
        {
            try
            {
                await creator.CreateAsync(ct);
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DuplicateDatabase or PostgresErrorCodes.UniqueViolation)
            {
                // Another process created it a moment ago.
            }
        }
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await db.Database.ExecuteSqlRawAsync($"SELECT pg_advisory_lock({MigrationLock})", ct);
            try
            {
                await db.Database.MigrateAsync(ct);
            }
            finally
            {
                await db.Database.ExecuteSqlRawAsync($"SELECT pg_advisory_unlock({MigrationLock})", CancellationToken.None);
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    private const long MigrationLock = 0x7364706d6d; // "sdpmm"

    /// <summary>Puts a SQLite database in write-ahead-log mode: readers never wait for the writer, and the portal and its
    /// worker processes write beside each other (each write waits up to the connection's timeout for the lock). The mode
    /// is kept in the file, so this runs once at start-up. No-op on PostgreSQL.</summary>
    public static async Task UseWriteAheadLogAsync(DbContext db, CancellationToken ct = default)
    {
        if (db.Database.IsSqlite())
        {
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", ct);
        }
    }
}

/// <summary>
/// Serializes the portal's write transactions on PostgreSQL as SQLite does: every transaction the portal begins first takes
/// one transaction-scoped advisory lock, as SQLite's BEGIN IMMEDIATE takes the database's write lock. The services were
/// written against SQLite's guarantee that a read-then-write transaction (the next case number of a site, the claim of a
/// job, the seeding of a first start) sees no other writer between its read and its write; under PostgreSQL's default
/// READ COMMITTED isolation that guarantee would be gone. Plain reads take no lock. Hangfire's own tables are not
/// involved (Hangfire.PostgreSql uses its own connections and row locks).
/// </summary>
public sealed class PostgreSqlWriteLock : DbTransactionInterceptor
{
    /// <summary>The advisory lock's key: any constant that no other application on the same database uses ("sdpm").</summary>
    public const long Key = 0x7364706d;

    public static readonly PostgreSqlWriteLock Instance = new();

    public override DbTransaction TransactionStarted(DbConnection connection, TransactionEndEventData eventData, DbTransaction result)
    {
        using var command = Command(connection, result);
        command.ExecuteNonQuery();
        return result;
    }

    public override async ValueTask<DbTransaction> TransactionStartedAsync(DbConnection connection, TransactionEndEventData eventData, DbTransaction result,
        CancellationToken cancellationToken = default)
    {
        await using var command = Command(connection, result);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return result;
    }

    private static DbCommand Command(DbConnection connection, DbTransaction transaction)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT pg_advisory_xact_lock({Key})";
        return command;
    }
}

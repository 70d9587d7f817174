using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Npgsql;
using Sdpm.Data;

namespace Sdpm.Testing;

/// <summary>
/// The database a test world runs on: a SQLite file in its data folder (the default), or, when SDPM_TEST_DATABASE is
/// "postgresql", a database of its own on the PostgreSQL server that SDPM_TEST_POSTGRES names (test.sh starts a
/// throw-away one with scripts/postgres-throwaway.sh). The database is named after the data folder, so that two portals
/// started on one data folder (a restart) find the same database, as they find the same SQLite file.
/// </summary>
public sealed class TestDatabase : IDisposable
{
    public const string ProviderVariable = "SDPM_TEST_DATABASE";
    public const string ServerVariable = "SDPM_TEST_POSTGRES";

    private readonly bool owner;

    private TestDatabase(PortalConnection connection, bool owner)
    {
        Connection = connection;
        this.owner = owner;
    }

    public PortalConnection Connection { get; }

    public static DatabaseProvider Provider { get; } = PortalDatabase.ParseProvider(Environment.GetEnvironmentVariable(ProviderVariable));

    public static bool IsPostgreSql => Provider == DatabaseProvider.PostgreSql;

    /// <summary>The database of a data folder; its owner drops it (PostgreSQL) when disposed.</summary>
    public static TestDatabase For(string dataFolder, bool owner = true)
    {
        if (!IsPostgreSql)
        {
            return new TestDatabase(PortalConnection.SqliteFile(Path.Combine(dataFolder, "portal.db")), owner);
        }
        var name = "sdpm_test_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(dataFolder))))[..20];
        var builder = new NpgsqlConnectionStringBuilder(Server()) { Database = name };
        return new TestDatabase(new PortalConnection(DatabaseProvider.PostgreSql, builder.ConnectionString), owner);
    }

    /// <summary>The configuration keys that point a portal or a worker at this database.</summary>
    public IReadOnlyDictionary<string, string?> Settings => Connection.Provider == DatabaseProvider.Sqlite
        ? new Dictionary<string, string?>()
        : new Dictionary<string, string?>
        {
            [PortalDatabase.ProviderKey] = "PostgreSQL",
            ["ConnectionStrings:Portal"] = Connection.ConnectionString,
        };

    /// <summary>Creates the database when missing (the portal's migration does so itself; a test world that writes before
    /// migrating calls this).</summary>
    public void EnsureCreated()
    {
        if (Connection.Provider != DatabaseProvider.PostgreSql) return;
        var name = new NpgsqlConnectionStringBuilder(Connection.ConnectionString).Database!;
        using var admin = Admin();
        using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @n", admin);
        exists.Parameters.AddWithValue("n", name);
        if (exists.ExecuteScalar() is null)
        {
            using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", admin);
            try
            {
                create.ExecuteNonQuery();
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DuplicateDatabase or PostgresErrorCodes.UniqueViolation)
            {
                // Two portals of one data folder starting together: the other created it.
            }
        }
    }

    public void Dispose()
    {
        if (Connection.Provider == DatabaseProvider.Sqlite)
        {
            SqliteConnection.ClearAllPools();
            return;
        }
        NpgsqlConnection.ClearAllPools();
        if (!owner) return;
        try
        {
            var name = new NpgsqlConnectionStringBuilder(Connection.ConnectionString).Database!;
            using var admin = Admin();
            using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", admin);
            drop.ExecuteNonQuery();
        }
        catch (NpgsqlException)
        {
            // The server is stopped with its folder at the end of the run: a database left here goes with it.
        }
    }

    private static NpgsqlConnection Admin()
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(Server()) { Database = "postgres", Pooling = false }.ConnectionString);
        connection.Open();
        return connection;
    }

    private static string Server() => Environment.GetEnvironmentVariable(ServerVariable) is { Length: > 0 } server
        ? server
        : throw new InvalidOperationException($"{ProviderVariable}=postgresql needs {ServerVariable}, a connection string to a PostgreSQL server " +
                                              "(test.sh starts a throw-away one: scripts/postgres-throwaway.sh).");
}

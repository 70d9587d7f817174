using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Hangfire.Storage.SQLite;
using Microsoft.Data.Sqlite;
using Sdpm.Data;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Sdpm.Jobs;

public static class JobsRegistration
{
    /// <summary>Engine jobs for a host that reads the portal's database: Hangfire with its storage in that database,
    /// job submission and reconciliation, and, when <see cref="JobsOptions.RunWorker"/>, one Hangfire server per device
    /// this process has, reading only that device's queue with one worker: a job reaches only a worker with its device,
    /// one job runs per device at a time, the rest wait in submission order, and a CPU job never waits behind GPU work.</summary>
    public static IServiceCollection AddEngineJobs(this IServiceCollection services, IConfiguration configuration, JobHost host)
    {
        var options = configuration.GetSection(JobsOptions.Section).Get<JobsOptions>() ?? new JobsOptions();
        services.AddOptions<JobsOptions>().Bind(configuration.GetSection(JobsOptions.Section));
        services.AddSingleton(host);
        services.AddSingleton<WorkerIdentity>();
        services.AddSingleton<JobDispatch>();
        services.AddSingleton<JobQueue>();
        services.AddTransient<EngineJob>();
        // This host's own storage, not Hangfire's process-wide JobStorage.Current: servers and clients resolve it from
        // the container, so two hosts in one process (tests) never read each other's queues.
        services.AddSingleton<JobStorage>(_ => CreateStorage(host.Database, options));
        // Likewise the activator: AddHangfire's default is the process-wide JobActivator.Current, which the last host to
        // configure Hangfire sets; a server of another host in the same process (tests) then created its jobs from that
        // host's container, and once that host was disposed every delivery failed with ObjectDisposedException.
        services.AddSingleton<JobActivator>(sp => new Hangfire.AspNetCore.AspNetCoreJobActivator(sp.GetRequiredService<IServiceScopeFactory>()));
        services.AddHangfire((sp, c) =>
        {
            if (sp.GetService<Microsoft.Extensions.Logging.ILoggerFactory>() is { } loggers) HangfireLogs.Add(loggers);
            ConfigureHangfire(c);
        });
        var devices = options.RunWorker ? options.DeviceList() : [];
        foreach (var device in devices)
        {
            services.AddHangfireServer((sp, server) =>
            {
                server.ServerName = $"{sp.GetRequiredService<WorkerIdentity>().Name}:{device}";
                server.Queues = [device];
                server.WorkerCount = 1;
                server.ShutdownTimeout = options.CancelGrace + TimeSpan.FromSeconds(15);
            });
        }
        services.AddHostedService<WorkerNodeService>();
        return services;
    }

    private static void ConfigureHangfire(IGlobalConfiguration c) => c
        .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
        .UseSimpleAssemblyNameTypeSerializer()
        .UseRecommendedSerializerSettings()
        .UseLogProvider(HangfireLogs.Instance);

    private const long SchemaInstallLock = 0x7364706d68; // "sdpmh"

    /// <summary>Hangfire's storage in the portal's own database: its tables beside the portal's in the SQLite file, or
    /// in the schema "hangfire" of the PostgreSQL database (created on first use, docs/decisions/010).</summary>
    internal static JobStorage CreateStorage(PortalConnection database, JobsOptions options)
    {
        if (database.Provider == DatabaseProvider.PostgreSql)
        {
            var postgres = new PostgreSqlStorageOptions
            {
                SchemaName = "hangfire",
                PrepareSchemaIfNecessary = true,
                QueuePollInterval = options.QueuePoll,
                // As below; Hangfire.PostgreSql also re-reads a fetched job's row lock, so a second delivery waits for the
                // invisibility timeout, and EngineJob's claim makes it a no-op while the first worker is alive.
                InvisibilityTimeout = options.InvisibilityTimeout,
                DistributedLockTimeout = TimeSpan.FromMinutes(1),
            };
            // Two processes starting on a fresh database would both install the schema; one session lock lets the first
            // install it while the others wait and then find it in place.
            using var connection = new Npgsql.NpgsqlConnection(database.ConnectionString);
            try
            {
                connection.Open();
            }
            catch (Npgsql.PostgresException e) when (e.SqlState == Npgsql.PostgresErrorCodes.InvalidCatalogName)
            {
                throw new InvalidOperationException($"The portal's database does not exist ({database}): create it first " +
                                                    "(createdb --owner USER NAME; README, \"Database\").", e);
            }
            using (var take = new Npgsql.NpgsqlCommand($"SELECT pg_advisory_lock({SchemaInstallLock})", connection)) take.ExecuteNonQuery();
            try
            {
                return new PostgreSqlStorage(new NpgsqlConnectionFactory(database.ConnectionString, postgres), postgres);
            }
            finally
            {
                using var release = new Npgsql.NpgsqlCommand($"SELECT pg_advisory_unlock({SchemaInstallLock})", connection);
                release.ExecuteNonQuery();
            }
        }
        return new SQLiteStorage(new SqliteConnectionStringBuilder(database.ConnectionString).DataSource, new SQLiteStorageOptions
        {
            QueuePollInterval = options.QueuePoll,
            // A delivery of a job that runs longer than this is handed out again; EngineJob's claim on the Job row
            // turns the second delivery into a no-op while the first worker is alive (docs/decisions/008).
            InvisibilityTimeout = options.InvisibilityTimeout,
        });
    }
}

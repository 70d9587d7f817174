using Hangfire;
using Hangfire.Storage.SQLite;
using Microsoft.Data.Sqlite;
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
        var database = new SqliteConnectionStringBuilder(host.ConnectionString).DataSource;
        // This host's own storage, not Hangfire's process-wide JobStorage.Current: servers and clients resolve it from
        // the container, so two hosts in one process (tests) never read each other's queues.
        services.AddSingleton<JobStorage>(_ => new SQLiteStorage(database, new SQLiteStorageOptions
        {
            QueuePollInterval = options.QueuePoll,
            // A delivery of a job that runs longer than this is handed out again; EngineJob's claim on the Job row
            // turns the second delivery into a no-op while the first worker is alive (docs/decisions/008).
            InvisibilityTimeout = options.InvisibilityTimeout,
        }));
        services.AddHangfire(c => c
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings());
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
}

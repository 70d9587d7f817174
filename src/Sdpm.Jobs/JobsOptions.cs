namespace Sdpm.Jobs;

/// <summary>How this process takes part in running engine jobs; bound from the "Jobs" section.</summary>
public sealed class JobsOptions
{
    public const string Section = "Jobs";

    /// <summary>Devices a job may ask for.</summary>
    public static readonly IReadOnlyList<string> KnownDevices = ["cpu", "cuda"];

    /// <summary>Whether this process runs jobs (the portal does by default; a portal behind separate workers sets false).</summary>
    public bool RunWorker { get; set; } = true;

    /// <summary>The devices this process runs jobs on, comma separated: "cpu", "cuda" or "cpu,cuda". One job per device
    /// at a time.</summary>
    public string Devices { get; set; } = "cpu";

    /// <summary>Run folders of the engine processes (checkpoints of training jobs), relative to the data folder. Workers
    /// on other machines resume a job from here, so they share it (or resume from the start of the job).</summary>
    public string WorkFolder { get; set; } = "jobs";

    /// <summary>The engine process: the path of Sdpm.Worker.dll (run with dotnet) or of an executable. Empty: the
    /// Sdpm.Worker build next to this process's (src/Sdpm.Worker/bin/&lt;configuration&gt;/net10.0).</summary>
    public string WorkerCommand { get; set; } = "";

    /// <summary>How often a running job's worker says it is alive (and reads a cancel request).</summary>
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A running job whose worker has been silent this long is taken over by another worker (training resumes
    /// from its last checkpoint). A job is therefore never left "running" for longer than this after its worker died.</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often each worker checks in, re-queues jobs of silent workers and says why jobs wait.</summary>
    public TimeSpan ClusterCheckin { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often an idle worker looks at its queues (Hangfire's queue poll).</summary>
    public TimeSpan QueuePoll { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Hangfire's SQLite storage hands a job out again after this long; the Job row's claim makes that a no-op
    /// while the job's worker is alive, so this only bounds storage housekeeping, not recovery (that is <see cref="Lease"/>).</summary>
    public TimeSpan InvisibilityTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>How long a cancelled engine process gets to write its last checkpoint before it is killed.</summary>
    public TimeSpan CancelGrace { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Lines of engine output kept as the job's log tail.</summary>
    public int LogTailLines { get; set; } = 60;

    public IReadOnlyList<string> DeviceList() =>
        Devices.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(d => d.ToLowerInvariant()).Distinct().ToList();
}

/// <summary>Where this process finds the portal's data: set by the host (the portal or the worker) from its configuration.</summary>
/// <param name="DataFolder">The portal's data folder (absolute).</param>
/// <param name="Database">The portal database (SQLite or PostgreSQL).</param>
/// <param name="BlobFolder">The blob store's folder (absolute).</param>
public sealed record JobHost(string DataFolder, Sdpm.Data.PortalConnection Database, string BlobFolder);

/// <summary>The portal's paths as its configuration states them, for a process that is not the portal (a worker).</summary>
public static class JobHostConfiguration
{
    /// <summary>Portal:DataFolder (under the content root), Database:Provider with ConnectionStrings:Portal, or
    /// Portal:DatabaseFile (under the data folder), Storage:BlobFolder (under the data folder): the keys and defaults the
    /// portal reads.</summary>
    public static JobHost From(Microsoft.Extensions.Configuration.IConfiguration configuration, string contentRoot)
    {
        var dataFolder = Path.GetFullPath(Path.Combine(contentRoot, configuration["Portal:DataFolder"] is { Length: > 0 } d ? d : "data"));
        var file = configuration["Portal:DatabaseFile"] is { Length: > 0 } f ? f : "portal.db";
        var database = Sdpm.Data.PortalDatabase.Resolve(configuration, Path.Combine(dataFolder, file));
        var blobs = Path.GetFullPath(Path.Combine(dataFolder, configuration["Storage:BlobFolder"] is { Length: > 0 } b ? b : "blobs"));
        return new JobHost(dataFolder, database, blobs);
    }
}

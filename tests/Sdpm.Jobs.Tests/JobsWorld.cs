using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Imaging.Synthetic;
using Sdpm.Storage;
using Sdpm.Testing;

namespace Sdpm.Jobs.Tests;

/// <summary>A portal database in a temporary data folder with one site, one cohort and synthetic cases with references
/// in the blob store, as the portal would have imported them; and ways to run worker nodes on it: in this process
/// (a host with <see cref="JobsRegistration.AddEngineJobs"/>) or as Sdpm.Worker processes, as the README starts them.</summary>
public sealed class JobsWorld : IAsyncDisposable
{
    public static readonly string RepositoryRoot = FindRoot();
    public static readonly string WorkerDll = Path.Combine(RepositoryRoot, "src", "Sdpm.Worker", "bin", "Release", "net10.0", "Sdpm.Worker.dll");

    private readonly List<IHost> hosts = [];
    private readonly List<Process> processes = [];

    private JobsWorld(string folder)
    {
        DataFolder = folder;
        Database = TestDatabase.For(folder);
        Host = new JobHost(folder, Database.Connection, Path.Combine(folder, "blobs"));
        Blobs = new FileSystemBlobStore(Host.BlobFolder);
    }

    public string DataFolder { get; }
    public TestDatabase Database { get; }
    public JobHost Host { get; }
    public IBlobStore Blobs { get; }
    public List<int> CaseIds { get; } = [];

    /// <summary>What the worker processes printed, for failure messages.</summary>
    public System.Text.StringBuilder NodeLog { get; } = new();

    public static async Task<JobsWorld> CreateAsync(int cases = 6)
    {
        Assert.True(File.Exists(WorkerDll), $"{WorkerDll} is missing: build the solution (dotnet build Sdpm.Portal.sln -c Release).");
        var world = new JobsWorld(Path.Combine(Path.GetTempPath(), "sdpm-jobs-tests", Guid.NewGuid().ToString("N")));
        Directory.CreateDirectory(world.DataFolder);
        await using var db = world.NewContext();
        await db.Database.MigrateAsync();
        await PortalDatabase.UseWriteAheadLogAsync(db);
        var site = new Site { Name = "North", CasePrefix = "NOR", CreatedAt = DateTimeOffset.UtcNow };
        db.Sites.Add(site);
        await db.SaveChangesAsync();
        var cohort = new Cohort { SiteId = site.Id, Name = "Synthetic", NormalizedName = "SYNTHETIC", LesionType = CohortLesionType.Mixed, CreatedAt = DateTimeOffset.UtcNow };
        db.Cohorts.Add(cohort);
        await db.SaveChangesAsync();
        var options = new CohortOptions(cases, 1, 7, LesionMode.Mixed, Size: 128, Slices: 6);
        for (var i = 0; i < cases; i++)
        {
            var c = CohortGenerator.GenerateCase(options, i);
            var image = await world.Blobs.PutVolumeAsync(c.Image);
            var mask = await world.Blobs.PutMaskAsync(c.Mask);
            var row = new Case
            {
                CohortId = cohort.Id, SiteId = site.Id, PseudoId = $"NOR-{i + 1:D4}", PatientPseudoId = $"NOR-P{i + 1:D4}",
                LesionType = c.Lesion switch { LesionType.Hemorrhage => CaseLesionType.Haemorrhage, LesionType.Infarct => CaseLesionType.Infarct, _ => CaseLesionType.None },
                DimX = c.Image.Dims.X, DimY = c.Image.Dims.Y, DimZ = c.Image.Dims.Z,
                SpacingX = c.Image.Spacing.X, SpacingY = c.Image.Spacing.Y, SpacingZ = c.Image.Spacing.Z,
                ImageBlob = image.Hash, ReferenceBlob = mask.Hash, ReferenceVolumeMl = c.LesionMl, SourceFormat = "nifti-1", CreatedAt = DateTimeOffset.UtcNow,
            };
            db.Cases.Add(row);
            await db.SaveChangesAsync();
            world.CaseIds.Add(row.Id);
        }
        return world;
    }

    public PortalDbContext NewContext()
    {
        var options = new DbContextOptionsBuilder<PortalDbContext>();
        PortalDatabase.Use(options, Host.Database);
        return new PortalDbContext(options.Options);
    }

    /// <summary>A worker node in this process (what the portal runs by default).</summary>
    public async Task<IHost> StartNodeAsync(string devices = "cpu", bool runWorker = true)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(Settings(devices, runWorker));
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddPooledDbContextFactory<PortalDbContext>(o => PortalDatabase.Use(o, Host.Database));
        builder.Services.AddSingleton(Blobs);
        builder.Services.AddEngineJobs(builder.Configuration, Host);
        var host = builder.Build();
        await host.StartAsync();
        hosts.Add(host);
        return host;
    }

    /// <summary>A worker node as its own Sdpm.Worker process, pointed at this data folder.</summary>
    /// <param name="workingFolder">A data folder of the worker's own, as on another machine: it then gets only the
    /// database's connection and the blob folder, and keeps its run folders there. Null: the portal's data folder.</param>
    public Process StartNodeProcess(string devices = "cpu", string? workingFolder = null)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingFolder ?? RepositoryRoot,
        };
        psi.ArgumentList.Add(WorkerDll);
        psi.ArgumentList.Add("node");
        psi.Environment["Portal__DataFolder"] = workingFolder ?? DataFolder;
        psi.Environment["Logging__LogLevel__Default"] = "Warning";
        if (workingFolder is not null)
        {
            psi.Environment["ConnectionStrings__Portal"] = Host.Database.ConnectionString;
            psi.Environment["Database__Provider"] = Host.Database.Provider.ToString();
            psi.Environment["Storage__BlobFolder"] = Host.BlobFolder;
        }
        foreach (var (key, value) in Settings(devices, true)) psi.Environment[key.Replace(":", "__")] = value;
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (NodeLog) NodeLog.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (NodeLog) NodeLog.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        processes.Add(process);
        return process;
    }

    private Dictionary<string, string?> Settings(string devices, bool runWorker) => new(Database.Settings)
    {
        ["Jobs:RunWorker"] = runWorker ? "true" : "false",
        ["Jobs:Devices"] = devices,
        ["Jobs:WorkerCommand"] = WorkerDll,
        ["Jobs:Lease"] = "00:00:06",
        ["Jobs:Heartbeat"] = "00:00:01",
        ["Jobs:ClusterCheckin"] = "00:00:02",
    };

    public JobQueue Queue(IHost host) => host.Services.GetRequiredService<JobQueue>();

    /// <summary>Submits a job through the host's queue (nothing is added to its transaction, so it is always written).</summary>
    public async Task<Job> SubmitAsync(IHost host, Job job) => await Queue(host).SubmitAsync(job) ?? throw new InvalidOperationException("the job was not written");

    /// <summary>A tiny training job over the world's cases.</summary>
    public static Job TrainJob(IEnumerable<int> caseIds, int steps, string device = "cpu", int checkpointEvery = 250) => new()
    {
        Kind = JobKind.Train,
        Device = device,
        RequestJson = new JobRequest(new Dictionary<string, string>
            {
                ["model"] = "sdpm", ["preset"] = "tiny", ["steps"] = steps.ToString(System.Globalization.CultureInfo.InvariantCulture), ["seed"] = "3",
                ["checkpoint-every"] = checkpointEvery.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            caseIds.ToList(), "train", "tiny test model").ToJson(),
        CreatedByName = "test",
        SiteKey = ",1,",
    };

    public async Task<Job> WaitAsync(int jobId, Func<Job, bool> until, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            await using var db = NewContext();
            var job = await db.Jobs.AsNoTracking().SingleAsync(j => j.Id == jobId);
            if (until(job)) return job;
            Assert.True(DateTime.UtcNow < deadline, $"job {jobId} is {job.State} (step {job.Step}/{job.Total}, worker {job.WorkerName}, waiting: {job.WaitingReason}, error: {job.Error}) after {timeout.TotalSeconds:0} s\n{job.LogTail}\nworker processes:\n{NodeLog}");
            if (processes.Count > 0 && processes.All(p => p.HasExited)) Assert.Fail($"every worker process has exited:\n{NodeLog}");
            await Task.Delay(250);
        }
    }

    /// <summary>Waits until this many workers have checked in.</summary>
    public async Task WaitForWorkersAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            await using var db = NewContext();
            if (await db.WorkerNodes.CountAsync() >= count) return;
            Assert.True(DateTime.UtcNow < deadline, $"fewer than {count} workers checked in within {timeout.TotalSeconds:0} s:\n{NodeLog}");
            await Task.Delay(250);
        }
    }

    /// <summary>Kills the worker node processes (and their engines) started so far.</summary>
    public void KillNodeProcesses()
    {
        foreach (var p in processes)
        {
            try
            {
                if (!p.HasExited) p.Kill(entireProcessTree: true);
                p.WaitForExit(10_000);
            }
            catch (InvalidOperationException)
            {
            }
            p.Dispose();
        }
        processes.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        KillNodeProcesses();
        foreach (var h in hosts)
        {
            try
            {
                await h.StopAsync(TimeSpan.FromSeconds(20));
            }
            catch (OperationCanceledException)
            {
            }
            h.Dispose();
        }
        Database.Dispose();
        try
        {
            Directory.Delete(DataFolder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Sdpm.Portal.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("Cannot find the repository root.");
    }
}

using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Engine.Contracts.Progress;
using Sdpm.Engine.Contracts.Training;
using Sdpm.Engine.Sampling;
using Sdpm.Engine.Runs;
using Sdpm.Jobs;
using Sdpm.Storage;

namespace Sdpm.Worker;

/// <summary>
/// The engine process of one job (<c>run --job N --run-dir DIR</c>), started by a worker node: reads the job from the
/// database (SDPM_DATABASE) and its cases from the blob store (SDPM_BLOBS), prints progress as JSON lines on stdout, and
/// leaves its result in the run folder. SIGTERM, SIGINT or the end of stdin (its node is gone) stop it at the next step;
/// training writes a checkpoint first, and running the job again resumes from it.
/// Exit codes: 0 done, <see cref="EngineProcess.ExitCancelled"/> stopped, 1 failed (the reason on stderr), 2 usage.
/// </summary>
internal static class RunCommand
{
    public static int Run(string[] args)
    {
        int? jobId = null;
        string? runDir = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--job" when i + 1 < args.Length && int.TryParse(args[i + 1], out var id): jobId = id; i++; break;
                case "--run-dir" when i + 1 < args.Length: runDir = args[++i]; break;
                default:
                    Console.Error.WriteLine($"run: unexpected argument {args[i]}; usage: run --job N --run-dir DIR");
                    return 2;
            }
        }
        var database = Environment.GetEnvironmentVariable("SDPM_DATABASE");
        var blobFolder = Environment.GetEnvironmentVariable("SDPM_BLOBS");
        if (jobId is null || runDir is null || string.IsNullOrEmpty(database) || string.IsNullOrEmpty(blobFolder))
        {
            Console.Error.WriteLine("run: usage: run --job N --run-dir DIR, with SDPM_DATABASE and SDPM_BLOBS set (a worker node starts it so).");
            return 2;
        }

        using var cts = new CancellationTokenSource();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cts.Cancel(); });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; cts.Cancel(); });
        var watcher = new Thread(() =>
        {
            try
            {
                while (Console.In.Read() >= 0) { }
            }
            catch (IOException)
            {
            }
            cts.Cancel(); // the node that started this process is gone
        }) { IsBackground = true, Name = "stdin watcher" };
        watcher.Start();

        var progress = new JsonLines();
        try
        {
            Directory.CreateDirectory(runDir);
            using var runLock = RunFolderLock.Acquire(runDir, TimeSpan.FromSeconds(60), cts.Token);
            var options = new DbContextOptionsBuilder<PortalDbContext>();
            PortalDatabase.UseSqlite(options, database);
            using var db = new PortalDbContext(options.Options);
            var blobs = new FileSystemBlobStore(blobFolder);
            var job = db.Jobs.AsNoTracking().SingleOrDefault(j => j.Id == jobId) ?? throw new ArgumentException($"job {jobId} does not exist.");
            var request = JobRequest.Parse(job.RequestJson);
            return job.Kind switch
            {
                JobKind.Train => Train(job, request, db, blobs, runDir, progress, cts.Token),
                _ => throw new ArgumentException($"{job.Kind} jobs are not run by this worker version."),
            };
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("stopped at the request");
            return EngineProcess.ExitCancelled;
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException or Sdpm.Imaging.ImagingException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    private static int Train(Job job, JobRequest request, PortalDbContext db, IBlobStore blobs, string runDir, JsonLines progress, CancellationToken ct)
    {
        // The split's train subset is the training set: the run holds nothing back (test-fraction 0).
        var settings = new Dictionary<string, string>(request.Settings, StringComparer.Ordinal) { ["device"] = job.Device, ["test-fraction"] = "0" };
        var setup = TrainingSetup.FromSettings(settings);
        var options = setup.Resolve();
        var source = DatabaseCaseSource.LoadAsync(db, blobs, request.CaseIds, ct).GetAwaiter().GetResult();
        var resume = File.Exists(Path.Combine(runDir, SegmentationModel.CheckpointFileName));
        if (resume) progress.Report(new EngineProgress(ProgressKind.Info, job.Device, Message: "resuming from the run's last checkpoint"));
        var result = TrainingRun.Run(new TrainingRequest(source, runDir, options, resume), progress, ct);
        new EngineResult("train", Path.Combine(runDir, SegmentationModel.CheckpointFileName), result.Steps, ModelKinds.Name(setup.Model), setup.Preset,
            setup.RecipeName, JsonSerializer.Serialize(options)).Write(runDir);
        return 0;
    }

    /// <summary>Progress as the node reads it: one JSON line per event, flushed at once.</summary>
    private sealed class JsonLines : IProgress<EngineProgress>
    {
        private readonly Lock gate = new();

        public void Report(EngineProgress value)
        {
            lock (gate)
            {
                Console.Out.WriteLine(EngineProgressJson.Serialize(value));
                Console.Out.Flush();
            }
        }
    }
}

/// <summary>An exclusive lock on a run folder, so that an engine process of a job taken over after its worker died
/// never writes the folder while the first one is still winding down.</summary>
internal sealed class RunFolderLock : IDisposable
{
    private readonly FileStream stream;

    private RunFolderLock(FileStream stream) => this.stream = stream;

    public static RunFolderLock Acquire(string runDir, TimeSpan wait, CancellationToken ct)
    {
        var path = Path.Combine(runDir, ".lock");
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            try
            {
                return new RunFolderLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                ct.WaitHandle.WaitOne(TimeSpan.FromSeconds(1));
                ct.ThrowIfCancellationRequested();
            }
        }
    }

    public void Dispose() => stream.Dispose();
}

using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Engine.Contracts.Progress;
using Sdpm.Engine.Contracts.Sampling;
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
            PortalDatabase.Use(options, new PortalConnection(PortalDatabase.ParseProvider(Environment.GetEnvironmentVariable("SDPM_DATABASE_PROVIDER")), database));
            using var db = new PortalDbContext(options.Options);
            var blobs = new FileSystemBlobStore(blobFolder);
            var job = db.Jobs.AsNoTracking().SingleOrDefault(j => j.Id == jobId) ?? throw new ArgumentException($"job {jobId} does not exist.");
            var request = JobRequest.Parse(job.RequestJson);
            return job.Kind switch
            {
                JobKind.Train => Train(job, request, db, blobs, runDir, progress, cts.Token),
                JobKind.Infer => Infer(job, request, db, blobs, runDir, progress, cts.Token),
                JobKind.Evaluate => Evaluate(job, request, db, blobs, progress, runDir, cts.Token),
                _ => throw new ArgumentException($"{job.Kind} jobs are not run by this worker version."),
            };
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("stopped at the request");
            return EngineProcess.ExitCancelled;
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or InvalidOperationException or IOException or Sdpm.Imaging.ImagingException
                                       or BlobNotFoundException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    private static int Train(Job job, JobRequest request, PortalDbContext db, IBlobStore blobs, string runDir, JsonLines progress, CancellationToken ct)
    {
        // The split's train subset is the training set: the run holds nothing back (test and validation fractions 0).
        var settings = new Dictionary<string, string>(request.Settings, StringComparer.Ordinal) { ["device"] = job.Device, ["test-fraction"] = "0", ["validation-fraction"] = "0" };
        var setup = TrainingSetup.FromSettings(settings);
        var options = setup.Resolve();
        var source = DatabaseCaseSource.LoadAsync(db, blobs, request.CaseIds, ct).GetAwaiter().GetResult();
        var resume = File.Exists(Path.Combine(runDir, SegmentationModel.CheckpointFileName));
        if (resume) progress.Report(new EngineProgress(ProgressKind.Info, job.Device, Message: "resuming from the run's last checkpoint"));
        string? parent = null;
        if (!resume && job.InputModelVersionId is { } parentId)
        {
            // Fine-tuning: the parent's checkpoint, verified by its hash, outside the run's own checkpoint path.
            var parentModel = db.ModelVersions.AsNoTracking().SingleOrDefault(m => m.Id == parentId)
                              ?? throw new ArgumentException($"the parent model version {parentId} no longer exists.");
            parent = Path.Combine(runDir, "parent", SegmentationModel.CheckpointFileName);
            progress.Report(new EngineProgress(ProgressKind.Info, job.Device, Message: $"fetching the parent model version {parentId} (\"{parentModel.Name}\") and checking its SHA-256"));
            ModelCheckpoints.FetchVerified(blobs, parentModel, parent, ct);
        }
        var result = TrainingRun.Run(new TrainingRequest(source, runDir, options, resume, InitialWeights: parent), progress, ct);
        new EngineResult("train", Path.Combine(runDir, SegmentationModel.CheckpointFileName), result.Steps, ModelKinds.Name(setup.Model), setup.Preset,
            setup.RecipeName, JsonSerializer.Serialize(options)).Write(runDir);
        return 0;
    }

    /// <summary>Predicts the job's cases with its model version (checkpoint verified by hash first) into uncommitted
    /// Prediction rows; run again after its worker died, it goes on from the first case it had not written.</summary>
    private static int Infer(Job job, JobRequest request, PortalDbContext db, IBlobStore blobs, string runDir, JsonLines progress, CancellationToken ct)
    {
        var model = InputModel(job, db);
        var settings = new Dictionary<string, string>(request.Settings, StringComparer.Ordinal) { ["device"] = job.Device };
        settings.Remove("subset"); // the job's cases are its subset, resolved when it was submitted
        var options = InferenceOptions.FromSettings(settings);
        var checkpoint = Path.Combine(runDir, "model", SegmentationModel.CheckpointFileName);
        progress.Report(new EngineProgress(ProgressKind.Info, job.Device, Message: $"fetching model version {model.Id} (\"{model.Name}\") and checking its SHA-256"));
        ModelCheckpoints.FetchVerified(blobs, model, checkpoint, ct);

        // The sink writes every mode of a case in one transaction: a case with rows is done.
        var done = db.Predictions.Where(p => p.JobId == job.Id).Select(p => p.CaseId).Distinct().ToHashSet();
        var remaining = request.CaseIds.Where(id => !done.Contains(id)).ToList();
        if (done.Count > 0)
            progress.Report(new EngineProgress(ProgressKind.Info, job.Device, Message: $"resuming: {done.Count} of {request.CaseIds.Count} cases were predicted by an earlier attempt"));
        if (remaining.Count > 0)
        {
            var source = DatabaseCaseSource.LoadAsync(db, blobs, remaining, ct).GetAwaiter().GetResult();
            var ids = db.Cases.AsNoTracking().Where(c => remaining.Contains(c.Id)).ToDictionary(c => c.PseudoId, c => c.Id, StringComparer.Ordinal);
            var sink = new DatabasePredictionSink(db, blobs, source, job.Id, model.Id, options.Protocol, ids);
            InferenceRun.Run(new InferenceRequest(checkpoint, source, sink, options with { Subset = null }), progress, ct);
        }
        var rows = db.Predictions.AsNoTracking().Where(p => p.JobId == job.Id)
            .Join(db.Cases, p => p.CaseId, c => c.Id, (p, c) => new JobOutcome.Row(c.PseudoId, p.Mode, p.VolumeMl, p.Dice, p.VolumeRefMl)).ToList();
        var modes = options.Modes.Select(SamplingModes.Name).ToList();
        var outcome = JobOutcome.From(rows, modes, request.CaseIds.Count, []);
        new EngineResult("infer", null, request.CaseIds.Count, model.Model, model.Preset, model.Recipe, null, outcome.ToJson()).Write(runDir);
        return 0;
    }

    /// <summary>Scores the model version's committed predictions of the job's cases against the cases' current
    /// references (refreshing metrics computed against an older reference) and sums them up per mode.</summary>
    private static int Evaluate(Job job, JobRequest request, PortalDbContext db, IBlobStore blobs, JsonLines progress, string runDir, CancellationToken ct)
    {
        var model = InputModel(job, db);
        var modes = request.Settings.TryGetValue("modes", out var list) ? SamplingModes.ParseList(list).Select(SamplingModes.Name).ToList()
            : SamplingModes.Every.Select(SamplingModes.Name).ToList();
        var caseIds = request.CaseIds.ToList();
        var cases = db.Cases.AsNoTracking().Where(c => caseIds.Contains(c.Id))
            .Select(c => new { c.Id, c.PseudoId, c.ImageBlob, c.ReferenceBlob }).ToDictionary(c => c.Id);
        var predictions = db.Predictions.Where(p => p.ModelVersionId == model.Id && p.Committed && caseIds.Contains(p.CaseId) && modes.Contains(p.Mode))
            .OrderBy(p => p.CaseId).ThenBy(p => p.Mode).ToList();
        if (predictions.Count == 0)
            throw new ArgumentException($"model version {model.Id} (\"{model.Name}\") has no prediction of these {caseIds.Count} cases in modes {string.Join(",", modes)}: run an inference job on them first.");
        progress.Report(new EngineProgress(ProgressKind.Start, "cpu", 0, predictions.Count, Message: $"scoring {predictions.Count} predictions of model version {model.Id} against the current references"));
        var refreshed = 0;
        for (var i = 0; i < predictions.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            var p = predictions[i];
            var c = cases[p.CaseId];
            if (PredictionScoring.IsStale(p, c.ReferenceBlob))
            {
                PredictionScoring.Rescore(blobs, p, c.ImageBlob, c.ReferenceBlob, c.PseudoId);
                refreshed++;
            }
            progress.Report(new EngineProgress(ProgressKind.Case, "cpu", i + 1, predictions.Count, CaseId: c.PseudoId));
        }
        db.SaveChanges();
        if (refreshed > 0) progress.Report(new EngineProgress(ProgressKind.Info, "cpu", Message: $"{refreshed} prediction(s) scored against a reference that changed since they were made"));
        var rows = predictions.Select(p => new JobOutcome.Row(cases[p.CaseId].PseudoId, p.Mode, p.VolumeMl, p.Dice, p.VolumeRefMl)).ToList();
        var predicted = predictions.Select(p => p.CaseId).ToHashSet();
        var missing = caseIds.Where(id => !predicted.Contains(id) && cases.ContainsKey(id)).Select(id => cases[id].PseudoId).Order(StringComparer.Ordinal).ToList();
        var outcome = JobOutcome.From(rows, modes, caseIds.Count, missing);
        new EngineResult("evaluate", null, predictions.Count, model.Model, model.Preset, model.Recipe, null, outcome.ToJson()).Write(runDir);
        progress.Report(new EngineProgress(ProgressKind.Done, "cpu", predictions.Count, predictions.Count, Message: $"{predictions.Count} predictions scored"));
        return 0;
    }

    private static ModelVersion InputModel(Job job, PortalDbContext db) =>
        job.InputModelVersionId is { } id
            ? db.ModelVersions.AsNoTracking().SingleOrDefault(m => m.Id == id) ?? throw new ArgumentException($"model version {id} no longer exists.")
            : throw new ArgumentException($"{job.Kind} job {job.Id} names no model version.");

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

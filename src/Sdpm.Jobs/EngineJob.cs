using System.Diagnostics;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Hangfire;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Engine.Contracts.Progress;
using Sdpm.Storage;

namespace Sdpm.Jobs;

/// <summary>
/// The background job that runs one Job row on this worker: claims the row (so that a job delivered twice, as
/// Hangfire's SQLite storage does with a job running longer than its invisibility timeout, runs once), starts the engine
/// process, streams its progress into the row (step, loss curve points, log tail, memory, heartbeat), passes a cancel
/// request on as SIGTERM, and stores what a successful run made. A training job resumes from the checkpoint in its run
/// folder when it is run again. Failures are the Job row's; the job engine never retries on its own.
/// </summary>
public sealed class EngineJob(
    IDbContextFactory<PortalDbContext> contexts,
    IBlobStore blobs,
    JobHost host,
    WorkerIdentity worker,
    JobDispatch dispatch,
    IOptions<JobsOptions> options,
    TimeProvider time,
    ILogger<EngineJob> logger)
{
    /// <param name="ct">Hangfire's shutdown token: the worker is stopping.</param>
    [AutomaticRetry(Attempts = 0)]
    [JobDisplayName("engine job {0}")]
    public async Task RunAsync(int jobId, CancellationToken ct)
    {
        var job = await ClaimAsync(jobId, ct);
        if (job is null) return;
        logger.LogInformation("Job {Job} ({Kind}, {Device}) starts on {Worker}, attempt {Attempt}", job.Id, job.Kind, job.Device, worker.Name, job.Attempts);
        try
        {
            await RunAsync(job, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            logger.LogError(e, "Job {Job} failed in its worker", jobId);
            await FinishAsync(jobId, JobState.Failed, $"The worker could not run the job: {e.Message}", null, CancellationToken.None);
        }
        finally
        {
            await using var db = await contexts.CreateDbContextAsync(CancellationToken.None);
            await db.WorkerNodes.Where(w => w.Name == worker.Name).ExecuteUpdateAsync(s => s.SetProperty(w => w.CurrentJobId, (int?)null), CancellationToken.None);
        }
    }

    /// <summary>Takes the job for this worker: a queued one, or a running one whose worker has been silent for longer than
    /// the lease (it died). A job running on a live worker, finished or cancelled is left alone: this delivery ends.</summary>
    private async Task<Job?> ClaimAsync(int jobId, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var now = time.GetUtcNow();
        var stale = now - options.Value.Lease;
        var claimed = await db.Jobs
            .Where(j => j.Id == jobId && !j.CancelRequested
                        && (j.State == JobState.Queued || (j.State == JobState.Running && (j.HeartbeatAt == null || j.HeartbeatAt < stale))))
            .ExecuteUpdateAsync(s => s
                .SetProperty(j => j.State, JobState.Running)
                .SetProperty(j => j.WorkerName, worker.Name)
                .SetProperty(j => j.HeartbeatAt, now)
                .SetProperty(j => j.Attempts, j => j.Attempts + 1)
                .SetProperty(j => j.StartedAt, j => j.StartedAt ?? now)
                .SetProperty(j => j.WaitingReason, (string?)null), ct);
        var row = await db.Jobs.AsNoTracking().SingleOrDefaultAsync(j => j.Id == jobId, ct);
        if (row is null) return null;
        if (claimed > 0)
        {
            await db.WorkerNodes.Where(w => w.Name == worker.Name).ExecuteUpdateAsync(s => s.SetProperty(w => w.CurrentJobId, jobId), ct);
            return row;
        }
        if (row is { CancelRequested: true, State: JobState.Queued }) await FinishAsync(jobId, JobState.Cancelled, null, null, ct, owned: false);
        else if (row.State == JobState.Running) logger.LogInformation("Job {Job} runs on {Worker} already: this delivery ends", jobId, row.WorkerName);
        return null;
    }

    private async Task RunAsync(Job job, CancellationToken ct)
    {
        var o = options.Value;
        var runDir = Path.Combine(host.DataFolder, o.WorkFolder, $"job-{job.Id}");
        Directory.CreateDirectory(runDir);
        var command = string.IsNullOrWhiteSpace(o.WorkerCommand) ? EngineProcess.DefaultWorkerCommand() : o.WorkerCommand;
        using var process = new Process { StartInfo = EngineProcess.StartInfo(command, host, job.Id, runDir) };
        var state = new RunState(o.LogTailLines);
        process.OutputDataReceived += (_, e) => state.Stdout(e.Data, time.GetUtcNow());
        process.ErrorDataReceived += (_, e) => state.Log(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var exited = process.WaitForExitAsync(CancellationToken.None);
        var stopSent = DateTimeOffset.MinValue;
        var shutdown = false;
        while (!exited.IsCompleted)
        {
            await Task.WhenAny(exited, Task.Delay(o.Heartbeat, time, CancellationToken.None));
            state.Memory(EngineProcess.ResidentBytes(process.Id));
            var report = await ReportAsync(job.Id, state, CancellationToken.None);
            if (report == Report.Lost)
            {
                // Another worker runs the job now, or it ended without this worker (cancelled while it was queued
                // again): this engine must not write beside the other one, nor checkpoint into its run folder.
                logger.LogWarning("Job {Job} is no longer this worker's: its engine is stopped", job.Id);
                if (!process.HasExited) process.Kill(entireProcessTree: true);
                await exited;
                return;
            }
            var cancel = report == Report.Cancel;
            if ((cancel || ct.IsCancellationRequested) && stopSent == DateTimeOffset.MinValue)
            {
                shutdown = !cancel;
                stopSent = time.GetUtcNow();
                state.Log(cancel ? "[worker] cancel requested: the engine stops at its next step" : "[worker] the worker is stopping: the engine stops at its next step and the job is queued again");
                EngineProcess.RequestStop(process);
            }
            else if (stopSent != DateTimeOffset.MinValue && time.GetUtcNow() - stopSent > o.CancelGrace && !process.HasExited)
            {
                state.Log($"[worker] the engine did not stop within {o.CancelGrace.TotalSeconds:0} s: killed");
                process.Kill(entireProcessTree: true);
            }
        }
        await exited;
        process.WaitForExit(); // drains the output handlers
        if (await ReportAsync(job.Id, state, CancellationToken.None) == Report.Lost)
        {
            logger.LogWarning("Job {Job} is no longer this worker's: what its engine made is left alone", job.Id);
            return;
        }
        var code = process.ExitCode;
        if (shutdown)
        {
            // Stopped because this worker is going away: the job goes back to the queue (another worker, or this one
            // when it is back, resumes it from its checkpoint).
            await RequeueAsync(job.Id, "the worker stopped; the job resumes on the next worker");
            try
            {
                await dispatch.DeliverAsync(job.Id, job.Device, CancellationToken.None);
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Job {Job} could not be queued again now; the next worker check-in does it", job.Id);
            }
            return;
        }
        if (stopSent != DateTimeOffset.MinValue)
        {
            await FinishAsync(job.Id, JobState.Cancelled, null, null, CancellationToken.None);
            return;
        }
        if (code != 0)
        {
            var error = code == EngineProcess.ExitCancelled ? "The engine stopped without a cancel request." : $"The engine process ended with exit code {code}{Signal(code)}.";
            await FinishAsync(job.Id, JobState.Failed, $"{error} Last lines:\n{state.LastLines(12)}", null, CancellationToken.None);
            return;
        }
        var result = EngineResult.Read(runDir);
        int? modelVersionId = null;
        if (job.Kind == JobKind.Train)
        {
            if (result?.Checkpoint is not { } checkpoint || !File.Exists(checkpoint))
            {
                await FinishAsync(job.Id, JobState.Failed, $"The engine ended without a checkpoint. Last lines:\n{state.LastLines(12)}", null, CancellationToken.None);
                return;
            }
            modelVersionId = await StoreModelAsync(job, result, checkpoint);
        }
        else if (result?.SummaryJson is null)
        {
            await FinishAsync(job.Id, JobState.Failed, $"The engine ended without its summary. Last lines:\n{state.LastLines(12)}", null, CancellationToken.None);
            return;
        }
        try
        {
            Directory.Delete(runDir, recursive: true); // what it made is in the blob store and the database now
        }
        catch (IOException e)
        {
            logger.LogWarning(e, "Could not delete the run folder {RunDir}", runDir);
        }
        await FinishAsync(job.Id, JobState.Succeeded, null, modelVersionId, CancellationToken.None, result?.SummaryJson);
    }

    private static string Signal(int code) => code > 128 ? $" (signal {code - 128}{(code - 128 == 9 ? ": killed, perhaps out of memory" : "")})" : "";

    private async Task<int> StoreModelAsync(Job job, EngineResult result, string checkpoint)
    {
        await using (var check = await contexts.CreateDbContextAsync())
        {
            // Made already by an attempt that died before it could say so.
            if (await check.ModelVersions.Where(m => m.JobId == job.Id).Select(m => (int?)m.Id).SingleOrDefaultAsync() is { } made) return made;
        }
        BlobInfo blob;
        await using (var stream = File.OpenRead(checkpoint))
        {
            blob = await blobs.PutAsync(stream);
        }
        var request = JobRequest.Parse(job.RequestJson);
        await using var db = await contexts.CreateDbContextAsync();
        var model = new ModelVersion
        {
            Name = string.IsNullOrWhiteSpace(request.Name) ? $"{result.Model}-{result.Preset} #{job.Id}" : request.Name.Trim(),
            Model = result.Model ?? "",
            Preset = result.Preset ?? "",
            Recipe = result.Recipe ?? "",
            OptionsJson = result.OptionsJson ?? "{}",
            CheckpointBlob = blob.Hash,
            CheckpointBytes = blob.Length,
            Steps = result.Steps,
            SplitId = job.SplitId,
            ParentId = job.InputModelVersionId,
            JobId = job.Id,
            SiteKey = job.SiteKey,
            CreatedById = job.CreatedById,
            CreatedByName = job.CreatedByName,
            CreatedAt = time.GetUtcNow(),
        };
        db.ModelVersions.Add(model);
        await db.SaveChangesAsync();
        return model.Id;
    }

    private enum Report { Running, Cancel, Lost }

    /// <summary>Writes what the engine said since the last report, as the job's owner. A job queued again while its
    /// engine still runs here (this worker was silent for longer than the lease: a stalled disk, a starved machine) is
    /// taken back, so that it is not started twice; a job that another worker has taken, or that ended, is lost.</summary>
    private async Task<Report> ReportAsync(int jobId, RunState state, CancellationToken ct)
    {
        var (step, total, message, points, tail, peak) = state.Take();
        var now = time.GetUtcNow();
        await using var db = await contexts.CreateDbContextAsync(ct);
        var me = worker.Name;
        void Progress(Microsoft.EntityFrameworkCore.Query.UpdateSettersBuilder<Job> s) => s
            .SetProperty(j => j.HeartbeatAt, now)
            .SetProperty(j => j.Step, j => step ?? j.Step)
            .SetProperty(j => j.Total, j => total ?? j.Total)
            .SetProperty(j => j.Message, j => message ?? j.Message)
            .SetProperty(j => j.LogTail, tail)
            .SetProperty(j => j.PeakMemoryBytes, peak);
        var owned = await db.Jobs.Where(j => j.Id == jobId && j.State == JobState.Running && j.WorkerName == me).ExecuteUpdateAsync(Progress, ct);
        if (owned == 0)
        {
            owned = await db.Jobs.Where(j => j.Id == jobId && j.State == JobState.Queued && j.WorkerName == null && !j.CancelRequested).ExecuteUpdateAsync(s =>
            {
                Progress(s);
                s.SetProperty(j => j.State, JobState.Running).SetProperty(j => j.WorkerName, me).SetProperty(j => j.WaitingReason, (string?)null);
            }, ct);
            if (owned == 0) return Report.Lost;
            state.Log($"[worker] this worker did not report for longer than the lease ({options.Value.Lease.TotalSeconds:0} s) and the job was queued again while its engine ran here: taken back");
            logger.LogWarning("Job {Job} was queued again while its engine ran on {Worker} (no report for {Lease}): taken back", jobId, me, options.Value.Lease);
        }
        if (points.Count > 0)
        {
            foreach (var p in points) p.JobId = jobId;
            db.JobPoints.AddRange(points);
            await db.SaveChangesAsync(ct);
        }
        await db.WorkerNodes.Where(w => w.Name == me).ExecuteUpdateAsync(s => s.SetProperty(w => w.HeartbeatAt, now), ct);
        return await db.Jobs.Where(j => j.Id == jobId).Select(j => j.CancelRequested).SingleAsync(ct) ? Report.Cancel : Report.Running;
    }

    /// <summary>Ends the job. An inference job's predictions become visible in the same transaction as its success
    /// (replacing the model version's earlier predictions of the same cases and modes); any other end deletes them.</summary>
    /// <param name="owned">Ended by the worker that ran it: only while it is still this worker's (or queued again
    /// without a worker after a lapse of its lease), never a job that another worker has taken meanwhile.</param>
    private async Task FinishAsync(int jobId, JobState state, string? error, int? modelVersionId, CancellationToken ct, string? resultJson = null, bool owned = true)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var now = time.GetUtcNow();
        var me = worker.Name;
        if (error is { Length: > Job.ErrorMaxLength }) error = error[..(Job.ErrorMaxLength - 1)] + "…";
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var ended = await db.Jobs.Where(j => j.Id == jobId && j.State != JobState.Succeeded && j.State != JobState.Failed && j.State != JobState.Cancelled)
            .Where(j => !owned || j.WorkerName == me || (j.State == JobState.Queued && j.WorkerName == null))
            .ExecuteUpdateAsync(s => s
                .SetProperty(j => j.State, state)
                .SetProperty(j => j.Error, error)
                .SetProperty(j => j.ResultModelVersionId, modelVersionId)
                .SetProperty(j => j.ResultJson, resultJson)
                .SetProperty(j => j.FinishedAt, now)
                .SetProperty(j => j.HeartbeatAt, now), ct);
        if (ended > 0) await JobPredictions.SettleAsync(db, jobId, state == JobState.Succeeded, ct);
        await tx.CommitAsync(ct);
        logger.LogInformation("Job {Job} {State}{Error}", jobId, state, error is null ? "" : $": {error}");
    }

    private async Task RequeueAsync(int jobId, string reason)
    {
        await using var db = await contexts.CreateDbContextAsync();
        var me = worker.Name;
        await db.Jobs.Where(j => j.Id == jobId && j.State == JobState.Running && j.WorkerName == me).ExecuteUpdateAsync(s => s
            .SetProperty(j => j.State, JobState.Queued)
            .SetProperty(j => j.WorkerName, (string?)null)
            .SetProperty(j => j.DispatchId, (string?)null)
            .SetProperty(j => j.WaitingReason, reason));
    }

    /// <summary>What the engine process said, gathered from its output threads and taken by the supervising loop.</summary>
    private sealed class RunState(int tailLines)
    {
        private readonly Lock gate = new();
        private readonly Queue<string> tail = new();
        private readonly List<JobPoint> points = [];
        private int? step, total;
        private string? message;
        private long peak;

        public void Stdout(string? line, DateTimeOffset at)
        {
            if (line is null) return;
            if (!EngineProgressJson.TryParse(line, out var e) || e is null)
            {
                Log(line);
                return;
            }
            lock (gate)
            {
                switch (e.Kind)
                {
                    case ProgressKind.Start:
                    case ProgressKind.Step:
                    case ProgressKind.Case:
                    case ProgressKind.Done:
                        step = e.Step;
                        if (e.TotalSteps > 0) total = e.TotalSteps;
                        break;
                }
                if (e.Kind == ProgressKind.Step && e.Terms is { Count: > 0 } terms)
                {
                    points.Add(new JobPoint
                    {
                        Step = e.Step,
                        Loss = terms.TryGetValue("total", out var loss) && double.IsFinite(loss) ? loss : null,
                        TermsJson = JsonSerializer.Serialize(terms.Where(t => double.IsFinite(t.Value)).ToDictionary()),
                        SamplesPerSecond = e.SamplesPerSecond,
                        At = at,
                    });
                }
                var text = EngineProgressJson.Text(e);
                if (e.Kind != ProgressKind.Step) message = text.Length > 1000 ? text[..1000] : text;
                else if (e.EtaSeconds is { } eta) message = $"step {e.Step} of {e.TotalSteps} on {e.Device}, {TimeSpan.FromSeconds(Math.Round(eta)):c} left";
                Append(text);
            }
        }

        public void Log(string? line)
        {
            if (line is null) return;
            lock (gate) Append(line);
        }

        public void Memory(long bytes)
        {
            lock (gate) peak = Math.Max(peak, bytes);
        }

        private void Append(string line)
        {
            tail.Enqueue(line.Length > 500 ? line[..500] + "…" : line);
            while (tail.Count > tailLines) tail.Dequeue();
        }

        public string LastLines(int n)
        {
            lock (gate) return string.Join('\n', tail.TakeLast(n));
        }

        public (int? Step, int? Total, string? Message, List<JobPoint> Points, string Tail, long? Peak) Take()
        {
            lock (gate)
            {
                var taken = points.ToList();
                points.Clear();
                var text = string.Join('\n', tail);
                if (text.Length > Job.LogTailMaxLength) text = text[^Job.LogTailMaxLength..];
                return (step, total, message, taken, text, peak > 0 ? peak : null);
            }
        }
    }
}

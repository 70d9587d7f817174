using System.Security.Cryptography;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sdpm.Data.Entities;

namespace Sdpm.Jobs.Tests;

public class EngineJobTests
{
    [Fact]
    public async Task EachHostInAProcessActivatesJobsFromItsOwnContainerEvenAfterAnotherHostIsDisposed()
    {
        // Hangfire's default activator is process-wide (JobActivator.Current, set by the last host that configured
        // Hangfire): a host's server then built its jobs from the other host's container, disposed or not.
        await using var first = await JobsWorld.CreateAsync(cases: 1);
        await using var second = await JobsWorld.CreateAsync(cases: 1);
        var a = await first.StartNodeAsync(runWorker: false);
        var b = await second.StartNodeAsync(runWorker: false);
        var activatorA = a.Services.GetRequiredService<JobActivator>();
        var activatorB = b.Services.GetRequiredService<JobActivator>();
        Assert.NotSame(activatorA, activatorB);
        await b.StopAsync();
        b.Dispose();
        using var connection = a.Services.GetRequiredService<JobStorage>().GetConnection();
        JobActivatorContext Context() => new(connection, new BackgroundJob("1", Hangfire.Common.Job.FromExpression(() => Console.WriteLine()), DateTime.UtcNow),
            new JobCancellationToken(false));
        using var scope = activatorA.BeginScope(Context());
        Assert.IsType<EngineJob>(scope.Resolve(typeof(EngineJob)));
        Assert.Throws<ObjectDisposedException>(() => activatorB.BeginScope(Context()));
    }

    [Fact]
    public async Task ATrainingJobRunsInItsOwnEngineProcessStreamsProgressAndMakesAModelVersion()
    {
        await using var world = await JobsWorld.CreateAsync();
        var node = await world.StartNodeAsync();
        var job = await world.SubmitAsync(node, JobsWorld.TrainJob(world.CaseIds, steps: 12));

        var done = await world.WaitAsync(job.Id, j => j.Finished, TimeSpan.FromMinutes(4));

        Assert.True(done.State == JobState.Succeeded, $"{done.State}: {done.Error}\n{done.LogTail}");
        Assert.Equal(12, done.Step);
        Assert.Equal(12, done.Total);
        Assert.Equal(1, done.Attempts);
        Assert.NotNull(done.ResultModelVersionId);
        Assert.True(done.PeakMemoryBytes > 0);
        await using var db = world.NewContext();
        var model = await db.ModelVersions.SingleAsync(m => m.Id == done.ResultModelVersionId);
        Assert.Equal("tiny test model", model.Name);
        Assert.Equal(("sdpm", "tiny", 12, job.Id), (model.Model, model.Preset, model.Steps, model.JobId));
        Assert.Contains("\"Steps\":12", model.OptionsJson);
        // The checkpoint blob is named by the SHA-256 of its bytes (as they are checked before use).
        await using (var stream = world.Blobs.OpenRead(model.CheckpointBlob))
        {
            Assert.Equal(model.CheckpointBlob, Convert.ToHexStringLower(await SHA256.HashDataAsync(stream)));
        }
        var points = await db.JobPoints.Where(p => p.JobId == job.Id).OrderBy(p => p.Step).ToListAsync();
        Assert.NotEmpty(points);
        Assert.All(points, p => Assert.True(p.Loss is > 0 && double.IsFinite(p.Loss.Value)));
        Assert.Equal(12, points[^1].Step);
        Assert.False(Directory.Exists(Path.Combine(world.DataFolder, "jobs", $"job-{job.Id}"))); // the run folder is cleaned up
    }

    [Fact]
    public async Task ACudaJobWithoutACudaWorkerStaysQueuedAndSaysWhy()
    {
        await using var world = await JobsWorld.CreateAsync(cases: 2);
        var node = await world.StartNodeAsync("cpu");
        var job = await world.SubmitAsync(node, JobsWorld.TrainJob(world.CaseIds, steps: 2, device: "cuda"));

        var waiting = await world.WaitAsync(job.Id, j => j.WaitingReason is not null, TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromSeconds(3));
        await using var db = world.NewContext();
        var still = await db.Jobs.AsNoTracking().SingleAsync(j => j.Id == job.Id);

        Assert.Equal(JobState.Queued, still.State);
        Assert.Equal(0, still.Attempts);
        Assert.Contains("no running worker has the cuda device", waiting.WaitingReason);
        Assert.True(await world.Queue(node).CancelAsync(job.Id));
        Assert.Equal(JobState.Cancelled, (await world.WaitAsync(job.Id, j => j.Finished, TimeSpan.FromSeconds(10))).State);
    }

    [Fact]
    public async Task CancelDuringTrainingStopsTheEngineAndMakesNoModelVersion()
    {
        await using var world = await JobsWorld.CreateAsync();
        var node = await world.StartNodeAsync();
        var job = await world.SubmitAsync(node, JobsWorld.TrainJob(world.CaseIds, steps: 400));
        await world.WaitAsync(job.Id, j => j.Step >= 3, TimeSpan.FromMinutes(3));

        Assert.True(await world.Queue(node).CancelAsync(job.Id));
        var cancelled = await world.WaitAsync(job.Id, j => j.Finished, TimeSpan.FromMinutes(2));

        Assert.Equal(JobState.Cancelled, cancelled.State);
        Assert.Null(cancelled.ResultModelVersionId);
        Assert.True(cancelled.Step < 400);
        await using var db = world.NewContext();
        Assert.False(await db.ModelVersions.AnyAsync());
        Assert.Contains("cancel requested", cancelled.LogTail);
    }
    [Fact]
    public async Task AJobQueuedAgainWhileItsEngineStillRunsHereIsTakenBackNotStartedTwice()
    {
        await using var world = await JobsWorld.CreateAsync();
        var node = await world.StartNodeAsync();
        var job = await world.SubmitAsync(node, JobsWorld.TrainJob(world.CaseIds, steps: 40));
        await world.WaitAsync(job.Id, j => j.Step >= 2, TimeSpan.FromMinutes(3));

        // What a reconciling worker does when this worker's reports stall past the lease (a starved machine).
        await using (var db = world.NewContext())
        {
            await db.Jobs.Where(j => j.Id == job.Id).ExecuteUpdateAsync(s => s
                .SetProperty(j => j.State, JobState.Queued).SetProperty(j => j.WorkerName, (string?)null)
                .SetProperty(j => j.DispatchId, (string?)null).SetProperty(j => j.WaitingReason, "its worker stopped answering; queued again to resume"));
        }
        var done = await world.WaitAsync(job.Id, j => j.Finished, TimeSpan.FromMinutes(4));

        Assert.True(done.State == JobState.Succeeded, $"{done.State}: {done.Error}\n{done.LogTail}");
        Assert.Equal(1, done.Attempts); // one engine run: the second delivery found the job running here
        Assert.Equal((40, 40), (done.Step, done.Total));
        Assert.Contains("taken back", done.LogTail);
        await using var check = world.NewContext();
        Assert.Equal(1, await check.ModelVersions.CountAsync());
        var steps = await check.JobPoints.Where(p => p.JobId == job.Id).Select(p => p.Step).ToListAsync();
        Assert.Equal(steps.Count, steps.Distinct().Count()); // no step reported twice
    }

    [Fact]
    public async Task AJobThatEndedWithoutItsWorkerIsNotFinishedByItAndItsEngineStops()
    {
        await using var world = await JobsWorld.CreateAsync();
        var node = await world.StartNodeAsync();
        var job = await world.SubmitAsync(node, JobsWorld.TrainJob(world.CaseIds, steps: 400));
        await world.WaitAsync(job.Id, j => j.Step >= 2, TimeSpan.FromMinutes(3));

        // The job lapsed, was queued again and cancelled there (JobQueue.CancelAsync ends a queued job at once).
        await using (var db = world.NewContext())
        {
            await db.Jobs.Where(j => j.Id == job.Id).ExecuteUpdateAsync(s => s
                .SetProperty(j => j.State, JobState.Queued).SetProperty(j => j.WorkerName, (string?)null).SetProperty(j => j.DispatchId, (string?)null));
        }
        Assert.True(await world.Queue(node).CancelAsync(job.Id));
        var workerIdle = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (true)
        {
            await using var db = world.NewContext();
            if (await db.WorkerNodes.AllAsync(w => w.CurrentJobId == null)) break;
            Assert.True(DateTime.UtcNow < workerIdle, "the worker still runs the cancelled job's engine after a minute");
            await Task.Delay(250);
        }

        await using var check = world.NewContext();
        var row = await check.Jobs.AsNoTracking().SingleAsync(j => j.Id == job.Id);
        Assert.Equal(JobState.Cancelled, row.State);
        Assert.True(row.Step < 400);
        Assert.False(await check.ModelVersions.AnyAsync());
    }

    [Theory]
    [InlineData("deleted")]
    [InlineData("failed before its claim")]
    [InlineData("half made")]
    public async Task AQueuedJobWhoseDeliveryWillNeverStartItIsDeliveredAgainAndRuns(string loss)
    {
        await using var world = await JobsWorld.CreateAsync(cases: 2);
        var portal = await world.StartNodeAsync(runWorker: false); // delivers, runs nothing
        var job = await world.SubmitAsync(portal, JobsWorld.TrainJob(world.CaseIds, steps: 2));
        var first = (await world.WaitAsync(job.Id, j => j.DispatchId is { } d && !d.StartsWith("pending", StringComparison.Ordinal), TimeSpan.FromSeconds(30))).DispatchId!;

        var engine = portal.Services.GetRequiredService<IBackgroundJobClient>();
        switch (loss)
        {
            case "deleted": // removed from the job engine (its dashboard, an expired storage)
                Assert.True(engine.Delete(first));
                break;
            case "failed before its claim": // EngineJob threw before it took the row (a database error); no retries
                Assert.True(engine.ChangeState(first, new Hangfire.States.FailedState(new InvalidOperationException("database is locked"))));
                break;
            case "half made": // the process died between writing its marker and making the background job
                Assert.True(engine.Delete(first));
                var old = DateTimeOffset.UtcNow - JobDispatch.PendingLimit - TimeSpan.FromSeconds(30);
                await using (var db = world.NewContext())
                {
                    await db.Jobs.Where(j => j.Id == job.Id).ExecuteUpdateAsync(s => s.SetProperty(j => j.DispatchId, $"pending-{old.ToUnixTimeSeconds()}-0123456789abcdef"));
                }
                break;
        }
        await world.StartNodeAsync();
        var done = await world.WaitAsync(job.Id, j => j.Finished, TimeSpan.FromMinutes(3));

        Assert.True(done.State == JobState.Succeeded, $"{done.State}: {done.Error}\n{done.LogTail}");
        Assert.Equal(1, done.Attempts);
        Assert.NotEqual(first, done.DispatchId);
    }

    [Fact]
    public async Task AFreshHalfMadeDeliveryIsLeftToTheProcessMakingIt()
    {
        await using var world = await JobsWorld.CreateAsync(cases: 1);
        var portal = await world.StartNodeAsync(runWorker: false);
        var dispatch = portal.Services.GetRequiredService<JobDispatch>();

        Assert.Null(dispatch.WhyLost($"pending-{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}-0123456789abcdef"));
        Assert.NotNull(dispatch.WhyLost($"pending-{(DateTimeOffset.UtcNow - TimeSpan.FromMinutes(2)).ToUnixTimeSeconds()}-0123456789abcdef"));
        Assert.NotNull(dispatch.WhyLost("pending-garbage"));
        Assert.NotNull(dispatch.WhyLost("987654")); // a delivery the job engine never had
    }
}

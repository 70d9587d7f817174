using Microsoft.EntityFrameworkCore;
using Sdpm.Data.Entities;

namespace Sdpm.Jobs.Tests;

/// <summary>Workers as their own processes (Sdpm.Worker node), as the README starts them: killed mid-training, and two
/// on one database.</summary>
public class WorkerFaultTests
{
    [Fact]
    public async Task AWorkerKilledWithSigkillMidTrainingIsTakenOverAndTheJobResumesFromItsCheckpoint()
    {
        await using var world = await JobsWorld.CreateAsync();
        var portal = await world.StartNodeAsync(runWorker: false); // submits and reconciles, runs nothing
        var first = world.StartNodeProcess();
        var job = await world.SubmitAsync(portal, JobsWorld.TrainJob(world.CaseIds, steps: 60, checkpointEvery: 10));
        // Past the checkpoint of step 30 (the engine reports every few steps).
        var running = await world.WaitAsync(job.Id, j => j.Step >= 32, TimeSpan.FromMinutes(4));
        var firstWorker = running.WorkerName;

        first.Kill(entireProcessTree: false); // SIGKILL of the node; its engine process sees its stdin close and stops
        var second = world.StartNodeProcess();
        var done = await world.WaitAsync(job.Id, j => j.Finished, TimeSpan.FromMinutes(4));

        Assert.True(done.State == JobState.Succeeded, $"{done.State}: {done.Error}\n{done.LogTail}");
        Assert.Equal(2, done.Attempts);
        Assert.NotEqual(firstWorker, done.WorkerName);
        Assert.Contains("resuming from the run's last checkpoint", done.LogTail);
        await using var db = world.NewContext();
        var model = await db.ModelVersions.SingleAsync();
        Assert.Equal(60, model.Steps);
        // The curve goes on from the checkpoint's step, not from step 1. (The last points may be missing: the first
        // engine, orphaned by the kill, can run on to a later checkpoint, or to the end, before it notices and stops;
        // what it reports then has no reader.)
        var steps = await db.JobPoints.Where(p => p.JobId == job.Id).Select(p => p.Step).ToListAsync();
        Assert.True(steps.Count(s => s == 1) <= 1, "the second attempt started over from step 1");
        Assert.True(steps.Max() >= 32, $"the curve lost the points of the first attempt: {string.Join(",", steps)}");
    }

    [Fact]
    public async Task AWorkerElsewhereNeedsOnlyTheDatabaseTheBlobFolderAndItsDevice()
    {
        // The README's two-machine set-up, as two processes: the portal's side here, a worker with a working folder of
        // its own that shares only the database and the blob folder.
        await using var world = await JobsWorld.CreateAsync(cases: 3);
        var portal = await world.StartNodeAsync(runWorker: false);
        var elsewhere = Path.Combine(Path.GetTempPath(), "sdpm-jobs-tests", "elsewhere-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(elsewhere);
        try
        {
            world.StartNodeProcess(workingFolder: elsewhere);
            await world.WaitForWorkersAsync(1, TimeSpan.FromSeconds(60));
            var train = await world.SubmitAsync(portal, JobsWorld.TrainJob(world.CaseIds, steps: 6));
            var trained = await world.WaitAsync(train.Id, j => j.Finished, TimeSpan.FromMinutes(4));
            Assert.True(trained.State == JobState.Succeeded, $"{trained.State}: {trained.Error}\n{trained.LogTail}\n{world.NodeLog}");

            var infer = await world.SubmitAsync(portal, TrainedWorld.InferJob(trained.ResultModelVersionId!.Value, world.CaseIds.Take(1), modes: "avg"));
            var inferred = await world.WaitAsync(infer.Id, j => j.Finished, TimeSpan.FromMinutes(4));
            Assert.True(inferred.State == JobState.Succeeded, $"{inferred.State}: {inferred.Error}\n{inferred.LogTail}\n{world.NodeLog}");

            await using var db = world.NewContext();
            var model = await db.ModelVersions.SingleAsync();
            Assert.NotNull(world.Blobs.Find(model.CheckpointBlob)); // written into the shared blob folder
            var prediction = await db.Predictions.SingleAsync(p => p.JobId == infer.Id);
            Assert.NotNull(world.Blobs.Find(prediction.MaskBlob));
            // The worker's run folders were in its own working folder, never in the portal's data folder.
            Assert.True(Directory.Exists(Path.Combine(elsewhere, "jobs")));
            Assert.False(Directory.Exists(Path.Combine(world.DataFolder, "jobs")));
            Assert.False(File.Exists(Path.Combine(elsewhere, "portal.db")));
        }
        finally
        {
            world.KillNodeProcesses();
            Directory.Delete(elsewhere, recursive: true);
        }
    }

    [Fact]
    public async Task TwoWorkersOnOneDatabaseRunEachJobExactlyOnce()
    {
        await using var world = await JobsWorld.CreateAsync(cases: 4);
        var portal = await world.StartNodeAsync(runWorker: false);
        world.StartNodeProcess();
        world.StartNodeProcess();
        await world.WaitForWorkersAsync(2, TimeSpan.FromSeconds(60));
        var jobs = new List<Job>();
        for (var i = 0; i < 4; i++) jobs.Add(await world.SubmitAsync(portal, JobsWorld.TrainJob(world.CaseIds, steps: 20)));

        var done = new List<Job>();
        foreach (var j in jobs) done.Add(await world.WaitAsync(j.Id, x => x.Finished, TimeSpan.FromMinutes(5)));

        Assert.All(done, j => Assert.True(j.State == JobState.Succeeded && j.Attempts == 1, $"job {j.Id}: {j.State}, {j.Attempts} attempts, {j.Error}"));
        Assert.Equal(2, done.Select(j => j.WorkerName).Distinct().Count()); // both took work
        await using var db = world.NewContext();
        Assert.Equal(4, await db.ModelVersions.CountAsync());
        Assert.Equal(jobs.Select(j => j.Id).Order(), (await db.ModelVersions.Select(m => m.JobId!.Value).ToListAsync()).Order());
    }
}

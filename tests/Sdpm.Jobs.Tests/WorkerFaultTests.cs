using Microsoft.EntityFrameworkCore;
using Sdpm.Data.Entities;
using Sdpm.Storage;

namespace Sdpm.Jobs.Tests;

/// <summary>Workers as their own processes (Sdpm.Worker node), as the README starts them: killed mid-training and
/// mid-inference, and two on one database.</summary>
public class WorkerFaultTests
{
    [Fact]
    public async Task AWorkerKilledWithSigkillMidTrainingIsTakenOverAndTheJobResumesFromItsCheckpoint()
    {
        await using var world = await JobsWorld.CreateAsync();
        var portal = await world.StartNodeAsync(runWorker: false); // submits and reconciles, runs nothing
        var first = world.StartNodeProcess();
        var job = await world.SubmitAsync(portal, JobsWorld.TrainJob(world.CaseIds, steps: 100, checkpointEvery: 10));
        // Past the checkpoint of step 10 (the engine reports every few steps), with 88 steps still to go: in CI, 28
        // steps left were once run to the end before the kill (a starved test process), and the test proved nothing.
        var running = await world.WaitAsync(job.Id, j => j.Step >= 12 || j.Finished, TimeSpan.FromMinutes(4));
        Assert.False(running.Finished, $"the training ended ({running.State}) before the worker could be killed: the test proves nothing");
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
        Assert.Equal(100, model.Steps);
        // The curve goes on from the checkpoint's step, not from step 1. (The last points may be missing: the first
        // engine, orphaned by the kill, can run on to a later checkpoint, or to the end, before it notices and stops;
        // what it reports then has no reader.)
        var steps = await db.JobPoints.Where(p => p.JobId == job.Id).Select(p => p.Step).ToListAsync();
        Assert.True(steps.Count(s => s == 1) <= 1, "the second attempt started over from step 1");
        Assert.True(steps.Max() >= 12, $"the curve lost the points of the first attempt: {string.Join(",", steps)}");
    }

    [Fact]
    public async Task AWorkerKilledWithSigkillDuringInferenceIsTakenOverAndNoPredictionIsDuplicatedOrHalfWritten()
    {
        // A real kill -9 of a worker node process and of its engine (a machine lost) while an inference job has
        // stored some cases, uncommitted; a second worker process takes the job over after the lease.
        await using var world = await JobsWorld.CreateAsync(cases: 6);
        var portal = await world.StartNodeAsync(runWorker: false); // submits and reconciles, runs nothing
        var first = world.StartNodeProcess();
        var train = await world.SubmitAsync(portal, JobsWorld.TrainJob(world.CaseIds, steps: 4));
        var trained = await world.WaitAsync(train.Id, j => j.Finished, TimeSpan.FromMinutes(3));
        Assert.True(trained.State == JobState.Succeeded, $"training before the inference: {trained.State}: {trained.Error}\n{trained.LogTail}");
        const string modes = "avg,sal";
        // The kill must land while cases are still to come. The database sees the first stored case up to a heartbeat
        // (1 s) and a poll later; with the fast protocol (37 network passes a slice) a case took 1.5 s on 2 cores, and
        // CI, faster, once finished all 4 cases in that window. 12 sal repeats (109 passes a slice) and 6 cases leave
        // about 5 cases of some 4 s each (2 cores) after the first is stored.
        var slower = new Dictionary<string, string> { ["sal-repeats"] = "12" };
        var job = await world.SubmitAsync(portal, TrainedWorld.InferJob(trained.ResultModelVersionId!.Value, world.CaseIds, modes, sampling: slower));
        var running = await world.WaitAsync(job.Id, j => j.Step >= 1 || j.Finished, TimeSpan.FromMinutes(3));
        Assert.False(running.Finished, $"the inference ended ({running.State}) before the worker could be killed: the test proves nothing");
        var firstWorker = running.WorkerName;

        first.Kill(entireProcessTree: true); // SIGKILL of the node and its engine, mid-case
        first.WaitForExit(10_000);
        await using var db = world.NewContext();
        var writtenBefore = await db.Predictions.Where(p => p.JobId == job.Id).Select(p => p.CaseId).Distinct().CountAsync();
        Assert.True(writtenBefore >= 1, "no case was stored before the kill");
        Assert.Equal(0, await db.Predictions.CountAsync(p => p.JobId == job.Id && p.Committed)); // nothing visible yet
        // Every stored case is whole: both modes, or none (one transaction per case).
        var perCase = await db.Predictions.Where(p => p.JobId == job.Id).GroupBy(p => p.CaseId).Select(g => g.Count()).ToListAsync();
        Assert.All(perCase, n => Assert.Equal(2, n));

        world.StartNodeProcess();
        var done = await world.WaitAsync(job.Id, j => j.Finished, TimeSpan.FromMinutes(3));

        Assert.True(done.State == JobState.Succeeded, $"{done.State}: {done.Error}\n{done.LogTail}\n{world.NodeLog}");
        Assert.True(done.Attempts >= 2, $"the job was not taken over: {done.Attempts} attempt(s)");
        Assert.NotEqual(firstWorker, done.WorkerName);
        Assert.Matches(@"resuming: [1-6] of 6 cases were predicted by an earlier attempt", done.LogTail);
        var rows = await db.Predictions.AsNoTracking().Where(p => p.JobId == job.Id).ToListAsync();
        var duplicates = rows.GroupBy(r => (r.CaseId, r.Mode)).Where(g => g.Count() > 1).Select(g => $"case {g.Key.CaseId} {g.Key.Mode} x{g.Count()}").ToList();
        Assert.True(duplicates.Count == 0, $"duplicate predictions: {string.Join(", ", duplicates)}");
        var missing = world.CaseIds.SelectMany(c => modes.Split(',').Select(m => (c, m))).Except(rows.Select(r => (r.CaseId, r.Mode))).ToList();
        Assert.True(missing.Count == 0, $"predictions lost: {string.Join(", ", missing)}");
        Assert.All(rows, r => Assert.True(r.Committed, $"case {r.CaseId} {r.Mode} left uncommitted"));
        foreach (var r in rows)
        {
            foreach (var blob in new[] { r.MaskBlob, r.ProbabilityBlob, r.UncertaintyBlob })
            {
                Assert.True(world.Blobs.Find(blob) is not null, $"case {r.CaseId} {r.Mode}: blob {blob} is missing");
            }
            var grid = world.Blobs.ReadVolumeHeader((await db.Cases.SingleAsync(c => c.Id == r.CaseId)).ImageBlob).Geometry;
            _ = world.Blobs.ReadMask(r.MaskBlob, grid); // whole: it decodes on the case grid
        }
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
        // The first job runs long on one worker. While it runs, that worker's CPU is taken (one job a device), so the
        // next job must go to the other worker. (Four short jobs submitted at once were once all run by one worker on a
        // loaded machine, the other's claims coming late each time: that shows no fault, and proved nothing either. A
        // first job of 300 steps once ended on a quiet machine before the other worker's claim: it is now far longer
        // than any claim takes, and cancelled once the second job is taken.)
        var jobs = new List<Job> { await world.SubmitAsync(portal, JobsWorld.TrainJob(world.CaseIds, steps: 5000)) };
        var first = await world.WaitAsync(jobs[0].Id, j => j.State == JobState.Running || j.Finished, TimeSpan.FromMinutes(2));
        for (var i = 0; i < 3; i++) jobs.Add(await world.SubmitAsync(portal, JobsWorld.TrainJob(world.CaseIds, steps: 20)));
        var second = await world.WaitAsync(jobs[1].Id, j => j.WorkerName != null || j.Finished, TimeSpan.FromMinutes(2));
        await using (var check = world.NewContext())
        {
            var firstNow = await check.Jobs.AsNoTracking().SingleAsync(j => j.Id == jobs[0].Id);
            Assert.False(firstNow.Finished && firstNow.FinishedAt < second.StartedAt,
                $"the first job ended ({firstNow.State}) before the second was taken: the test proves nothing");
        }
        Assert.NotEqual(first.WorkerName, second.WorkerName); // the busy worker's device was not given a second job
        Assert.True(await world.Queue(portal).CancelAsync(jobs[0].Id));

        var done = new List<Job>();
        foreach (var j in jobs) done.Add(await world.WaitAsync(j.Id, x => x.Finished, TimeSpan.FromMinutes(5)));

        Assert.True(done[0].State == JobState.Cancelled && done[0].Attempts == 1, $"job {done[0].Id}: {done[0].State}, {done[0].Attempts} attempts, {done[0].Error}");
        Assert.All(done.Skip(1), j => Assert.True(j.State == JobState.Succeeded && j.Attempts == 1, $"job {j.Id}: {j.State}, {j.Attempts} attempts, {j.Error}"));
        Assert.Equal(2, done.Select(j => j.WorkerName).Distinct().Count()); // both took work
        await using var db = world.NewContext();
        Assert.Equal(jobs.Skip(1).Select(j => j.Id).Order(), (await db.ModelVersions.Select(m => m.JobId!.Value).ToListAsync()).Order());
    }
}

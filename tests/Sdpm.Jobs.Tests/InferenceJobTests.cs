using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Sdpm.Data.Entities;
using Sdpm.Imaging.Synthetic;
using Sdpm.Imaging.Volumes;
using Sdpm.Storage;

namespace Sdpm.Jobs.Tests;

/// <summary>One world with a worker node and a tiny model trained once, shared by the inference tests (they run one
/// after the other: the assembly disables test parallelism).</summary>
public sealed class TrainedWorld : IAsyncLifetime
{
    public JobsWorld World { get; private set; } = null!;
    public IHost Node { get; private set; } = null!;
    public ModelVersion Model { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        World = await JobsWorld.CreateAsync(cases: 4);
        Node = await World.StartNodeAsync();
        var job = await World.SubmitAsync(Node, JobsWorld.TrainJob(World.CaseIds, steps: 6));
        var done = await World.WaitAsync(job.Id, j => j.Finished, TimeSpan.FromMinutes(4));
        Assert.True(done.State == JobState.Succeeded, $"training for the inference tests: {done.State}: {done.Error}\n{done.LogTail}");
        await using var db = World.NewContext();
        Model = await db.ModelVersions.AsNoTracking().SingleAsync(m => m.Id == done.ResultModelVersionId);
    }

    public async Task DisposeAsync() => await World.DisposeAsync();

    public static Job InferJob(int modelId, IEnumerable<int> caseIds, string modes = "avg,sal,infer,all", string protocol = "fast",
        IReadOnlyDictionary<string, string>? sampling = null) => new()
    {
        Kind = JobKind.Infer,
        Device = "cpu",
        InputModelVersionId = modelId,
        RequestJson = new JobRequest(
            new Dictionary<string, string>(sampling ?? new Dictionary<string, string>()) { ["modes"] = modes, ["protocol"] = protocol },
            caseIds.ToList(), "test", "inference test").ToJson(),
        CreatedByName = "test",
        SiteKey = ",1,",
    };

    public static Job EvaluateJob(int modelId, IEnumerable<int> caseIds) => new()
    {
        Kind = JobKind.Evaluate,
        Device = "cpu",
        InputModelVersionId = modelId,
        RequestJson = new JobRequest(new Dictionary<string, string> { ["modes"] = "avg,sal,infer,all" }, caseIds.ToList(), "test", "evaluation test").ToJson(),
        CreatedByName = "test",
        SiteKey = ",1,",
    };
}

public class InferenceJobTests(TrainedWorld trained) : IClassFixture<TrainedWorld>
{
    private JobsWorld World => trained.World;

    /// <summary>Dice by counting, independently of the engine's metrics code.</summary>
    private static double CountedDice(Volume<byte> a, Volume<byte> b)
    {
        long inA = 0, inB = 0, both = 0;
        for (var i = 0; i < a.Voxels.Length; i++)
        {
            if (a.Voxels[i] != 0) inA++;
            if (b.Voxels[i] != 0) inB++;
            if (a.Voxels[i] != 0 && b.Voxels[i] != 0) both++;
        }
        return inA + inB == 0 ? 1 : 2.0 * both / (inA + inB);
    }

    private static double CountedMl(Volume<byte> mask)
    {
        var a = mask.Affine;
        var voxelMm3 = Math.Abs(a.Determinant3());
        return mask.Voxels.Count(v => v != 0) * voxelMm3 / 1000.0;
    }

    [Fact]
    public async Task AnInferenceJobStoresEveryModeOfEveryCaseWithMetricsAndALaterJobReplacesOnlyWhatItPredicted()
    {
        var cases = World.CaseIds.Take(2).ToList();
        var job = await World.SubmitAsync(trained.Node, TrainedWorld.InferJob(trained.Model.Id, cases));
        var done = await World.WaitAsync(job.Id, j => j.Finished, TimeSpan.FromMinutes(4));

        Assert.True(done.State == JobState.Succeeded, $"{done.State}: {done.Error}\n{done.LogTail}");
        Assert.Equal((2, 2), (done.Step, done.Total));
        await using var db = World.NewContext();
        var rows = await db.Predictions.AsNoTracking().Where(p => p.JobId == job.Id).ToListAsync();
        Assert.Equal(8, rows.Count);
        Assert.All(rows, r => Assert.True(r.Committed));
        Assert.Equal(["all", "avg", "infer", "sal"], rows.Select(r => r.Mode).Distinct().Order());
        foreach (var row in rows)
        {
            var c = await db.Cases.AsNoTracking().SingleAsync(x => x.Id == row.CaseId);
            var grid = World.Blobs.ReadVolumeHeader(c.ImageBlob).Geometry;
            var mask = World.Blobs.ReadMask(row.MaskBlob, grid);
            var reference = World.Blobs.ReadMask(c.ReferenceBlob!, grid);
            Assert.Equal(CountedMl(mask), row.VolumeMl, 6);
            Assert.Equal(CountedDice(mask, reference), row.Dice!.Value, 9);
            Assert.Equal(CountedMl(reference), row.VolumeRefMl!.Value, 6);
            Assert.Equal(c.ReferenceBlob, row.MetricsReferenceBlob);
            // Probability and SD maps on the case grid, as bytes; where the mask is set the probability is high.
            var probability = World.Blobs.ReadVolume<byte>(row.ProbabilityBlob);
            var sd = World.Blobs.ReadVolume<byte>(row.UncertaintyBlob);
            Assert.Equal(grid.Dims, probability.Dims);
            Assert.Equal(grid.Dims, sd.Dims);
            if (row.Mode == "avg")
            {
                Assert.Equal(0, row.VolumeSdMl);
                Assert.All(sd.Voxels, v => Assert.Equal(0, v)); // deterministic: no spread
            }
            Assert.Equal("fast", row.Protocol);
            Assert.True(row.Mode == "all" ? row.Passes >= 0 : row.Passes > 0, $"{row.Mode}: {row.Passes} passes"); // all reuses the other modes' passes
        }
        var outcome = JobOutcome.Parse(done.ResultJson)!;
        Assert.Equal(2, outcome.Cases);
        Assert.Equal(["avg", "sal", "infer", "all"], outcome.Modes.Select(m => m.Mode));
        var avg = outcome.Modes.Single(m => m.Mode == "avg");
        Assert.Equal(2, avg.Scored);
        Assert.Equal(rows.Where(r => r.Mode == "avg").Average(r => r.Dice!.Value), avg.Dice.Mean!.Value, 9);

        // A second job over one of the cases in one mode replaces just that prediction; the rest stays.
        var again = await World.SubmitAsync(trained.Node, TrainedWorld.InferJob(trained.Model.Id, [cases[0]], modes: "avg"));
        Assert.Equal(JobState.Succeeded, (await World.WaitAsync(again.Id, j => j.Finished, TimeSpan.FromMinutes(3))).State);
        var current = await db.Predictions.AsNoTracking().Where(p => p.ModelVersionId == trained.Model.Id && p.Committed && cases.Contains(p.CaseId)).ToListAsync();
        Assert.Equal(8, current.Count);
        Assert.Equal(again.Id, current.Single(p => p.CaseId == cases[0] && p.Mode == "avg").JobId);
        Assert.Equal(7, current.Count(p => p.JobId == job.Id));

        // An evaluation job after a reference changed scores the stored masks against the new reference.
        var changed = await db.Cases.SingleAsync(c => c.Id == cases[1]);
        var grid1 = World.Blobs.ReadVolumeHeader(changed.ImageBlob).Geometry;
        var newReference = new Volume<byte>(grid1);
        for (var i = 0; i < newReference.Voxels.Length / 3; i++) newReference.Voxels[i] = 1;
        changed.ReferenceBlob = (await World.Blobs.PutMaskAsync(newReference)).Hash;
        await db.SaveChangesAsync();
        var evaluation = await World.SubmitAsync(trained.Node, TrainedWorld.EvaluateJob(trained.Model.Id, World.CaseIds));
        var evaluated = await World.WaitAsync(evaluation.Id, j => j.Finished, TimeSpan.FromMinutes(2));
        Assert.True(evaluated.State == JobState.Succeeded, $"{evaluated.State}: {evaluated.Error}\n{evaluated.LogTail}");
        var rescored = await db.Predictions.AsNoTracking().Where(p => p.CaseId == cases[1] && p.Committed).ToListAsync();
        Assert.Equal(4, rescored.Count);
        foreach (var row in rescored)
        {
            Assert.Equal(changed.ReferenceBlob, row.MetricsReferenceBlob);
            Assert.Equal(CountedDice(World.Blobs.ReadMask(row.MaskBlob, grid1), newReference), row.Dice!.Value, 9);
            Assert.Equal(CountedMl(newReference), row.VolumeRefMl!.Value, 6);
        }
        var summary = JobOutcome.Parse(evaluated.ResultJson)!;
        Assert.Equal(World.CaseIds.Count, summary.Cases);
        var expectedMissing = await db.Cases.Where(c => !cases.Contains(c.Id)).Select(c => c.PseudoId).ToListAsync();
        Assert.Equal(expectedMissing.Order(StringComparer.Ordinal), summary.Missing);
        Assert.Contains("scored against a reference that changed", evaluated.LogTail);
    }

    [Fact]
    public async Task CancelDuringInferenceEndsCancelledAndKeepsNoneOfItsPredictions()
    {
        var job = await World.SubmitAsync(trained.Node, TrainedWorld.InferJob(trained.Model.Id, World.CaseIds));
        // At least one case written (uncommitted) before the cancel.
        await World.WaitAsync(job.Id, j => j.Step >= 1 || j.Finished, TimeSpan.FromMinutes(3));
        await using var db = World.NewContext();
        var written = await db.Predictions.CountAsync(p => p.JobId == job.Id);
        Assert.True(await World.Queue(trained.Node).CancelAsync(job.Id), "the job finished before it could be cancelled");
        var cancelled = await World.WaitAsync(job.Id, j => j.Finished, TimeSpan.FromMinutes(2));

        Assert.Equal(JobState.Cancelled, cancelled.State);
        Assert.True(written > 0, "no case was written before the cancel, so the test proves less than it should");
        Assert.Equal(0, await db.Predictions.CountAsync(p => p.JobId == job.Id));
        Assert.Null(cancelled.ResultJson);
    }

    [Fact]
    public async Task AnInferenceJobResumedAfterItsWorkerDiedSkipsTheCasesAnEarlierAttemptWrote()
    {
        // The first case as an earlier attempt left it: its row written, not committed, when the job is (re)queued.
        var first = World.CaseIds[0];
        await using var db = World.NewContext();
        var grid = World.Blobs.ReadVolumeHeader((await db.Cases.SingleAsync(c => c.Id == first)).ImageBlob).Geometry;
        var earlier = await World.Blobs.PutMaskAsync(new Volume<byte>(grid));
        var maps = await World.Blobs.PutVolumeAsync(new Volume<byte>(grid));
        var submitted = await World.Queue(trained.Node).SubmitAsync(TrainedWorld.InferJob(trained.Model.Id, World.CaseIds.Take(2), modes: "avg"), (ctx, job, ct) =>
        {
            ctx.Predictions.Add(new Prediction
            {
                JobId = job.Id, ModelVersionId = trained.Model.Id, CaseId = first, Mode = "avg", Protocol = "fast", MaskBlob = earlier.Hash,
                ProbabilityBlob = maps.Hash, UncertaintyBlob = maps.Hash, CreatedAt = DateTimeOffset.UtcNow,
            });
            return Task.FromResult(true);
        });
        var done = await World.WaitAsync(submitted!.Id, j => j.Finished, TimeSpan.FromMinutes(3));

        Assert.True(done.State == JobState.Succeeded, $"{done.State}: {done.Error}\n{done.LogTail}");
        Assert.Contains("resuming: 1 of 2 cases were predicted by an earlier attempt", done.LogTail);
        var rows = await db.Predictions.AsNoTracking().Where(p => p.JobId == submitted.Id).OrderBy(p => p.CaseId).ToListAsync();
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.True(r.Committed));
        Assert.Equal(earlier.Hash, rows[0].MaskBlob); // kept, not predicted again
        Assert.Equal(World.CaseIds[1], rows[1].CaseId);
    }

    [Fact]
    public async Task AFineTuningJobStartsFromItsParentsVerifiedWeightsAndRecordsTheParent()
    {
        // A parent of its own, trained past its first EMA updates (every 10 steps): the shared model's 6 steps leave its
        // EMA weights, which fine-tuning starts from, at the random initialisation. The same cases for every run.
        var cases = World.CaseIds.Take(4).ToList();
        var parentJob = await World.SubmitAsync(trained.Node, JobsWorld.TrainJob(cases, steps: 20));
        var parentDone = await World.WaitAsync(parentJob.Id, j => j.Finished, TimeSpan.FromMinutes(3));
        Assert.True(parentDone.State == JobState.Succeeded, $"{parentDone.State}: {parentDone.Error}\n{parentDone.LogTail}");
        var parentId = parentDone.ResultModelVersionId!.Value;
        await using var db = World.NewContext();
        var parent = await db.ModelVersions.AsNoTracking().SingleAsync(m => m.Id == parentId);

        var job = JobsWorld.TrainJob(cases, steps: 3);
        job.InputModelVersionId = parentId;
        var submitted = await World.SubmitAsync(trained.Node, job);
        var done = await World.WaitAsync(submitted.Id, j => j.Finished, TimeSpan.FromMinutes(3));

        Assert.True(done.State == JobState.Succeeded, $"{done.State}: {done.Error}\n{done.LogTail}");
        Assert.Contains("checking its SHA-256", done.LogTail);
        Assert.Contains("starting from the parent model's weights", done.LogTail);
        var child = await db.ModelVersions.AsNoTracking().SingleAsync(m => m.Id == done.ResultModelVersionId);
        Assert.Equal(parentId, child.ParentId);
        Assert.NotEqual(parent.CheckpointBlob, child.CheckpointBlob);
        // Started from the parent: with the same seed and cases, a network from its random initialisation draws the same
        // first batch and has the parent's first loss (the parent's own run is that network), so the child's differs.
        var parentFirst = await db.JobPoints.Where(p => p.JobId == parentJob.Id).OrderBy(p => p.Step).Select(p => p.Loss).FirstAsync();
        var childFirst = await db.JobPoints.Where(p => p.JobId == submitted.Id).OrderBy(p => p.Step).Select(p => p.Loss).FirstAsync();
        var scratch = await World.SubmitAsync(trained.Node, JobsWorld.TrainJob(cases, steps: 1));
        Assert.Equal(JobState.Succeeded, (await World.WaitAsync(scratch.Id, j => j.Finished, TimeSpan.FromMinutes(3))).State);
        var scratchFirst = await db.JobPoints.Where(p => p.JobId == scratch.Id).OrderBy(p => p.Step).Select(p => p.Loss).FirstAsync();
        Assert.NotNull(childFirst);
        Assert.Equal(parentFirst, scratchFirst);
        Assert.NotEqual(parentFirst, childFirst);
    }

    [Fact]
    public async Task AFineTuningJobThroughAnotherFieldThanItsParentsFailsWithTheReasonAndYieldsNoModel()
    {
        // The portal fills in the parent's preprocessing; a job written around it (another worker version, a script on
        // the database) still must not train the parent's weights on heads at another scale.
        var job = JobsWorld.TrainJob(World.CaseIds, steps: 3);
        var request = JobRequest.Parse(job.RequestJson);
        job.RequestJson = (request with { Settings = new Dictionary<string, string>(request.Settings) { ["field-mm"] = "240" } }).ToJson();
        job.InputModelVersionId = trained.Model.Id;
        var submitted = await World.SubmitAsync(trained.Node, job);
        var done = await World.WaitAsync(submitted.Id, j => j.Finished, TimeSpan.FromMinutes(3));

        Assert.Equal(JobState.Failed, done.State);
        Assert.Contains("cannot fine-tune: the parent was trained with field-mm none (the whole matrix)", done.Error);
        Assert.Contains("this run with field-mm 240", done.Error);
        Assert.Null(done.ResultModelVersionId);
        await using var db = World.NewContext();
        Assert.False(await db.ModelVersions.AnyAsync(m => m.JobId == submitted.Id));
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("corrupt")]
    public async Task AMissingOrCorruptCheckpointFailsTheInferenceJobWithItsReasonAndWritesNothing(string fault)
    {
        var bytes = RandomNumberGenerator.GetBytes(4096);
        string hash;
        if (fault == "missing")
        {
            hash = Convert.ToHexStringLower(SHA256.HashData(bytes)); // never stored
        }
        else
        {
            hash = (await World.Blobs.PutAsync(new MemoryStream(bytes))).Hash;
            var path = Path.Combine(World.Host.BlobFolder, hash[..2], hash[2..4], hash);
            var damaged = File.ReadAllBytes(path);
            damaged[100] ^= 0xFF; // one flipped byte on disk
            File.SetAttributes(path, FileAttributes.Normal);
            File.WriteAllBytes(path, damaged);
        }
        await using var db = World.NewContext();
        var broken = new ModelVersion
        {
            Name = $"{fault} checkpoint", Model = "sdpm", Preset = "tiny", Recipe = "", CheckpointBlob = hash, CheckpointBytes = bytes.Length,
            SiteKey = ",1,", CreatedByName = "test", CreatedAt = DateTimeOffset.UtcNow,
        };
        db.ModelVersions.Add(broken);
        await db.SaveChangesAsync();

        var job = await World.SubmitAsync(trained.Node, TrainedWorld.InferJob(broken.Id, World.CaseIds.Take(1)));
        var failed = await World.WaitAsync(job.Id, j => j.Finished, TimeSpan.FromMinutes(2));

        Assert.Equal(JobState.Failed, failed.State);
        Assert.Contains(fault == "missing" ? "is missing from the blob store" : "is corrupt", failed.Error);
        Assert.Contains($"model version {broken.Id}", failed.Error);
        Assert.Equal(0, await db.Predictions.CountAsync(p => p.JobId == job.Id));
        Assert.False(Directory.Exists(Path.Combine(World.DataFolder, "jobs", $"job-{job.Id}", "model", "checkpoint.sdpm")));
    }
}

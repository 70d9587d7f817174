using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Imaging.Volumes;
using Sdpm.Portal.Features.Leaderboards;
using Sdpm.Portal.Tests.Cohorts;
using Sdpm.Portal.Tests.Infrastructure;
using Sdpm.Storage;

namespace Sdpm.Portal.Tests.Leaderboards;

/// <summary>A leaderboard over stored predictions: its numbers against an independent computation and against
/// `sdpm eval` on the same files, a changed reference (stale, then rescored), the paired comparison, the exports, who may
/// read what, and a prediction whose blob is gone.</summary>
public class LeaderboardApiTests(CohortPortal portal) : IClassFixture<CohortPortal>
{
    private sealed record World(int SplitId, int ModelId, IReadOnlyList<(int Id, string Pseudo)> TestCases);

    /// <summary>8 uploaded cases, a split with half of them in test, and a model version with two modes' predictions of
    /// each test case made from its reference: avg drops every third lesion voxel, sal adds a block of false positives.
    /// Metrics are left for the portal's upkeep to compute.</summary>
    private async Task<World> WorldAsync(string name, ulong seed)
    {
        using var files = new TestCases();
        for (var i = 0; i < 8; i++) files.WriteNifti("cases", $"case{i}", TestCases.Case(i, seed));
        var cohort = await portal.CreateCohortAsync($"Leaderboard {name}");
        Assert.Equal(HttpStatusCode.OK, (await portal.UploadAsync(cohort, files.Zip("cases", "cases.zip"))).Status);
        using var investigator = portal.As("investigator");
        var created = await investigator.PostAsJsonAsync("/api/splits",
            new { name, cohortIds = new[] { cohort }, fractions = new { train = 0.5, validation = 0.0, test = 0.5 }, seed = 7 });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var splitId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt32();

        var blobs = portal.Service<IBlobStore>();
        await using var db = await portal.Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        var site = await db.Sites.Where(s => s.Name == "North").Select(s => s.Id).SingleAsync();
        var testIds = await db.DatasetSplitCases.Where(c => c.SplitId == splitId && c.Subset == Sdpm.Data.Entities.SplitSubset.Test).Select(c => c.CaseId!.Value).ToListAsync();
        var job = new Job { Kind = JobKind.Infer, State = JobState.Succeeded, SiteKey = $",{site},", CreatedByName = "test", CreatedAt = DateTimeOffset.UtcNow, SplitId = splitId };
        db.Jobs.Add(job);
        var model = new ModelVersion { Name = $"{name} model", Model = "sdpm", Preset = "tiny", CheckpointBlob = new string('a', 64), SiteKey = $",{site},", CreatedByName = "test", CreatedAt = DateTimeOffset.UtcNow };
        db.ModelVersions.Add(model);
        await db.SaveChangesAsync();
        var cases = new List<(int, string)>();
        foreach (var id in testIds)
        {
            var c = await db.Cases.SingleAsync(x => x.Id == id);
            var grid = blobs.ReadVolumeHeader(c.ImageBlob).Geometry;
            var reference = blobs.ReadMask(c.ReferenceBlob!, grid);
            var avg = new Volume<byte>(grid);
            var sal = new Volume<byte>(grid);
            var lesion = 0;
            for (var v = 0; v < reference.Voxels.Length; v++)
            {
                if (reference.Voxels[v] == 0) continue;
                sal.Voxels[v] = 1;
                if (lesion++ % 3 != 0) avg.Voxels[v] = 1;
            }
            for (var v = 0; v < 40 * (1 + id % 3); v++) sal.Voxels[v] = 1;
            foreach (var (mode, mask) in new[] { ("avg", avg), ("sal", sal) })
            {
                var blob = await blobs.PutMaskAsync(mask);
                db.Predictions.Add(new Prediction
                {
                    JobId = job.Id, ModelVersionId = model.Id, CaseId = id, Mode = mode, Protocol = "fast", MaskBlob = blob.Hash, ProbabilityBlob = blob.Hash,
                    UncertaintyBlob = blob.Hash, VolumeMl = Sdpm.Imaging.Masks.MaskVolume.VolumeMl(mask), Committed = true, CreatedAt = DateTimeOffset.UtcNow,
                });
            }
            cases.Add((id, c.PseudoId));
        }
        await db.SaveChangesAsync();
        await portal.Service<PredictionUpkeep>().RunOnceAsync();
        return new World(splitId, model.Id, cases.OrderBy(c => c.Item2, StringComparer.Ordinal).ToList());
    }

    private static JsonElement Row(JsonElement board, int model, string mode) =>
        board.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("modelVersionId").GetInt32() == model && r.GetProperty("mode").GetString() == mode);

    [Fact]
    public async Task TheLeaderboardAgreesWithAnIndependentComputationAndWithSdpmEvalOnTheSameFiles()
    {
        var world = await WorldAsync("Agreement", 61);
        using var investigator = portal.As("investigator");
        var board = await investigator.GetFromJsonAsync<JsonElement>($"/api/leaderboards/{world.SplitId}?subset=test");
        var cases = await investigator.GetFromJsonAsync<JsonElement>($"/api/leaderboards/{world.SplitId}/cases?subset=test");
        Assert.Equal(world.TestCases.Count * 2, cases.GetArrayLength());

        // Independently: Dice by counting voxels of the downloaded files; mean, sample SD, Pearson r and VDP by hand.
        var pred = Directory.CreateTempSubdirectory("sdpm-pred-").FullName;
        var refs = Directory.CreateTempSubdirectory("sdpm-ref-").FullName;
        var dice = new List<double>();
        var volumes = new List<(double Pred, double Ref)>();
        foreach (var (id, pseudo) in world.TestCases)
        {
            var p = await investigator.GetByteArrayAsync($"/api/models/{world.ModelId}/predictions/{id}/avg.nii.gz");
            var r = await investigator.GetByteArrayAsync($"/api/cases/{id}/reference.nii.gz");
            await File.WriteAllBytesAsync(Path.Combine(pred, $"{pseudo}.nii.gz"), p);
            await File.WriteAllBytesAsync(Path.Combine(refs, $"{pseudo}.nii.gz"), r);
            var pm = Sdpm.Imaging.Nifti.NiftiReader.ReadMask(Path.Combine(pred, $"{pseudo}.nii.gz"));
            var rm = Sdpm.Imaging.Nifti.NiftiReader.ReadMask(Path.Combine(refs, $"{pseudo}.nii.gz"));
            long a = 0, b = 0, both = 0;
            for (var v = 0; v < pm.Voxels.Length; v++)
            {
                if (pm.Voxels[v] != 0) a++;
                if (rm.Voxels[v] != 0) b++;
                if (pm.Voxels[v] != 0 && rm.Voxels[v] != 0) both++;
            }
            dice.Add(a + b == 0 ? 1 : 2.0 * both / (a + b)); // both empty: full agreement
            var voxelMl = Math.Abs(pm.Affine.Determinant3()) / 1000;
            volumes.Add((a * voxelMl, b * voxelMl));
        }
        var avg = Row(board, world.ModelId, "avg");
        var mean = dice.Average();
        var sd = Math.Sqrt(dice.Sum(d => (d - mean) * (d - mean)) / (dice.Count - 1));
        Assert.Equal(world.TestCases.Count, avg.GetProperty("n").GetInt32());
        Assert.Equal(mean, avg.GetProperty("dice").GetProperty("mean").GetDouble(), 9);
        Assert.Equal(sd, avg.GetProperty("dice").GetProperty("sd").GetDouble(), 9);
        var (mp, mr) = (volumes.Average(v => v.Pred), volumes.Average(v => v.Ref));
        var r2 = volumes.Sum(v => (v.Pred - mp) * (v.Ref - mr)) / Math.Sqrt(volumes.Sum(v => (v.Pred - mp) * (v.Pred - mp)) * volumes.Sum(v => (v.Ref - mr) * (v.Ref - mr)));
        Assert.Equal(r2, avg.GetProperty("vc").GetProperty("mean").GetDouble(), 9);
        var withLesion = volumes.Where(v => v.Ref > 0).ToList(); // VDP leaves out cases without lesion
        Assert.Equal(withLesion.Average(v => Math.Abs(v.Pred - v.Ref) / v.Ref), avg.GetProperty("vdp").GetProperty("mean").GetDouble(), 9);
        Assert.Equal(volumes.Count - withLesion.Count, avg.GetProperty("noLesionExcluded").GetInt32());
        var lo = avg.GetProperty("dice").GetProperty("ciLow").GetDouble();
        var hi = avg.GetProperty("dice").GetProperty("ciHigh").GetDouble();
        Assert.True(lo <= mean && mean <= hi, $"CI {lo}..{hi} around {mean}");

        // sdpm eval on the same files gives the same numbers, CIs included.
        var cli = Path.Combine(PortalFactory.RepositoryRoot, "src", "Sdpm.Cli", "bin", "Release", "net10.0", "sdpm.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { cli, "eval", "--pred", pred, "--ref", refs, "--json" }) psi.ArgumentList.Add(arg);
        using var process = Process.Start(psi)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, await process.StandardError.ReadToEndAsync());
        var eval = JsonDocument.Parse(output).RootElement;
        foreach (var (metric, cliName) in new[] { ("dice", "dice"), ("vc", "vc"), ("vdp", "vdp") })
        {
            Assert.Equal(eval.GetProperty(cliName).GetProperty("mean").GetDouble(), avg.GetProperty(metric).GetProperty("mean").GetDouble(), 9);
            Assert.Equal(eval.GetProperty(cliName).GetProperty("ci_low").GetDouble(), avg.GetProperty(metric).GetProperty("ciLow").GetDouble(), 9);
            Assert.Equal(eval.GetProperty(cliName).GetProperty("ci_high").GetDouble(), avg.GetProperty(metric).GetProperty("ciHigh").GetDouble(), 9);
        }
        Directory.Delete(pred, true);
        Directory.Delete(refs, true);

        // The paired comparison: avg wins where sal's false positives cost more than avg's misses, counted here.
        var salDice = cases.EnumerateArray().Where(c => c.GetProperty("mode").GetString() == "sal").OrderBy(c => c.GetProperty("case").GetString(), StringComparer.Ordinal)
            .Select(c => c.GetProperty("dice").GetDouble()).ToList();
        var comparison = await investigator.GetFromJsonAsync<JsonElement>($"/api/leaderboards/{world.SplitId}/compare?subset=test&a={world.ModelId}:avg&b={world.ModelId}:sal");
        Assert.Equal(world.TestCases.Count, comparison.GetProperty("common").GetInt32());
        Assert.Equal(dice.Zip(salDice).Average(x => x.First - x.Second), comparison.GetProperty("meanDifference").GetDouble(), 9);
        Assert.Equal(dice.Zip(salDice).Count(x => x.First - x.Second > 1e-9), comparison.GetProperty("winsA").GetInt32());
        // Its drill-down: each common case with both Dice, in case-id order, and the rows' model versions and modes to open them with.
        var pairs = comparison.GetProperty("cases").EnumerateArray().ToList();
        Assert.Equal(world.TestCases.Select(c => c.Id).Order(), pairs.Select(p => p.GetProperty("caseId").GetInt32()));
        var byCase = world.TestCases.Select((c, i) => (c.Id, Avg: dice[i], Sal: salDice[i])).ToDictionary(x => x.Id);
        foreach (var p in pairs)
        {
            var expected = byCase[p.GetProperty("caseId").GetInt32()];
            Assert.Equal(expected.Avg, p.GetProperty("diceA").GetDouble(), 9);
            Assert.Equal(expected.Sal, p.GetProperty("diceB").GetDouble(), 9);
            Assert.Equal(expected.Avg - expected.Sal, p.GetProperty("difference").GetDouble(), 9);
        }
        Assert.Equal((world.ModelId, "avg", world.ModelId, "sal"), (comparison.GetProperty("modelVersionA").GetInt32(), comparison.GetProperty("modeA").GetString(),
            comparison.GetProperty("modelVersionB").GetInt32(), comparison.GetProperty("modeB").GetString()));

        // Exports.
        var csv = await investigator.GetStringAsync($"/api/leaderboards/{world.SplitId}.csv?subset=test");
        Assert.StartsWith("modelVersionId,modelName,", csv);
        Assert.Contains($"{world.ModelId},Agreement model,sdpm,tiny,avg,,{world.TestCases.Count},", csv);
        var casesCsv = await investigator.GetStringAsync($"/api/leaderboards/{world.SplitId}/cases.csv?subset=test");
        Assert.Equal(world.TestCases.Count * 2 + 1, casesCsv.Trim().Split('\n').Length);
        Assert.Equal(12, board.GetProperty("published").GetProperty("rows").GetArrayLength());
        Assert.Contains("not comparable", board.GetProperty("published").GetProperty("label").GetString());
    }

    [Fact]
    public async Task AChangedReferenceMakesItsPredictionsStaleUntilTheyAreScoredAgainstTheNewOne()
    {
        var world = await WorldAsync("Stale", 67);
        using var investigator = portal.As("investigator");
        var before = Row(await investigator.GetFromJsonAsync<JsonElement>($"/api/leaderboards/{world.SplitId}?subset=test"), world.ModelId, "avg");
        var cases0 = await investigator.GetFromJsonAsync<JsonElement>($"/api/leaderboards/{world.SplitId}/cases?subset=test");
        // A case with a lesion, whose reference becomes empty.
        var caseId = cases0.EnumerateArray().First(c => c.GetProperty("mode").GetString() == "avg" && c.GetProperty("volumeRefMl").GetDouble() > 0).GetProperty("caseId").GetInt32();
        var blobs = portal.Service<IBlobStore>();
        await using (var db = await portal.Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync())
        {
            var c = await db.Cases.SingleAsync(x => x.Id == caseId);
            var grid = blobs.ReadVolumeHeader(c.ImageBlob).Geometry;
            c.ReferenceBlob = (await blobs.PutMaskAsync(new Volume<byte>(grid))).Hash; // the reference is now empty
            await db.SaveChangesAsync();
        }
        var stale = await investigator.GetFromJsonAsync<JsonElement>($"/api/leaderboards/{world.SplitId}?subset=test");
        Assert.Equal(2, stale.GetProperty("stalePredictions").GetInt32());
        Assert.Equal(world.TestCases.Count - 1, Row(stale, world.ModelId, "avg").GetProperty("n").GetInt32());
        Assert.Equal(1, Row(stale, world.ModelId, "avg").GetProperty("stale").GetInt32());

        Assert.Equal(2, await portal.Service<PredictionUpkeep>().RunOnceAsync());
        var fresh = await investigator.GetFromJsonAsync<JsonElement>($"/api/leaderboards/{world.SplitId}?subset=test");
        Assert.Equal(0, fresh.GetProperty("stalePredictions").GetInt32());
        var avg = Row(fresh, world.ModelId, "avg");
        Assert.Equal(world.TestCases.Count, avg.GetProperty("n").GetInt32());
        Assert.Equal(before.GetProperty("noLesionExcluded").GetInt32() + 1, avg.GetProperty("noLesionExcluded").GetInt32()); // the empty reference is left out of VDP
        var cases = await investigator.GetFromJsonAsync<JsonElement>($"/api/leaderboards/{world.SplitId}/cases?subset=test");
        var rescored = cases.EnumerateArray().Single(c => c.GetProperty("caseId").GetInt32() == caseId && c.GetProperty("mode").GetString() == "avg");
        Assert.Equal(0, rescored.GetProperty("volumeRefMl").GetDouble());
        Assert.Equal(0, rescored.GetProperty("dice").GetDouble()); // a non-empty prediction against an empty reference
    }

    [Fact]
    public async Task OnlyInvestigatorsReadScoresAnEmptyPartSaysWhatToDoAndAGoneBlobIsAClearError()
    {
        var world = await WorldAsync("Access", 71);
        using var coordinator = portal.As("coordinator");
        Assert.Equal(HttpStatusCode.Forbidden, (await coordinator.GetAsync($"/api/leaderboards/{world.SplitId}/cases?subset=test")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await coordinator.GetAsync($"/api/leaderboards/{world.SplitId}?subset=test")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await coordinator.GetAsync($"/api/models/{world.ModelId}/predictions/{world.TestCases[0].Id}/avg.nii.gz")).StatusCode);

        using var investigator = portal.As("investigator");
        var train = await investigator.GetFromJsonAsync<JsonElement>($"/api/leaderboards/{world.SplitId}?subset=train");
        Assert.Equal(0, train.GetProperty("rows").GetArrayLength());
        Assert.Equal(HttpStatusCode.BadRequest, (await investigator.GetAsync($"/api/leaderboards/{world.SplitId}?subset=holdout")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await investigator.GetAsync($"/api/leaderboards/{world.SplitId}?by=scanner")).StatusCode);
        var missingMode = await investigator.GetAsync($"/api/models/{world.ModelId}/predictions/{world.TestCases[0].Id}/infer.nii.gz");
        Assert.Equal(HttpStatusCode.NotFound, missingMode.StatusCode);
        Assert.Contains("run an inference job", await missingMode.Content.ReadAsStringAsync());

        await using var db = await portal.Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        var blob = await db.Predictions.Where(p => p.ModelVersionId == world.ModelId && p.CaseId == world.TestCases[0].Id && p.Mode == "avg").Select(p => p.MaskBlob).SingleAsync();
        Assert.True(portal.Service<IBlobStore>().Delete(blob));
        var gone = await investigator.GetAsync($"/api/models/{world.ModelId}/predictions/{world.TestCases[0].Id}/avg.nii.gz");
        Assert.Equal(HttpStatusCode.Conflict, gone.StatusCode);
        Assert.Contains("cannot be read", await gone.Content.ReadAsStringAsync());
    }
}

/// <summary>Model-assisted annotation: an annotator starts a draft from a prediction (never one of a test-part case), and
/// the annotation records where it started from.</summary>
public class StartFromPredictionTests(CohortPortal portal) : IClassFixture<CohortPortal>
{
    [Fact]
    public async Task AnAnnotatorStartsADraftFromAPredictionOfACaseOutsideTheTestPartAndItsOriginIsKept()
    {
        using var files = new TestCases();
        for (var i = 0; i < 4; i++) files.WriteNifti("cases", $"case{i}", TestCases.Case(i, 83));
        var cohort = await portal.CreateCohortAsync("Start from prediction");
        Assert.Equal(HttpStatusCode.OK, (await portal.UploadAsync(cohort, files.Zip("cases", "cases.zip"))).Status);
        using var investigator = portal.As("investigator");
        var created = await investigator.PostAsJsonAsync("/api/splits",
            new { name = "Start from prediction", cohortIds = new[] { cohort }, fractions = new { train = 0.5, validation = 0.0, test = 0.5 }, seed = 3 });
        var splitId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt32();

        var blobs = portal.Service<IBlobStore>();
        int trainCase, testCase, modelId;
        Volume<byte> predicted;
        await using (var db = await portal.Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync())
        {
            trainCase = await db.DatasetSplitCases.Where(c => c.SplitId == splitId && c.Subset == Sdpm.Data.Entities.SplitSubset.Train).Select(c => c.CaseId!.Value).FirstAsync();
            testCase = await db.DatasetSplitCases.Where(c => c.SplitId == splitId && c.Subset == Sdpm.Data.Entities.SplitSubset.Test).Select(c => c.CaseId!.Value).FirstAsync();
            var site = await db.Sites.Where(s => s.Name == "North").Select(s => s.Id).SingleAsync();
            var job = new Job { Kind = JobKind.Infer, State = JobState.Succeeded, SiteKey = $",{site},", CreatedByName = "test", CreatedAt = DateTimeOffset.UtcNow };
            var model = new ModelVersion { Name = "assisting model", Model = "sdpm", Preset = "tiny", CheckpointBlob = new string('a', 64), SiteKey = $",{site},", CreatedByName = "test", CreatedAt = DateTimeOffset.UtcNow };
            db.Jobs.Add(job);
            db.ModelVersions.Add(model);
            await db.SaveChangesAsync();
            modelId = model.Id;
            foreach (var id in new[] { trainCase, testCase })
            {
                var grid = blobs.ReadVolumeHeader(await db.Cases.Where(c => c.Id == id).Select(c => c.ImageBlob).SingleAsync()).Geometry;
                var mask = new Volume<byte>(grid);
                for (var v = 1000; v < 1400; v++) mask.Voxels[v] = 1;
                if (id == trainCase) predicted = mask;
                var blob = await blobs.PutMaskAsync(mask);
                db.Predictions.Add(new Prediction
                {
                    JobId = job.Id, ModelVersionId = model.Id, CaseId = id, Mode = "avg", Protocol = "fast", MaskBlob = blob.Hash, ProbabilityBlob = blob.Hash,
                    UncertaintyBlob = blob.Hash, VolumeMl = 1, Committed = true, CreatedAt = DateTimeOffset.UtcNow,
                });
            }
            await db.SaveChangesAsync();
            predicted = blobs.ReadMask(await db.Predictions.Where(p => p.CaseId == trainCase).Select(p => p.MaskBlob).SingleAsync(),
                blobs.ReadVolumeHeader(await db.Cases.Where(c => c.Id == trainCase).Select(c => c.ImageBlob).SingleAsync()).Geometry);
        }

        using var annotator = portal.As("annotator");
        var offered = await annotator.GetFromJsonAsync<JsonElement>($"/api/cases/{trainCase}/annotations/starting-points");
        Assert.Equal(1, offered.GetArrayLength());
        Assert.Equal(modelId, offered[0].GetProperty("modelVersionId").GetInt32());
        var hidden = await annotator.GetFromJsonAsync<JsonElement>($"/api/cases/{testCase}/annotations/starting-points");
        Assert.Equal(0, hidden.GetArrayLength()); // a test-part case: its predictions are for investigators only
        Assert.Equal(HttpStatusCode.NotFound, (await annotator.GetAsync($"/api/cases/{testCase}/annotations/starting-points/{modelId}/avg.rle")).StatusCode);
        var rle = await annotator.GetByteArrayAsync($"/api/cases/{trainCase}/annotations/starting-points/{modelId}/avg.rle");
        Assert.Equal(blobs.ReadMaskRunLength((await PredictionBlobAsync(trainCase))), rle);

        // The first autosave of a draft started from the prediction: the edited slice over the prediction's mask.
        var service = portal.Service<Sdpm.Portal.Features.Annotations.AnnotationService>();
        Assert.True((await service.AssignAsync(trainCase, "annotator", Sdpm.Portal.Features.Audit.Actor.System)).Succeeded);
        var userId = await UserIdAsync("annotator");
        var sliceLength = predicted!.Dims.SliceLength;
        var lastSlice = predicted.Dims.Z - 1;
        var edited = new byte[sliceLength];
        edited[5] = 1;
        var saved = await service.SaveSlicesAsync(trainCase, userId, new("x", "annotator"), new Dictionary<int, byte[]> { [lastSlice] = edited }, null, false,
            default, (modelId, "avg"));
        Assert.True(saved.Error == Sdpm.Portal.Features.Annotations.AnnotationError.None, saved.Message);
        await using (var db = await portal.Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync())
        {
            var annotation = await db.Annotations.SingleAsync(a => a.CaseId == trainCase && a.AnnotatorId == userId);
            Assert.Equal($"prediction: model version {modelId} (assisting model), avg", annotation.StartedFrom);
            var mask = blobs.ReadMask(annotation.MaskBlob!, predicted.Geometry);
            Assert.Equal(predicted.Voxels.AsSpan(0, lastSlice * sliceLength).ToArray(), mask.Voxels.AsSpan(0, lastSlice * sliceLength).ToArray());
            Assert.Equal(edited, mask.Voxels.AsSpan(lastSlice * sliceLength).ToArray());
        }
        // Not from a test-part case's prediction.
        Assert.True((await service.AssignAsync(testCase, "annotator", Sdpm.Portal.Features.Audit.Actor.System)).Succeeded);
        var refused = await service.SaveSlicesAsync(testCase, userId, new("x", "annotator"), new Dictionary<int, byte[]> { [0] = new byte[sliceLength] }, null, false,
            default, (modelId, "avg"));
        Assert.Equal(Sdpm.Portal.Features.Annotations.AnnotationError.Invalid, refused.Error);
    }

    [Fact]
    public async Task AnInvestigatorPreparesAnAnnotatorsDraftFromATestPartPredictionAndTheDraftSaysSo()
    {
        using var files = new TestCases();
        for (var i = 0; i < 4; i++) files.WriteNifti("cases", $"case{i}", TestCases.Case(i, 89));
        var cohort = await portal.CreateCohortAsync("Prepared drafts");
        Assert.Equal(HttpStatusCode.OK, (await portal.UploadAsync(cohort, files.Zip("cases", "cases.zip"))).Status);
        using var investigator = portal.As("investigator");
        var created = await investigator.PostAsJsonAsync("/api/splits",
            new { name = "Prepared drafts", cohortIds = new[] { cohort }, fractions = new { train = 0.5, validation = 0.0, test = 0.5 }, seed = 5 });
        var splitId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt32();
        var blobs = portal.Service<IBlobStore>();
        int testCase, modelId;
        Volume<byte> predicted;
        await using (var db = await portal.Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync())
        {
            testCase = await db.DatasetSplitCases.Where(c => c.SplitId == splitId && c.Subset == Sdpm.Data.Entities.SplitSubset.Test).Select(c => c.CaseId!.Value).FirstAsync();
            var site = await db.Sites.Where(s => s.Name == "North").Select(s => s.Id).SingleAsync();
            var job = new Job { Kind = JobKind.Infer, State = JobState.Succeeded, SiteKey = $",{site},", CreatedByName = "test", CreatedAt = DateTimeOffset.UtcNow };
            var model = new ModelVersion { Name = "pre-annotating model", Model = "sdpm", Preset = "tiny", CheckpointBlob = new string('b', 64), SiteKey = $",{site},", CreatedByName = "test", CreatedAt = DateTimeOffset.UtcNow };
            db.Jobs.Add(job);
            db.ModelVersions.Add(model);
            await db.SaveChangesAsync();
            modelId = model.Id;
            var grid = blobs.ReadVolumeHeader(await db.Cases.Where(c => c.Id == testCase).Select(c => c.ImageBlob).SingleAsync()).Geometry;
            predicted = new Volume<byte>(grid);
            for (var v = 2000; v < 2600; v++) predicted.Voxels[v] = 1;
            var blob = await blobs.PutMaskAsync(predicted);
            db.Predictions.Add(new Prediction
            {
                JobId = job.Id, ModelVersionId = model.Id, CaseId = testCase, Mode = "avg", Protocol = "fast", MaskBlob = blob.Hash, ProbabilityBlob = blob.Hash,
                UncertaintyBlob = blob.Hash, VolumeMl = 1, Committed = true, CreatedAt = DateTimeOffset.UtcNow,
            });
            await db.SaveChangesAsync();
        }
        var url = $"/api/cases/{testCase}/annotations/prepared";

        // Who may: investigators of the case's site only; the annotator cannot serve themselves a test-part prediction this way.
        using (var annotatorClient = portal.As("annotator"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await annotatorClient.PostAsJsonAsync(url, new { annotator = "annotator", modelVersionId = modelId, mode = "avg" })).StatusCode);
        }
        using (var coordinator = portal.As("coordinator"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await coordinator.PostAsJsonAsync(url, new { annotator = "annotator", modelVersionId = modelId, mode = "avg" })).StatusCode);
        }
        // Bad requests leave nothing behind.
        Assert.Equal(HttpStatusCode.BadRequest, (await investigator.PostAsJsonAsync(url, new { annotator = "annotator", modelVersionId = modelId })).StatusCode);
        var noMode = await investigator.PostAsJsonAsync(url, new { annotator = "annotator", modelVersionId = modelId, mode = "sal" });
        Assert.Equal(HttpStatusCode.BadRequest, noMode.StatusCode);
        Assert.Contains("no sal prediction", await noMode.Content.ReadAsStringAsync());
        var notAnnotator = await investigator.PostAsJsonAsync(url, new { annotator = "coordinator", modelVersionId = modelId, mode = "avg" });
        Assert.Equal(HttpStatusCode.BadRequest, notAnnotator.StatusCode);
        Assert.Contains("not an annotator of this case's site", await notAnnotator.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await investigator.PostAsJsonAsync(url, new { annotator = "annotator", modelVersionId = 999_999, mode = "avg" })).StatusCode);
        var userId = await UserIdAsync("annotator");
        await using (var db = await portal.Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync())
        {
            Assert.False(await db.CaseAssignments.AnyAsync(a => a.CaseId == testCase));
            Assert.False(await db.Annotations.AnyAsync(a => a.CaseId == testCase));
        }

        var ok = await investigator.PostAsJsonAsync(url, new { annotator = "annotator", modelVersionId = modelId, mode = "avg" });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var summary = await ok.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("annotator", summary.GetProperty("annotator").GetString());
        Assert.Equal("draft", summary.GetProperty("state").GetString());
        Assert.Equal($"prediction: model version {modelId}, avg; prepared by investigator", summary.GetProperty("startedFrom").GetString());

        // The annotator finds it assigned, as their draft, with the prediction's voxels, and edits it as their own.
        using var annotator = portal.As("annotator");
        var mine = await annotator.GetFromJsonAsync<JsonElement>($"/api/cases/{testCase}/annotations");
        Assert.Equal(summary.GetProperty("id").GetInt32(), mine[0].GetProperty("id").GetInt32());
        await using (var db = await portal.Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync())
        {
            Assert.True(await db.CaseAssignments.AnyAsync(a => a.CaseId == testCase && a.AnnotatorId == userId));
            var annotation = await db.Annotations.SingleAsync(a => a.CaseId == testCase);
            Assert.Equal(userId, annotation.AnnotatorId);
            Assert.Equal(predicted.Voxels, blobs.ReadMask(annotation.MaskBlob!, predicted.Geometry).Voxels);
            Assert.True(await db.AuditEvents.AnyAsync(e => e.Action == Sdpm.Portal.Features.Audit.AuditActions.AnnotationPrepared && e.UserName == "investigator"));
        }
        // A second one would overwrite their work: refused, and what they have stays.
        var again = await investigator.PostAsJsonAsync(url, new { annotator = "annotator", modelVersionId = modelId, mode = "avg" });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("has an annotation of this case already", await again.Content.ReadAsStringAsync());
    }

    private async Task<string> PredictionBlobAsync(int caseId)
    {
        await using var db = await portal.Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        return await db.Predictions.Where(p => p.CaseId == caseId).Select(p => p.MaskBlob).SingleAsync();
    }

    private async Task<string> UserIdAsync(string name)
    {
        await using var db = await portal.Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        return await db.Users.Where(u => u.UserName == name).Select(u => u.Id).SingleAsync();
    }
}

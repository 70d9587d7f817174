using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sdpm.Portal.Tests.Cohorts;
using Sdpm.Portal.Tests.Infrastructure;

namespace Sdpm.Portal.Tests.Jobs;

/// <summary>A portal that runs a worker, as ./run.sh does: its engine processes are the built Sdpm.Worker.</summary>
public sealed class WorkerPortal() : CohortPortal(new Dictionary<string, string?>
{
    ["Jobs:RunWorker"] = "true",
    ["Jobs:WorkerCommand"] = Path.Combine(RepositoryRoot, "src", "Sdpm.Worker", "bin", "Release", "net10.0", "Sdpm.Worker.dll"),
    ["Jobs:Heartbeat"] = "00:00:01",
})
{
    private readonly Sdpm.Portal.Tests.Infrastructure.CapturedLogs logs = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureLogging(l => l.AddProvider(logs));
    }

    /// <summary>What the job engine holds of a job, for a failure message: the row's delivery, that background job's
    /// states, the servers and the workers.</summary>
    public string JobEngineReport(int jobId)
    {
        var report = new System.Text.StringBuilder();
        try
        {
            using var scope = Services.CreateScope();
            var db = scope.ServiceProvider.GetRequiredService<Sdpm.Data.PortalDbContext>();
            var row = db.Jobs.AsNoTracking().Single(j => j.Id == jobId);
            report.AppendLine($"row: state {row.State}, delivery {row.DispatchId ?? "none"}, worker {row.WorkerName ?? "none"}, attempts {row.Attempts}");
            foreach (var w in db.WorkerNodes.AsNoTracking().ToList())
                report.AppendLine($"worker {w.Name}: devices {w.Devices}, heartbeat {w.HeartbeatAt:O}, current job {w.CurrentJobId?.ToString() ?? "none"}");
            var monitoring = Services.GetRequiredService<Hangfire.JobStorage>().GetMonitoringApi();
            foreach (var server in monitoring.Servers())
                report.AppendLine($"server {server.Name}: queues {string.Join(',', server.Queues)}, workers {server.WorkersCount}, heartbeat {server.Heartbeat:O}");
            foreach (var queue in monitoring.Queues()) report.AppendLine($"queue {queue.Name}: {queue.Length} enqueued, {queue.Fetched} fetched");
            if (row.DispatchId is { } id && !id.StartsWith("pending", StringComparison.Ordinal) && monitoring.JobDetails(id) is { } details)
            {
                foreach (var h in details.History)
                    report.AppendLine($"delivery {id}: {h.StateName} at {h.CreatedAt:O} {h.Reason} {string.Join("; ", h.Data.Select(d => $"{d.Key}={d.Value}"))}");
            }
        }
        catch (Exception e)
        {
            report.AppendLine($"(the report stopped: {e.Message})");
        }
        report.AppendLine("the portal's last warnings and errors:").AppendLine(logs.ToString());
        return report.ToString();
    }
}

/// <summary>Training through the API as a script does it: a split, a job, its progress, the model version and its
/// checkpoint; and what the API refuses.</summary>
public class JobApiTests(WorkerPortal portal) : IClassFixture<WorkerPortal>
{
    private async Task<int> SplitAsync(string name, ulong seed)
    {
        using var files = new TestCases();
        for (var i = 0; i < 4; i++) files.WriteNifti("cases", $"case{i}", TestCases.Case(i, seed)); // other scans per test: no duplicates
        var cohort = await portal.CreateCohortAsync($"Jobs {name}");
        var (status, _) = await portal.UploadAsync(cohort, files.Zip("cases", "cases.zip"));
        Assert.Equal(HttpStatusCode.OK, status);
        using var investigator = portal.As("investigator");
        var created = await investigator.PostAsJsonAsync("/api/splits",
            new { name, cohortIds = new[] { cohort }, fractions = new { train = 0.5, validation = 0.25, test = 0.25 }, seed = 3 });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt32();
    }

    [Fact]
    public async Task AScriptTrainsOnASplitFollowsTheJobAndDownloadsTheVerifiedCheckpoint()
    {
        var splitId = await SplitAsync("Script split", 31);
        using var investigator = portal.As("investigator");

        // With the settings meant for other scanners (wide augmentation, a 240 mm physical field): the whole journey below
        // then runs through them.
        var posted = await investigator.PostAsJsonAsync("/api/jobs", new { kind = "train", splitId, model = "sdpm", preset = "tiny", steps = 8, seed = 5, device = "cpu",
            settings = new Dictionary<string, string> { ["augment"] = "wide", ["field-mm"] = "240" } });
        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
        var jobId = (await posted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt32();

        // The split is frozen by the job: an edit is refused and names the copy route.
        var split = await investigator.GetFromJsonAsync<JsonElement>($"/api/splits/{splitId}");
        Assert.True(split.GetProperty("frozen").GetBoolean());

        var job = await FinishedAsync(investigator, jobId);
        Assert.True(job.GetProperty("state").GetString() == "succeeded", job.ToString());
        Assert.Equal(8, job.GetProperty("step").GetInt32());
        Assert.Equal(8, job.GetProperty("total").GetInt32());
        var modelId = job.GetProperty("modelVersionId").GetInt32();

        var curve = await investigator.GetFromJsonAsync<JsonElement>($"/api/jobs/{jobId}/curve");
        Assert.True(curve.GetArrayLength() > 0);
        var models = await investigator.GetFromJsonAsync<JsonElement>("/api/models");
        var model = models.EnumerateArray().Single(m => m.GetProperty("id").GetInt32() == modelId);
        Assert.Equal(splitId, model.GetProperty("splitId").GetInt32());
        Assert.Equal("tiny", model.GetProperty("preset").GetString());
        Assert.Equal(("wide", "240"), (job.GetProperty("settings").GetProperty("augment").GetString(), job.GetProperty("settings").GetProperty("field-mm").GetString()));
        var trained = JsonDocument.Parse(model.GetProperty("optionsJson").GetString()!).RootElement;
        Assert.Equal(1.5, trained.GetProperty("Augmentation").GetProperty("ContrastMax").GetDouble());
        Assert.Equal(240, trained.GetProperty("Preprocessing").GetProperty("FieldMm").GetDouble());
        var checkpoint = await investigator.GetByteArrayAsync($"/api/models/{modelId}/checkpoint");
        Assert.Equal(model.GetProperty("checkpointSha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(checkpoint)));

        // Inference with the new model on the split's test part, all four modes and two sampling values of the script's
        // own, then an evaluation of it.
        var inferred = await FinishedAsync(investigator, await PostJobAsync(investigator,
            new { kind = "infer", modelVersionId = modelId, splitId, subset = "test", modes = new[] { "avg", "sal", "infer", "all" }, protocol = "fast",
                settings = new Dictionary<string, string> { ["infer-repeats"] = "2", ["ETA"] = " 1 " } }));
        Assert.True(inferred.GetProperty("state").GetString() == "succeeded", inferred.ToString());
        var settings = inferred.GetProperty("settings");
        Assert.Equal(("fast", "2", "1"), (settings.GetProperty("protocol").GetString(), settings.GetProperty("infer-repeats").GetString(), settings.GetProperty("eta").GetString()));
        Assert.False(settings.TryGetProperty("ti", out _)); // only what the script set replaces the protocol's
        // The engine ran with them: its first line names them, and counts the passes with infer's N = 2 (T = 500, fast:
        // avg 1 + sal 2 x 10 + infer 2 x 11).
        var log = await investigator.GetStringAsync($"/api/jobs/{inferred.GetProperty("id").GetInt32()}/log");
        Assert.Contains("protocol fast with infer-repeats 2, eta 1, modes avg,sal,infer,all, 43 passes per slice", log);
        Assert.Equal(modelId, inferred.GetProperty("inputModelVersionId").GetInt32());
        Assert.Equal("test", inferred.GetProperty("subset").GetString());
        var testCases = split.GetProperty("test").GetArrayLength();
        Assert.Equal(testCases, inferred.GetProperty("total").GetInt32());
        var modes = inferred.GetProperty("result").GetProperty("modes").EnumerateArray().Select(m => m.GetProperty("mode").GetString()).ToList();
        Assert.Equal(["avg", "sal", "infer", "all"], modes);
        var predictions = await investigator.GetFromJsonAsync<JsonElement>($"/api/jobs/{inferred.GetProperty("id").GetInt32()}/predictions");
        Assert.Equal(testCases * 4, predictions.GetArrayLength());
        Assert.All(predictions.EnumerateArray(), p => Assert.Equal(JsonValueKind.Number, p.GetProperty("dice").ValueKind)); // the cases have references
        var ofModel = await investigator.GetFromJsonAsync<JsonElement>($"/api/models/{modelId}/predictions");
        Assert.Equal(testCases * 4, ofModel.GetArrayLength());
        var evaluated = await FinishedAsync(investigator, await PostJobAsync(investigator, new { kind = "evaluate", modelVersionId = modelId, splitId, subset = "test" }));
        Assert.True(evaluated.GetProperty("state").GetString() == "succeeded", evaluated.ToString());
        var dice = evaluated.GetProperty("result").GetProperty("modes")[0].GetProperty("dice").GetProperty("mean").GetDouble();
        var expected = predictions.EnumerateArray().Where(p => p.GetProperty("mode").GetString() == "avg").Average(p => p.GetProperty("dice").GetDouble());
        Assert.Equal(expected, dice, 9);

        // Fine-tuning reads scans as the parent learned to: another field is refused, none given is the parent's.
        var otherField = await investigator.PostAsJsonAsync("/api/jobs", new { kind = "train", splitId, parentModelVersionId = modelId, steps = 2, seed = 6,
            settings = new Dictionary<string, string> { ["field-mm"] = "200" } });
        Assert.Equal(HttpStatusCode.BadRequest, otherField.StatusCode);
        Assert.Contains($"Cannot fine-tune model version {modelId}: the parent was trained with field-mm 240, skull-above-hu none", await otherField.Content.ReadAsStringAsync());
        Assert.Contains("this run with field-mm 200,", await otherField.Content.ReadAsStringAsync());
        var fineTuned = await FinishedAsync(investigator, await PostJobAsync(investigator, new { kind = "train", splitId, parentModelVersionId = modelId, steps = 2, seed = 6 }));
        Assert.True(fineTuned.GetProperty("state").GetString() == "succeeded", fineTuned.ToString());
        Assert.Equal("240", fineTuned.GetProperty("settings").GetProperty("field-mm").GetString());
        Assert.Equal(("sdpm", "tiny"), (fineTuned.GetProperty("settings").GetProperty("model").GetString(), fineTuned.GetProperty("settings").GetProperty("preset").GetString()));
        var child = (await investigator.GetFromJsonAsync<JsonElement>("/api/models")).EnumerateArray()
            .Single(m => m.GetProperty("id").GetInt32() == fineTuned.GetProperty("modelVersionId").GetInt32());
        Assert.Equal(modelId, child.GetProperty("parentId").GetInt32());
        Assert.Equal(240, JsonDocument.Parse(child.GetProperty("optionsJson").GetString()!).RootElement.GetProperty("Preprocessing").GetProperty("FieldMm").GetDouble());

        // A checkpoint changed on disk is refused with a clear message, not handed out.
        var path = Directory.GetFiles(Path.Combine(portal.DataFolder, "blobs"), model.GetProperty("checkpointSha256").GetString()!, SearchOption.AllDirectories).Single();
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[^1] ^= 0xff;
        File.SetAttributes(path, FileAttributes.Normal);
        await File.WriteAllBytesAsync(path, bytes);
        var corrupt = await investigator.GetAsync($"/api/models/{modelId}/checkpoint");
        Assert.Equal(HttpStatusCode.InternalServerError, corrupt.StatusCode);
        Assert.Contains("corrupt", await corrupt.Content.ReadAsStringAsync());

        // The annotator of the site sees no job (investigators only).
        using var annotator = portal.As("annotator");
        Assert.Equal(HttpStatusCode.Forbidden, (await annotator.GetAsync($"/api/jobs/{jobId}")).StatusCode);
    }

    private static async Task<int> PostJobAsync(HttpClient client, object body)
    {
        var posted = await client.PostAsJsonAsync("/api/jobs", body);
        Assert.True(posted.StatusCode == HttpStatusCode.Created, await posted.Content.ReadAsStringAsync());
        return (await posted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt32();
    }

    private async Task<JsonElement> FinishedAsync(HttpClient client, int jobId)
    {
        var deadline = DateTime.UtcNow.AddMinutes(4);
        while (true)
        {
            var job = await client.GetFromJsonAsync<JsonElement>($"/api/jobs/{jobId}");
            if (job.GetProperty("state").GetString() is "succeeded" or "failed" or "cancelled") return job;
            if (DateTime.UtcNow >= deadline) Assert.Fail($"job {jobId} has not finished after 4 minutes: {job}\n{portal.JobEngineReport(jobId)}");
            await Task.Delay(500);
        }
    }

    [Fact]
    public async Task BadJobRequestsAreRefusedWithAMessageAndQueueNothing()
    {
        var splitId = await SplitAsync("Refusals", 37);
        using var investigator = portal.As("investigator");
        async Task<string> Refused(object body)
        {
            var response = await investigator.PostAsJsonAsync("/api/jobs", body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString()!;
        }

        Assert.Contains("preset", await Refused(new { kind = "train", splitId, preset = "huge", steps = 5, device = "cpu" }));
        Assert.Contains("steps", await Refused(new { kind = "train", splitId, preset = "tiny", steps = 0, device = "cpu" }));
        Assert.Contains("device", await Refused(new { kind = "train", splitId, preset = "tiny", steps = 5, device = "gpu" }));
        Assert.Contains("augment must be standard, wide or none, got 'strong'", await Refused(new { kind = "train", splitId, preset = "tiny", steps = 5, device = "cpu", settings = new Dictionary<string, string> { ["augment"] = "strong" } }));
        Assert.Contains("contradict", await Refused(new { kind = "train", splitId, preset = "tiny", steps = 5, device = "cpu", settings = new Dictionary<string, string> { ["augment"] = "wide", ["no-augment"] = "true" } }));
        Assert.Contains("learning-rate", await Refused(new { kind = "train", splitId, preset = "tiny", steps = 5, device = "cpu", settings = new Dictionary<string, string> { ["learning-rate"] = "1" } }));
        Assert.Contains("kind", await Refused(new { splitId, preset = "tiny" }));
        Assert.Contains("splitId", await Refused(new { kind = "train", preset = "tiny" }));
        Assert.Contains("modelVersionId", await Refused(new { kind = "infer", splitId, subset = "test" }));
        Assert.Contains("modelVersionId", await Refused(new { kind = "evaluate", splitId }));

        // With a model version (a row with any checkpoint: nothing here runs), the inference settings are checked.
        int modelId;
        await using (var db = await portal.Service<IDbContextFactory<Sdpm.Data.PortalDbContext>>().CreateDbContextAsync())
        {
            var site = await db.Sites.Where(s => s.Name == "North").Select(s => s.Id).SingleAsync();
            var model = new Sdpm.Data.Entities.ModelVersion
            {
                Name = "refusals", Model = "sdpm", Preset = "tiny", CheckpointBlob = new string('a', 64), SiteKey = $",{site},", CreatedByName = "test", CreatedAt = DateTimeOffset.UtcNow,
                OptionsJson = """{"DiffusionSteps":50}""",
            };
            db.ModelVersions.Add(model);
            await db.SaveChangesAsync();
            modelId = model.Id;
        }
        Assert.Contains("modes", await Refused(new { kind = "infer", modelVersionId = modelId, splitId, modes = new[] { "avg", "median" } }));
        Assert.Contains("protocol", await Refused(new { kind = "infer", modelVersionId = modelId, splitId, protocol = "slow" }));
        Assert.Contains("subset", await Refused(new { kind = "infer", modelVersionId = modelId, splitId, subset = "holdout" }));
        Assert.Contains("either a split", await Refused(new { kind = "infer", modelVersionId = modelId }));
        Assert.Contains("device", await Refused(new { kind = "infer", modelVersionId = modelId, splitId, device = "tpu" }));
        // Sampling settings: only the sampling keys, each value in its range, and a window the model's T holds.
        Assert.Contains("\"subset\" is not a sampling setting", await Refused(new { kind = "infer", modelVersionId = modelId, splitId, settings = new Dictionary<string, string> { ["subset"] = "train" } }));
        Assert.Contains("\"learning-rate\" is not a sampling setting", await Refused(new { kind = "infer", modelVersionId = modelId, splitId, settings = new Dictionary<string, string> { ["learning-rate"] = "1" } }));
        Assert.Contains("eta must be a number from 0 to 1, got '2'", await Refused(new { kind = "infer", modelVersionId = modelId, splitId, settings = new Dictionary<string, string> { ["eta"] = "2" } }));
        Assert.Contains("infer-repeats must be an integer", await Refused(new { kind = "infer", modelVersionId = modelId, splitId, settings = new Dictionary<string, string> { ["infer-repeats"] = "four" } }));
        Assert.Contains("T = 50 diffusion steps", await Refused(new { kind = "infer", modelVersionId = modelId, splitId, settings = new Dictionary<string, string> { ["ti"] = "51" } }));
        Assert.Contains("kind and preset", await Refused(new { kind = "train", splitId, preset = "small", parentModelVersionId = modelId }));
        Assert.Contains("bce-weight does not apply to the U-Net", await Refused(new { kind = "train", splitId, model = "unet", preset = "tiny",
            settings = new Dictionary<string, string> { ["bce-weight"] = "1" } }));
        var missing = await investigator.PostAsJsonAsync("/api/jobs", new { kind = "infer", modelVersionId = 999_999, splitId });
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        var split = await investigator.GetFromJsonAsync<JsonElement>($"/api/splits/{splitId}");
        Assert.False(split.GetProperty("frozen").GetBoolean()); // nothing was queued, so nothing froze it
        var jobs = await investigator.GetFromJsonAsync<JsonElement>("/api/jobs");
        Assert.DoesNotContain(jobs.EnumerateArray(), j => j.GetProperty("splitId").ValueKind == JsonValueKind.Number && j.GetProperty("splitId").GetInt32() == splitId);
    }
}

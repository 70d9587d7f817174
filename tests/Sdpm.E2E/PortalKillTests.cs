using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Synthetic;
using Sdpm.Imaging.Volumes;

namespace Sdpm.E2E;

/// <summary>
/// kill -9 of the real portal process (no browser): during a multi-case upload, during a stream of autosaves and during
/// a training job run by its own worker. After each, the portal is started again on the same data folder and must have
/// lost nothing it acknowledged, show nothing half-written and go on without a manual step.
/// </summary>
[Collection(Alone.Name)]
public class PortalKillTests
{
    private static readonly Dictionary<string, string> Quiet = new()
    {
        ["Demo:CasesPerSite"] = "0", // no background demo import competing for the two cores
        ["Jobs:RunWorker"] = "false",
    };

    private static HttpClient Client(PortalServer server, string user)
    {
        var token = JsonDocument.Parse(File.ReadAllText(Path.Combine(server.DataFolder, "demo-tokens.json"))).RootElement.GetProperty(user).GetString();
        var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response, string what)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{what}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static async Task<int> CreateCohortAsync(HttpClient coordinator, string name) =>
        (await JsonAsync(await coordinator.PostAsJsonAsync("/api/sites/1/cohorts", new { name, lesionType = "mixed" }), "create cohort")).GetProperty("id").GetInt32();

    /// <summary>A zip of synthetic NIfTI cases with their reference masks.</summary>
    private static (string Zip, List<SyntheticCase> Cases) WriteZip(string folder, int cases, int size, int slices, ulong seed)
    {
        var options = new CohortOptions(cases, 1, seed, LesionMode.Mixed, Size: size, Slices: slices, LesionFreeFraction: 0);
        var list = new List<SyntheticCase>();
        var dir = Path.Combine(folder, "cases");
        Directory.CreateDirectory(dir);
        for (var i = 0; i < cases; i++)
        {
            var c = CohortGenerator.GenerateCase(options, i);
            list.Add(c);
            NiftiWriter.Write(Path.Combine(dir, $"case{i:D2}.nii.gz"), c.Image, new NiftiWriteOptions(Description: "test"));
            MaskVolume.WriteNifti(Path.Combine(dir, $"case{i:D2}_mask.nii.gz"), c.Mask, c.Image.Geometry);
        }
        var zip = Path.Combine(folder, "cases.zip");
        ZipFile.CreateFromDirectory(dir, zip, CompressionLevel.Fastest, includeBaseDirectory: false);
        return (zip, list);
    }

    private static async Task<HttpResponseMessage> UploadAsync(HttpClient coordinator, int cohortId, string zip, CancellationToken ct = default)
    {
        await using var stream = File.OpenRead(zip);
        using var content = new StreamContent(stream);
        return await coordinator.PostAsync($"/api/cohorts/{cohortId}/uploads?fileName=cases.zip", content, ct);
    }

    /// <summary>Every blob file under its name hashes to that name: a blob cut off by the kill is never visible as whole.</summary>
    private static void AssertEveryVisibleBlobIsWhole(string dataFolder)
    {
        var root = Path.Combine(dataFolder, "blobs");
        var bad = new List<string>();
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, file);
            if (relative.StartsWith(".tmp", StringComparison.Ordinal)) continue; // temporaries, never read as blobs
            using var s = File.OpenRead(file);
            var hash = Convert.ToHexStringLower(SHA256.HashData(s));
            if (hash != Path.GetFileName(file)) bad.Add(relative);
        }
        Assert.True(bad.Count == 0, $"blobs whose content does not match their name (half-written and visible): {string.Join(", ", bad)}");
    }

    private static async Task<Volume<short>> DownloadImageAsync(HttpClient client, int caseId)
    {
        var response = await client.GetAsync($"/api/cases/{caseId}/image.nii.gz");
        Assert.True(response.IsSuccessStatusCode, $"case {caseId}: its image cannot be read after the restart ({(int)response.StatusCode} {await response.Content.ReadAsStringAsync()})");
        await using var body = await response.Content.ReadAsStreamAsync();
        return NiftiReader.Read(body, "image.nii.gz").ToInt16();
    }

    [Fact]
    public async Task APortalKilledDuringAZipUploadKeepsEveryCommittedCaseWholeMarksTheBatchInterruptedAndARetryImportsTheRest()
    {
        var work = Directory.CreateTempSubdirectory("sdpm-kill-upload-").FullName;
        try
        {
            const int count = 16;
            var (zip, cases) = WriteZip(work, count, size: 256, slices: 16, seed: 71);
            await using var first = await PortalServer.StartAsync(null, Quiet);
            int cohortId;
            int batchId;
            List<int> reported;
            using (var coordinator = Client(first, "coordinator"))
            {
                cohortId = await CreateCohortAsync(coordinator, "Killed upload");
                using var cut = new CancellationTokenSource();
                var upload = UploadAsync(coordinator, cohortId, zip, cut.Token);
                // What the portal reports while the upload runs: the batch's per-case results (each committed with its case).
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (true)
                {
                    var batches = await JsonAsync(await coordinator.GetAsync($"/api/cohorts/{cohortId}/imports"), "imports");
                    var imported = batches.GetArrayLength() == 0 ? [] : batches[0].GetProperty("results").EnumerateArray()
                        .Where(r => r.GetProperty("caseId").ValueKind == JsonValueKind.Number).Select(r => r.GetProperty("caseId").GetInt32()).ToList();
                    if (imported.Count >= 2)
                    {
                        await first.KillAsync(); // kill -9, mid-batch
                        batchId = batches[0].GetProperty("id").GetInt32();
                        reported = imported;
                        break;
                    }
                    Assert.False(upload.IsCompletedSuccessfully, "the upload ended before the portal could be killed: the test proves nothing");
                    Assert.True(DateTime.UtcNow < deadline, $"no case was imported within 60 s:\n{first.Log}");
                    await Task.Delay(50);
                }
                await Assert.ThrowsAnyAsync<Exception>(() => upload); // the client never got an answer
            }

            await using var second = await PortalServer.StartAsync(first.DataFolder, Quiet);
            using var client = Client(second, "coordinator");
            var batch = (await JsonAsync(await client.GetAsync($"/api/cohorts/{cohortId}/imports"), "imports after the restart")).EnumerateArray()
                .Single(b => b.GetProperty("id").GetInt32() == batchId);
            Assert.True(batch.GetProperty("interrupted").GetBoolean(), $"the killed batch is not marked interrupted: {batch}");
            var committed = batch.GetProperty("results").EnumerateArray().Where(r => r.GetProperty("caseId").ValueKind == JsonValueKind.Number)
                .Select(r => (Id: r.GetProperty("caseId").GetInt32(), Name: r.GetProperty("name").GetString()!)).ToList();
            Assert.True(committed.Count < count, "every case was imported before the kill: the test proves nothing");
            Assert.Equal(committed.Count, batch.GetProperty("importedCount").GetInt32());
            var lost = reported.Except(committed.Select(c => c.Id)).ToList();
            Assert.True(lost.Count == 0, $"cases reported as imported before the kill are gone: {string.Join(", ", lost)}");

            // No case row without its result and blobs: the cohort holds exactly the committed cases, each image whole.
            var page = await JsonAsync(await client.GetAsync($"/api/cohorts/{cohortId}/cases?take=100"), "cases");
            var rows = page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetInt32()).Order().ToList();
            Assert.Equal(committed.Select(c => c.Id).Order(), rows);
            foreach (var (id, name) in committed)
            {
                var image = await DownloadImageAsync(client, id);
                var source = cases[int.Parse(System.Text.RegularExpressions.Regex.Match(name, @"case(\d\d)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)].Image;
                Assert.True(image.Voxels.AsSpan().SequenceEqual(source.Voxels), $"case {id} ({name}): its stored image differs from the uploaded one");
            }
            AssertEveryVisibleBlobIsWhole(second.DataFolder);

            // The same upload again, no manual step: the committed cases are refused as duplicates, the rest imported.
            var retry = await JsonAsync(await UploadAsync(client, cohortId, zip), "the retried upload");
            Assert.Equal(count - committed.Count, retry.GetProperty("imported").GetInt32());
            var refused = retry.GetProperty("cases").EnumerateArray().Where(c => c.GetProperty("status").GetString() != "imported").ToList();
            Assert.Equal(committed.Count, refused.Count);
            Assert.All(refused, r => Assert.StartsWith("Duplicate", r.GetProperty("reason").GetString()));
            Assert.Equal(count, (await JsonAsync(await client.GetAsync($"/api/cohorts/{cohortId}/cases?take=100"), "cases")).GetProperty("total").GetInt32());
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static Volume<byte> NumberedMask(VolumeGeometry grid, int save)
    {
        // Save n sets n * 13 voxels from the start (x fastest), and a marker voxel whose position depends on n: two
        // saves never give the same mask.
        var mask = new Volume<byte>(grid);
        for (var i = 0; i < save * 13 && i < mask.Voxels.Length; i++) mask.Voxels[i] = 1;
        mask.Voxels[mask.Voxels.Length - 1 - save] = 1;
        return mask;
    }

    private static async Task<HttpResponseMessage> SaveAsync(HttpClient annotator, int caseId, Volume<byte> mask, int? ifMatch)
    {
        using var ms = new MemoryStream();
        NiftiWriter.Write(ms, mask, gzip: true);
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/api/cases/{caseId}/annotations/mine") { Content = new ByteArrayContent(ms.ToArray()) };
        if (ifMatch is { } v) request.Headers.IfMatch.Add(new EntityTagHeaderValue($"\"{v}\""));
        return await annotator.SendAsync(request);
    }

    [Fact]
    public async Task APortalKilledDuringAutosavesKeepsTheLastAcknowledgedSaveWholeAndSavingGoesOn()
    {
        var work = Directory.CreateTempSubdirectory("sdpm-kill-autosave-").FullName;
        try
        {
            var (zip, _) = WriteZip(work, 1, size: 128, slices: 8, seed: 72);
            await using var first = await PortalServer.StartAsync(null, Quiet);
            int caseId;
            VolumeGeometry grid;
            using (var coordinator = Client(first, "coordinator"))
            {
                var cohortId = await CreateCohortAsync(coordinator, "Killed autosave");
                caseId = (await JsonAsync(await UploadAsync(coordinator, cohortId, zip), "upload")).GetProperty("cases")[0].GetProperty("caseId").GetInt32();
                await JsonAsync(await coordinator.PostAsJsonAsync($"/api/cases/{caseId}/assignments", new { annotator = "annotator" }), "assign");
                grid = (await DownloadImageAsync(coordinator, caseId)).Geometry;
            }

            // The annotator saves one version after another; the portal is killed at a random moment among them.
            var gate = new object();
            var acknowledged = (Version: 0, Save: 0);
            var inFlight = 0;
            (int Version, int Save) Acknowledged() { lock (gate) return acknowledged; }
            var killAfter = TimeSpan.FromMilliseconds(Random.Shared.Next(800, 3000));
            using (var annotator = Client(first, "annotator"))
            {
                var saver = Task.Run(async () =>
                {
                    for (var n = 1; ; n++)
                    {
                        Volatile.Write(ref inFlight, n);
                        var ack = Acknowledged();
                        var response = await SaveAsync(annotator, caseId, NumberedMask(grid, n), ack.Version == 0 ? null : ack.Version);
                        Assert.True(response.StatusCode == HttpStatusCode.OK, $"save {n}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                        var version = int.Parse(response.Headers.ETag!.Tag.Trim('"'), System.Globalization.CultureInfo.InvariantCulture);
                        lock (gate) acknowledged = (version, n);
                    }
                });
                var started = Stopwatch.StartNew();
                while (Acknowledged().Version < 3 || started.Elapsed < killAfter)
                {
                    Assert.False(saver.IsCompleted, $"the saves stopped before the kill: {saver.Exception}");
                    await Task.Delay(10);
                }
                await first.KillAsync();
                var ex = await Assert.ThrowsAnyAsync<Exception>(() => saver); // the save in flight got no answer
                Assert.False(ex is Xunit.Sdk.XunitException, ex.Message);
            }
            var last = Acknowledged();
            var unanswered = Volatile.Read(ref inFlight);

            await using var second = await PortalServer.StartAsync(first.DataFolder, Quiet);
            using var again = Client(second, "annotator");
            var annotation = (await JsonAsync(await again.GetAsync($"/api/cases/{caseId}/annotations"), "annotations after the restart")).EnumerateArray().Single();
            var version = annotation.GetProperty("version").GetInt32();
            // The stored version is the last acknowledged one, or the one in flight if it committed before the kill (its
            // answer was lost, but it is whole); never an older one (an acknowledged save lost) or a later one.
            var expectedSave = version == last.Version ? last.Save
                : version == last.Version + 1 ? unanswered
                : throw new Xunit.Sdk.XunitException($"after the kill the annotation is at version {version}; the last acknowledged save was version {last.Version} (save {last.Save}), killed after {killAfter.TotalMilliseconds:0} ms");
            var maskResponse = await again.GetAsync($"/api/annotations/{annotation.GetProperty("id").GetInt32()}/mask.nii.gz");
            Assert.True(maskResponse.IsSuccessStatusCode, $"the stored mask cannot be read: {(int)maskResponse.StatusCode}");
            await using (var body = await maskResponse.Content.ReadAsStreamAsync())
            {
                var stored = NiftiReader.Read(body, "mask.nii.gz").ToMask();
                Assert.True(stored.Voxels.AsSpan().SequenceEqual(NumberedMask(grid, expectedSave).Voxels),
                    $"version {version}: its voxels are not those of save {expectedSave} (last acknowledged: version {last.Version}, save {last.Save})");
            }
            AssertEveryVisibleBlobIsWhole(second.DataFolder);

            // Saving goes on from the stored version; a save against an older one is refused as stale.
            var next = await SaveAsync(again, caseId, NumberedMask(grid, unanswered + 1), version);
            Assert.Equal(HttpStatusCode.OK, next.StatusCode);
            Assert.Equal($"\"{version + 1}\"", next.Headers.ETag!.Tag);
            Assert.Equal(HttpStatusCode.PreconditionFailed, (await SaveAsync(again, caseId, NumberedMask(grid, 1), version)).StatusCode);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task<JsonElement> WaitForJobAsync(HttpClient investigator, int jobId, Func<JsonElement, bool> until, TimeSpan timeout, PortalServer server)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var job = await JsonAsync(await investigator.GetAsync($"/api/jobs/{jobId}"), "job");
            if (until(job)) return job;
            Assert.True(DateTime.UtcNow < deadline, $"job {jobId} after {timeout.TotalSeconds:0} s: {job}\n{server.Log}");
            Assert.False(server.HasExited, $"the portal exited:\n{server.Log}");
            await Task.Delay(250);
        }
    }

    [Fact]
    public async Task APortalKilledDuringATrainingJobTakesTheJobOverAfterTheLeaseAndItResumesFromItsCheckpoint()
    {
        var work = Directory.CreateTempSubdirectory("sdpm-kill-train-").FullName;
        try
        {
            var workerDll = Path.Combine(PortalServer.RepositoryRoot, "src", "Sdpm.Worker", "bin", "Release", "net10.0", "Sdpm.Worker.dll");
            Assert.True(File.Exists(workerDll), $"{workerDll} is missing: build the solution in Release");
            var settings = new Dictionary<string, string>
            {
                ["Demo:CasesPerSite"] = "0",
                ["Jobs:RunWorker"] = "true",
                ["Jobs:WorkerCommand"] = workerDll,
                ["Jobs:Lease"] = "00:00:06",
                ["Jobs:Heartbeat"] = "00:00:01",
                ["Jobs:ClusterCheckin"] = "00:00:02",
            };
            var (zip, _) = WriteZip(work, 5, size: 128, slices: 6, seed: 73);
            await using var first = await PortalServer.StartAsync(null, settings);
            int jobId;
            using (var coordinator = Client(first, "coordinator"))
            using (var investigator = Client(first, "investigator"))
            {
                var cohortId = await CreateCohortAsync(coordinator, "Killed training");
                Assert.Equal(5, (await JsonAsync(await UploadAsync(coordinator, cohortId, zip), "upload")).GetProperty("imported").GetInt32());
                var split = await JsonAsync(await investigator.PostAsJsonAsync("/api/splits",
                    new { name = "Kill split", cohortIds = new[] { cohortId }, fractions = new { train = 0.6, validation = 0.2, test = 0.2 }, seed = 1 }), "split");
                jobId = (await JsonAsync(await investigator.PostAsJsonAsync("/api/jobs", new
                {
                    kind = "train", splitId = split.GetProperty("id").GetInt32(), model = "sdpm", preset = "tiny", steps = 200, seed = 1, device = "cpu",
                    settings = new Dictionary<string, string> { ["checkpoint-every"] = "10" },
                }), "submit")).GetProperty("id").GetInt32();
                // Past the checkpoint of step 10, with 188 steps to go: on a quiet machine a tiny step takes 0.1 s, and with
                // 18 steps left the job once ended before the kill.
                var running = await WaitForJobAsync(investigator, jobId, j => j.GetProperty("step").GetInt32() >= 12 || j.GetProperty("state").GetString() is "succeeded" or "failed",
                    TimeSpan.FromMinutes(3), first);
                Assert.True(running.GetProperty("state").GetString() == "running", $"the job ended before the kill: {running}");
            }
            await first.KillAsync();

            var restarted = Stopwatch.StartNew();
            await using var second = await PortalServer.StartAsync(first.DataFolder, settings);
            using var client = Client(second, "investigator");
            var takenOver = await WaitForJobAsync(client, jobId, j => j.GetProperty("attempts").GetInt32() >= 2 || j.GetProperty("state").GetString() is "succeeded" or "failed",
                TimeSpan.FromSeconds(60), second);
            var takeOver = restarted.Elapsed;
            var done = await WaitForJobAsync(client, jobId, j => j.GetProperty("state").GetString() is "succeeded" or "failed" or "cancelled", TimeSpan.FromMinutes(3), second);
            var log = await (await client.GetAsync($"/api/jobs/{jobId}/log")).Content.ReadAsStringAsync();

            Assert.True(done.GetProperty("state").GetString() == "succeeded", $"the job did not succeed after the restart: {done}\n{log}");
            Assert.Equal(2, done.GetProperty("attempts").GetInt32());
            Assert.True(takenOver.GetProperty("attempts").GetInt32() >= 2, $"not taken over: {takenOver}");
            Assert.Contains("resuming from the run's last checkpoint", log);
            var models = (await JsonAsync(await client.GetAsync("/api/models"), "models")).EnumerateArray().ToList();
            Assert.True(models.Count == 1, $"{models.Count} model versions after the restart (one expected): {string.Join("\n", models)}");
            Assert.Equal(done.GetProperty("modelVersionId").GetInt32(), models[0].GetProperty("id").GetInt32());
            Assert.Equal(200, models[0].GetProperty("steps").GetInt32());
            var checkpoint = await client.GetAsync($"/api/models/{models[0].GetProperty("id").GetInt32()}/checkpoint");
            Assert.True(checkpoint.IsSuccessStatusCode, $"the model's checkpoint cannot be read: {(int)checkpoint.StatusCode}");
            // The curve goes on from the checkpoint, not from step 1.
            var steps = (await JsonAsync(await client.GetAsync($"/api/jobs/{jobId}/curve"), "curve")).EnumerateArray().Select(p => p.GetProperty("step").GetInt32()).ToList();
            Assert.True(steps.Count(s => s == 1) <= 1, $"the second attempt started over from step 1: {string.Join(",", steps)}");
            Assert.True(takeOver < TimeSpan.FromSeconds(45), $"the job was taken over {takeOver.TotalSeconds:0} s after the restart began (lease 6 s)");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}

/// <summary>Test classes that run by themselves, after the others: the kill tests train a model with both cores, which
/// held a browser journey's click back past its 20 s navigation timeout when they ran side by side.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class Alone
{
    public const string Name = "alone";
}

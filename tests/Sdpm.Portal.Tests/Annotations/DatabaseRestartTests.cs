using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Volumes;
using Sdpm.Portal.Tests.Cohorts;
using Sdpm.Storage;
using Sdpm.Testing;
using Xunit.Abstractions;

namespace Sdpm.Portal.Tests.Annotations;

/// <summary>A portal on a PostgreSQL server of its own (on PostgreSQL runs), so that restarting it does not cut off the
/// other test classes that run at the same time on the shared throw-away server.</summary>
public sealed class PrivateServerPortal : CohortPortal
{
    public PrivateServerPortal() : this(Start())
    {
    }

    private PrivateServerPortal((string? Folder, Dictionary<string, string?> Settings) server) : base(server.Settings)
    {
        ServerFolder = server.Folder;
    }

    /// <summary>The server's folder (scripts/postgres-throwaway.sh); null on SQLite runs.</summary>
    public string? ServerFolder { get; }

    private static (string?, Dictionary<string, string?>) Start()
    {
        if (!TestDatabase.IsPostgreSql) return (null, []);
        var folder = Path.Combine(Path.GetTempPath(), "sdpm-pg-" + Guid.NewGuid().ToString("N")[..12]);
        var (code, output, errors) = Script("start", folder);
        if (code != 0) throw new InvalidOperationException($"the private PostgreSQL server did not start: {errors}");
        // As an administrator would (README, "Database"): the portal's database exists before the portal starts.
        using (var admin = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(output.Trim()) { Pooling = false }.ConnectionString))
        {
            admin.Open();
            using var create = new Npgsql.NpgsqlCommand("CREATE DATABASE sdpm_restart", admin);
            create.ExecuteNonQuery();
        }
        var connection = new Npgsql.NpgsqlConnectionStringBuilder(output.Trim()) { Database = "sdpm_restart" }.ConnectionString;
        return (folder, new Dictionary<string, string?> { ["ConnectionStrings:Portal"] = connection });
    }

    public static (int Code, string Output, string Errors) Script(string command, string folder)
    {
        using var script = Process.Start(new ProcessStartInfo(Path.Combine(RepositoryRoot, "scripts", "postgres-throwaway.sh"), [command, folder])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        })!;
        var errors = script.StandardError.ReadToEndAsync();
        var output = script.StandardOutput.ReadToEnd();
        script.WaitForExit();
        return (script.ExitCode, output, errors.Result);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && ServerFolder is not null)
        {
            Npgsql.NpgsqlConnection.ClearAllPools();
            Script("stop", ServerFolder);
        }
    }
}

/// <summary>The database server restarted while annotators autosave (PostgreSQL: <c>pg_ctl restart -m fast</c> of a
/// throw-away server of the test's own): saves during the outage fail with a 5xx and are not acknowledged, the portal
/// recovers by itself, and every acknowledged save is what the database holds afterwards.</summary>
public class DatabaseRestartTests(PrivateServerPortal portal, ITestOutputHelper output) : IClassFixture<PrivateServerPortal>
{

    private static Volume<byte> NumberedMask(VolumeGeometry grid, int save)
    {
        var mask = new Volume<byte>(grid);
        for (var i = 0; i < save * 5 % mask.Voxels.Length; i++) mask.Voxels[i] = 1;
        mask.Voxels[mask.Voxels.Length - 1 - save % 1000] = 1;
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

    private sealed class Annotator
    {
        public required int CaseId { get; init; }
        public required VolumeGeometry Grid { get; init; }
        public int Version; // the last acknowledged version (0: none yet)
        public int Save; // the save number of that version
        public int Acknowledged;
        public readonly List<string> Failures = [];
        public readonly List<string> FailuresAfterTheRestart = []; // of saves sent once the server was back
    }

    private async Task RestartServerAsync(string serverFolder)
    {
        var restart = Stopwatch.StartNew();
        var (code, _, errors) = await Task.Run(() => PrivateServerPortal.Script("restart", serverFolder));
        Assert.True(code == 0, $"pg_ctl restart failed: {errors}");
        output.WriteLine($"server restarted in {restart.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task APostgreSqlRestartUnderAutosavesFailsOnlyUnacknowledgedSavesAndThePortalRecoversByItself()
    {
        if (!TestDatabase.IsPostgreSql)
        {
            output.WriteLine("Applies to PostgreSQL only (SDPM_TEST_DATABASE=postgresql): SQLite has no server to restart. Nothing was tested.");
            return;
        }
        var serverFolder = portal.ServerFolder!;
        _ = portal.Services; // the portal starts (and migrates) before the clock of the test starts

        // Three cases, each autosaved in a loop by the annotator (as three open viewers would).
        var annotators = new List<Annotator>();
        using (var files = new TestCases())
        {
            var cohort = await portal.CreateCohortAsync("Database restart");
            for (var i = 0; i < 3; i++) files.WriteNifti("many", $"restart{i}", TestCases.Case(i, seed: 83));
            var (_, body) = await portal.UploadAsync(cohort, files.Zip("many", "many.zip"));
            using var coordinator = portal.As("coordinator");
            foreach (var c in body.GetProperty("cases").EnumerateArray())
            {
                var caseId = c.GetProperty("caseId").GetInt32();
                Assert.Equal(HttpStatusCode.OK, (await coordinator.PostAsJsonAsync($"/api/cases/{caseId}/assignments", new { annotator = "annotator" })).StatusCode);
                var image = await portal.DbAsync(db => db.Cases.Where(x => x.Id == caseId).Select(x => x.ImageBlob).SingleAsync());
                annotators.Add(new Annotator { CaseId = caseId, Grid = portal.Blobs.ReadVolumeHeader(image).Geometry });
            }
        }

        using var client = portal.As("annotator");
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var restartedAt = long.MaxValue; // ms on the clock when pg_ctl restart returned
        var loops = annotators.Select(a => Task.Run(async () =>
        {
            for (var n = 1; !stop.IsCancellationRequested; n++)
            {
                HttpResponseMessage response;
                var sentAfterTheRestart = clock.ElapsedMilliseconds > Interlocked.Read(ref restartedAt);
                try
                {
                    response = await SaveAsync(client, a.CaseId, NumberedMask(a.Grid, n), a.Version == 0 ? null : a.Version);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    lock (a.Failures) (sentAfterTheRestart ? a.FailuresAfterTheRestart : a.Failures).Add($"save {n}: {e.GetType().Name}: {e.Message}");
                    await Task.Delay(50);
                    continue;
                }
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    a.Version = int.Parse(response.Headers.ETag!.Tag.Trim('"'), System.Globalization.CultureInfo.InvariantCulture);
                    a.Save = n;
                    Interlocked.Increment(ref a.Acknowledged);
                }
                else
                {
                    var text = await response.Content.ReadAsStringAsync();
                    lock (a.Failures) (sentAfterTheRestart ? a.FailuresAfterTheRestart : a.Failures).Add($"save {n}: {(int)response.StatusCode} {text}");
                    if (response.StatusCode == HttpStatusCode.PreconditionFailed)
                    {
                        // A save whose answer was lost but which committed: take up the stored version.
                        var list = await client.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/cases/{a.CaseId}/annotations");
                        a.Version = list[0].GetProperty("version").GetInt32();
                        a.Save = -1; // unknown: not acknowledged
                    }
                    await Task.Delay(50);
                }
            }
        })).ToList();

        async Task WaitForAcknowledgementsAsync(int each, string when)
        {
            var targets = annotators.Select(a => Volatile.Read(ref a.Acknowledged) + each).ToList();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (annotators.Select((a, i) => Volatile.Read(ref a.Acknowledged) < targets[i]).Any(x => x))
            {
                Assert.True(DateTime.UtcNow < deadline, $"{when}: the autosaves do not get through: " +
                    string.Join("; ", annotators.Select(a => $"case {a.CaseId}: {a.Acknowledged} acknowledged, failures: {string.Join(" | ", a.Failures.TakeLast(3))}")));
                Assert.DoesNotContain(loops, l => l.IsFaulted);
                await Task.Delay(20);
            }
        }

        await WaitForAcknowledgementsAsync(3, "before the restart");
        await RestartServerAsync(serverFolder!);
        Interlocked.Exchange(ref restartedAt, clock.ElapsedMilliseconds);

        // Right after the restart, requests one after another on the pooled connections: none may fail.
        using (var fresh = portal.As("annotator"))
        {
            for (var i = 0; i < 8; i++)
            {
                var read = await fresh.GetAsync($"/api/cases/{annotators[0].CaseId}/annotations");
                Assert.True(read.StatusCode == HttpStatusCode.OK, $"request {i + 1} after the restart: {(int)read.StatusCode} {await read.Content.ReadAsStringAsync()}");
            }
        }
        await WaitForAcknowledgementsAsync(3, "after the restart");
        stop.Cancel();
        await Task.WhenAll(loops);

        // A second restart while the pool's connections sit idle (their server sessions ended under them). Npgsql finds
        // out on the first use of such a connection: that request fails with 503 (not acknowledged) and Npgsql clears
        // the pool, so at most one request fails; the ones after it get new connections.
        await RestartServerAsync(serverFolder!);
        var afterIdleRestart = new List<string>();
        foreach (var a in annotators)
        {
            for (var attempt = 1; ; attempt++)
            {
                var response = await SaveAsync(client, a.CaseId, NumberedMask(a.Grid, 5000), a.Version);
                afterIdleRestart.Add($"case {a.CaseId} attempt {attempt}: {(int)response.StatusCode}");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    a.Version = int.Parse(response.Headers.ETag!.Tag.Trim('"'), System.Globalization.CultureInfo.InvariantCulture);
                    a.Save = 5000;
                    break;
                }
                Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable && attempt < 3,
                    $"after a restart while the pool was idle: {string.Join(", ", afterIdleRestart)} {await response.Content.ReadAsStringAsync()}");
            }
        }
        output.WriteLine($"after a restart while the pool was idle: {string.Join(", ", afterIdleRestart)}");
        Assert.True(afterIdleRestart.Count(x => !x.EndsWith(": 200", StringComparison.Ordinal)) <= 1,
            $"more than the first request failed after a restart while the pool was idle: {string.Join(", ", afterIdleRestart)}");

        foreach (var a in annotators)
        {
            output.WriteLine($"case {a.CaseId}: {a.Acknowledged} saves acknowledged, last version {a.Version}; {a.Failures.Count} failed during the outage: " +
                $"{string.Join(" | ", a.Failures)}; {a.FailuresAfterTheRestart.Count} failed after it: {string.Join(" | ", a.FailuresAfterTheRestart)}");
        }
        // Once the server is back, no save fails (a broken pooled connection would fail the first ones).
        Assert.All(annotators, a => Assert.True(a.FailuresAfterTheRestart.Count == 0,
            $"case {a.CaseId}: saves sent after the restart failed: {string.Join(" | ", a.FailuresAfterTheRestart)}"));
        foreach (var a in annotators)
        {
            // A save that did not get through failed with 503 and a title that says so, never as a client's mistake;
            // 412 only after such a failure (the failed save had committed after all).
            Assert.All(a.Failures, f => Assert.Matches(@"^save \d+: (503 .*database could not be reached|412 )", f));
            var stored = await portal.DbAsync(db => db.Annotations.AsNoTracking().SingleAsync(x => x.CaseId == a.CaseId));
            Assert.True(stored.Version == a.Version, $"case {a.CaseId}: the database holds version {stored.Version}, the last acknowledged save was version {a.Version}");
            var mask = portal.Blobs.ReadMask(stored.MaskBlob!, a.Grid);
            Assert.True(a.Save > 0, $"case {a.CaseId}: the last save was not acknowledged");
            Assert.True(mask.Voxels.AsSpan().SequenceEqual(NumberedMask(a.Grid, a.Save).Voxels), $"case {a.CaseId}: version {stored.Version}'s voxels are not those of save {a.Save}");
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Imaging.Volumes;
using Sdpm.Storage;

namespace Sdpm.Portal.Bench;

/// <summary>One request kind under load: latencies of the answered requests (2xx), throughput and errors.</summary>
public sealed record LoadKindFigures(string Kind, Latency Latency, double PerSecond, int Errors);

/// <summary>What the database holds after the load, against every save the clients had acknowledged (2xx with a version).</summary>
public sealed record LoadSaveCheck(
    int Annotations, int Submitted, int AcknowledgedSaves, int AcknowledgedSubmits, int RevisionsMatched, int RevisionsThinnable,
    int RevisionsLost, int FinalMismatches, int Uncertain, int KeepLatestRevisions, double Seconds, IReadOnlyList<string> Problems)
{
    /// <summary>Acknowledged saves missing from the database or stored with another mask or version.</summary>
    public int LostSaves => RevisionsLost + FinalMismatches;
}

public sealed record LoadFigures(
    string Database, int Annotators, int Investigators, int Seconds, int Cases, string CaseShape,
    string Users, double SetUpSeconds, int LeaderboardRows, double ElapsedSeconds, IReadOnlyList<LoadKindFigures> Kinds, double RequestsPerSecond,
    int Errors, IReadOnlyList<string> ErrorSamples, LoadSaveCheck Saves, int CasesOpened, int AnnotatorsOutOfCases,
    double PortalCpuSeconds, long PortalRssStart, long PortalRssPeak, double LoadMin, double LoadMean, double LoadMax)
{
    public bool Clean => Errors == 0 && Saves.LostSaves == 0;
}

/// <summary>
/// Load: <c>--load-annotators</c> simulated annotators and <c>--load-investigators</c> investigators, each with an API token of
/// their own, for <c>--load-seconds</c>. An annotator works through the cases assigned to it as the annotation page does:
/// scrolling (a slice every 200-500 ms), an autosave of the slice in view every 2-5 s (PATCH …/annotations/mine/slices,
/// If-Match), and a submit after 4-12 autosaves; then the next case. An investigator reads the split's leaderboard
/// (all cases, by site, by lesion type in turn) every 1-4 s. Afterwards every acknowledged save is looked up in the
/// database: each annotation's version and mask against the client's last acknowledged one, and each acknowledged version
/// among its revisions (allowing for Annotations:KeepLatestRevisions' thinning).
/// </summary>
public static class LoadBench
{
    public const int LeaderboardCases = 1000;
    public const int LeaderboardModels = 5;
    private const string Slice = "slice fetch";
    private const string Autosave = "autosave";
    private const string Submit = "submit";
    private const string Leaderboard = "leaderboard read";
    private static readonly string[] Kinds = [Slice, Autosave, Submit, Leaderboard];
    private static readonly string[] LeaderboardQueries = ["subset=test", "subset=test&by=site", "subset=test&by=lesion"];

    public static async Task<LoadFigures> RunAsync(PortalProcess portal, string root, int siteId, BenchOptions options, string workFolder, CancellationToken ct)
    {
        var setUp = Stopwatch.StartNew();
        using var coordinator = portal.NewClient(TimeSpan.FromSeconds(120));

        // Cases: distinct synthetic 512x512x40 scans through the uploads endpoint (seeded apart from the import figure's).
        var cohort = await PortalApi.CreateCohortAsync(coordinator, siteId, "bench-load");
        var import = await ImportBench.RunAsync(portal, cohort, options.LoadCases, options.Seed + 4, workFolder);
        var caseIds = import.CaseIds;
        ct.ThrowIfCancellationRequested();

        // People: the portal has no API to create accounts or tokens (Users page and profile page only, interactive
        // Blazor), so they are written with the portal's DbContext and ASP.NET Identity's UserManager, as an admin's
        // Users page does, with a token each as the profile page makes it.
        var annotators = await CreateUsersAsync(portal, "load-annotator", Roles.Annotator, siteId, options.LoadAnnotators);
        var investigators = await CreateUsersAsync(portal, "load-investigator", Roles.Investigator, siteId, options.LoadInvestigators);
        Progress.Say($"load: {annotators.Count} annotators and {investigators.Count} investigators created, each with an API token");

        // Every case to every annotator, through the API as the coordinator assigns them.
        await Parallel.ForEachAsync(annotators.SelectMany(a => caseIds.Select(c => (a.UserName, Case: c))),
            new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct }, async (x, token) =>
            {
                using var assigned = await coordinator.PostAsJsonAsync($"/api/cases/{x.Case}/assignments", new { annotator = x.UserName }, token);
                if (!assigned.IsSuccessStatusCode)
                    throw new InvalidOperationException($"Assigning case {x.Case} to {x.UserName}: {(int)assigned.StatusCode} {await assigned.Content.ReadAsStringAsync(token)}");
            });
        Progress.Say($"load: {caseIds.Count} cases assigned to each annotator");

        // A leaderboard to read: a frozen split of scored predictions, rows only (as the leaderboard figure writes them),
        // warmed once per query as finishing an inference job warms it.
        var lbCohort = await PortalApi.CreateCohortAsync(coordinator, siteId, "bench-load-leaderboard");
        var split = await LeaderboardBench.InsertAsync(portal.DbOptions(), lbCohort, siteId, LeaderboardCases, LeaderboardModels);
        using (var reader = portal.NewClientWithToken(TimeSpan.FromSeconds(120), investigators[0].Token))
        {
            foreach (var q in LeaderboardQueries) await PortalApi.GetStringAsync(reader, $"/api/leaderboards/{split}?{q}");
        }
        var lbRows = LeaderboardCases * LeaderboardModels * 4;
        setUp.Stop();
        Progress.Say($"load: leaderboard split {split} with {lbRows} per-case rows; set-up took {setUp.Elapsed.TotalSeconds:0} s");

        // The load.
        var recorder = new Recorder();
        var works = new List<CaseWork>();
        var outOfCases = 0;
        var opened = 0;
        var duration = TimeSpan.FromSeconds(options.LoadSeconds);
        var rssStart = portal.Rss();
        var cpuStart = portal.CpuTime();
        var loads = new List<double>();
        long rssPeak = rssStart;
        using var stopSampling = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var clock = Stopwatch.StartNew();
        var sampler = Task.Run(async () =>
        {
            var lastSay = TimeSpan.Zero;
            while (!stopSampling.IsCancellationRequested)
            {
                lock (loads) loads.Add(double.Parse(MachineInfo.LoadAverage().Split(' ')[0], CultureInfo.InvariantCulture));
                rssPeak = Math.Max(rssPeak, portal.Rss());
                if (clock.Elapsed - lastSay >= TimeSpan.FromSeconds(30))
                {
                    lastSay = clock.Elapsed;
                    Progress.Say($"load: {clock.Elapsed.TotalSeconds:0} s, {recorder.Summary()}, load average {loads[^1]:0.0}");
                }
                try { await Task.Delay(2000, stopSampling.Token); } catch (OperationCanceledException) { break; }
            }
        });
        var clients = new List<Task>();
        for (var i = 0; i < annotators.Count; i++)
        {
            var me = annotators[i];
            var rng = new Random(HashCode.Combine((int)options.Seed, i, 1));
            // Each starts at another case, so that the cases are worked on side by side.
            var order = caseIds.Skip(i % caseIds.Count).Concat(caseIds.Take(i % caseIds.Count)).ToList();
            clients.Add(Task.Run(async () =>
            {
                var mine = await AnnotatorAsync(portal, me, order, import.Slices, clock, duration, rng, recorder, ct);
                lock (works)
                {
                    works.AddRange(mine.Works);
                    opened += mine.Works.Count;
                    if (mine.OutOfCases) outOfCases++;
                }
            }, ct));
        }
        for (var i = 0; i < investigators.Count; i++)
        {
            var me = investigators[i];
            var rng = new Random(HashCode.Combine((int)options.Seed, i, 2));
            clients.Add(Task.Run(() => InvestigatorAsync(portal, me, split, clock, duration, rng, recorder, ct), ct));
        }
        await Task.WhenAll(clients);
        var elapsed = clock.Elapsed.TotalSeconds;
        var cpu = (portal.CpuTime() - cpuStart).TotalSeconds;
        await stopSampling.CancelAsync();
        await sampler;
        Progress.Say($"load: done after {elapsed:0.0} s, {recorder.Summary()}");

        var check = await VerifyAsync(portal, root, annotators, works);
        Progress.Say($"load: {check.AcknowledgedSaves} acknowledged saves checked in {check.Seconds:0.0} s: {check.RevisionsMatched} revisions match, "
            + $"{check.RevisionsThinnable} thinnable, {check.LostSaves} lost");

        var kinds = Kinds.Select(k => recorder.Figures(k, elapsed)).ToList();
        double[] l;
        lock (loads) l = loads.Count > 0 ? loads.ToArray() : [double.NaN];
        return new LoadFigures(
            portal.Database.Provider == DatabaseProvider.PostgreSql ? "PostgreSQL" : "SQLite", annotators.Count, investigators.Count, options.LoadSeconds,
            caseIds.Count, $"{ImportBench.Size}x{ImportBench.Size}x{import.Slices}",
            "UserManager + PortalDbContext in the bench process (no account or token API); assignments through POST /api/cases/{id}/assignments",
            Math.Round(setUp.Elapsed.TotalSeconds, 1), lbRows, Math.Round(elapsed, 1), kinds,
            Math.Round(kinds.Sum(k => k.Latency.Count + k.Errors) / elapsed, 1), recorder.Errors, recorder.Samples(), check, opened, outOfCases,
            Math.Round(cpu, 1), rssStart, rssPeak, l.Min(), Math.Round(l.Average(), 2), l.Max());
    }

    // ---- the simulated people -----------------------------------------------------------------------------------

    private sealed record Person(string UserName, string UserId, string Token);

    /// <summary>An acknowledged autosave: the version the portal gave it, the slice it sent and the disc drawn on it.</summary>
    private sealed record Ack(int Version, int Z, int Cx, int Cy, int R, DateTimeOffset SavedAt);

    /// <summary>One annotator's work on one case, as the client saw it.</summary>
    private sealed class CaseWork(int caseId, Person annotator)
    {
        public int CaseId { get; } = caseId;
        public Person Annotator { get; } = annotator;
        public List<Ack> Acks { get; } = [];
        public int? SubmittedVersion { get; set; }

        /// <summary>A request of this case failed: a save may or may not have been stored, so the final state is not checked.</summary>
        public bool Uncertain { get; set; }
    }

    private static async Task<(List<CaseWork> Works, bool OutOfCases)> AnnotatorAsync(PortalProcess portal, Person me, IReadOnlyList<int> cases, int slices,
        Stopwatch clock, TimeSpan duration, Random rng, Recorder recorder, CancellationToken ct)
    {
        using var http = portal.NewClientWithToken(TimeSpan.FromSeconds(60), me.Token);
        var dims = new Dims(ImportBench.Size, ImportBench.Size, slices);
        var buffer = new byte[1 << 16];
        var works = new List<CaseWork>();
        await Task.Delay(rng.Next(0, 1000), ct); // not all at the same instant
        foreach (var caseId in cases)
        {
            if (clock.Elapsed >= duration) return (works, false);
            var work = new CaseWork(caseId, me);
            works.Add(work);
            var saves = rng.Next(4, 13);
            var z = rng.Next(dims.Z);
            var nextSave = clock.Elapsed + TimeSpan.FromMilliseconds(rng.Next(2000, 5001));
            int? version = null;
            while (work.Acks.Count < saves && clock.Elapsed < duration && !ct.IsCancellationRequested)
            {
                // Scrolling: one slice up or down, now and then a jump.
                z = rng.Next(10) == 0 ? rng.Next(dims.Z) : Math.Clamp(z + rng.Next(-1, 2), 0, dims.Z - 1);
                await TimedAsync(recorder, Slice, me, async () =>
                {
                    using var response = await http.GetAsync($"/api/cases/{caseId}/slices/{z}.raw", HttpCompletionOption.ResponseHeadersRead, ct);
                    long n = 0;
                    await using (var body = await response.Content.ReadAsStreamAsync(ct))
                    {
                        int read;
                        while ((read = await body.ReadAsync(buffer, ct)) > 0) n += read;
                    }
                    return response.IsSuccessStatusCode && n == dims.SliceLength * 2L ? null : $"{(int)response.StatusCode}, {n} bytes";
                });
                if (clock.Elapsed >= nextSave)
                {
                    var (cx, cy, r) = (rng.Next(100, 413), rng.Next(100, 413), rng.Next(8, 41));
                    var body = AnnotationSaveBench.SlicePatchBody(dims, z, AnnotationSaveBench.Disc(dims, cx, cy, r));
                    var ok = await TimedAsync(recorder, Autosave, me, async () =>
                    {
                        using var request = new HttpRequestMessage(HttpMethod.Patch, $"/api/cases/{caseId}/annotations/mine/slices") { Content = new ByteArrayContent(body) };
                        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                        if (version is { } v) request.Headers.IfMatch.Add(new EntityTagHeaderValue($"\"{v}\""));
                        using var response = await http.SendAsync(request, ct);
                        var text = await response.Content.ReadAsStringAsync(ct);
                        if (!response.IsSuccessStatusCode) return $"{(int)response.StatusCode} {Short(text)}";
                        var saved = Saved(response, text);
                        version = saved.Version;
                        work.Acks.Add(new Ack(saved.Version, z, cx, cy, r, saved.At));
                        return null;
                    });
                    if (!ok)
                    {
                        work.Uncertain = true;
                        break; // as a person would reload: go on with the next case
                    }
                    nextSave = clock.Elapsed + TimeSpan.FromMilliseconds(rng.Next(2000, 5001));
                }
                await Task.Delay(rng.Next(200, 501), ct);
            }
            if (work.Uncertain || work.Acks.Count < saves || clock.Elapsed >= duration) continue;
            var submitted = await TimedAsync(recorder, Submit, me, async () =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/cases/{caseId}/annotations/mine/submit");
                request.Headers.IfMatch.Add(new EntityTagHeaderValue($"\"{version}\""));
                using var response = await http.SendAsync(request, ct);
                var text = await response.Content.ReadAsStringAsync(ct);
                if (!response.IsSuccessStatusCode) return $"{(int)response.StatusCode} {Short(text)}";
                work.SubmittedVersion = Saved(response, text).Version;
                return null;
            });
            if (!submitted) work.Uncertain = true;
            await Task.Delay(rng.Next(500, 2001), ct); // opening the next case
        }
        return (works, clock.Elapsed < duration);
    }

    private static async Task InvestigatorAsync(PortalProcess portal, Person me, int split, Stopwatch clock, TimeSpan duration, Random rng, Recorder recorder,
        CancellationToken ct)
    {
        using var http = portal.NewClientWithToken(TimeSpan.FromSeconds(60), me.Token);
        await Task.Delay(rng.Next(0, 1000), ct);
        var i = rng.Next(LeaderboardQueries.Length);
        while (clock.Elapsed < duration && !ct.IsCancellationRequested)
        {
            var query = LeaderboardQueries[i++ % LeaderboardQueries.Length];
            await TimedAsync(recorder, Leaderboard, me, async () =>
            {
                using var response = await http.GetAsync($"/api/leaderboards/{split}?{query}", ct);
                var text = await response.Content.ReadAsStringAsync(ct);
                if (!response.IsSuccessStatusCode) return $"{(int)response.StatusCode} {Short(text)}";
                using var doc = JsonDocument.Parse(text);
                return doc.RootElement.GetProperty("rows").GetArrayLength() > 0 ? null : "no rows";
            });
            await Task.Delay(rng.Next(1000, 4001), ct);
        }
    }

    /// <summary>Times one request; records its latency when it succeeded (the check returned null), else an error.</summary>
    private static async Task<bool> TimedAsync(Recorder recorder, string kind, Person me, Func<Task<string?>> request)
    {
        var watch = Stopwatch.StartNew();
        string? problem;
        try
        {
            problem = await request();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException or JsonException or FormatException)
        {
            problem = $"{e.GetType().Name}: {e.Message}";
        }
        watch.Stop();
        if (problem is null) recorder.Add(kind, watch.Elapsed.TotalMilliseconds);
        else recorder.Error(kind, $"{kind} by {me.UserName}: {problem}");
        return problem is null;
    }

    /// <summary>The version (the ETag) and time of a save or submit answer.</summary>
    private static (int Version, DateTimeOffset At) Saved(HttpResponseMessage response, string body)
    {
        var version = int.Parse(response.Headers.ETag!.Tag.Trim('"'), CultureInfo.InvariantCulture);
        using var doc = JsonDocument.Parse(body);
        if (doc.RootElement.GetProperty("version").GetInt32() != version) throw new FormatException($"ETag {version} and body version differ.");
        return (version, doc.RootElement.GetProperty("updatedAt").GetDateTimeOffset());
    }

    private static string Short(string text) => text.Length <= 300 ? text : text[..300] + "…";

    /// <summary>Latencies and errors per kind, from all clients.</summary>
    private sealed class Recorder
    {
        private readonly Dictionary<string, List<double>> ms = Kinds.ToDictionary(k => k, _ => new List<double>());
        private readonly Dictionary<string, int> errors = Kinds.ToDictionary(k => k, _ => 0);
        private readonly List<string> samples = [];

        public int Errors
        {
            get { lock (ms) return errors.Values.Sum(); }
        }

        public void Add(string kind, double value)
        {
            lock (ms) ms[kind].Add(value);
        }

        public void Error(string kind, string what)
        {
            lock (ms)
            {
                errors[kind]++;
                if (samples.Count < 20) samples.Add($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {what}");
            }
            Progress.Say($"load: error: {what}");
        }

        public IReadOnlyList<string> Samples()
        {
            lock (ms) return samples.ToList();
        }

        public string Summary()
        {
            lock (ms) return string.Join(", ", Kinds.Select(k => $"{ms[k].Count} {k}")) + $", {errors.Values.Sum()} errors";
        }

        public LoadKindFigures Figures(string kind, double seconds)
        {
            lock (ms) return new LoadKindFigures(kind, Latency.Of(ms[kind]), Math.Round(ms[kind].Count / seconds, 2), errors[kind]);
        }
    }

    // ---- set-up -------------------------------------------------------------------------------------------------

    /// <summary>Accounts of one role in one site, each with one API token: what an admin makes on the Users page (an
    /// approved account, the role, the site membership) and what its owner then makes on the profile page (a token, the
    /// way ApiTokenService.NewToken does: "sdpm_" + 32 random bytes in base64url, its SHA-256 stored).</summary>
    private static async Task<List<Person>> CreateUsersAsync(PortalProcess portal, string prefix, string role, int siteId, int count)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddDbContext<PortalDbContext>(o => PortalDatabase.Use(o, portal.Database));
        services.AddIdentityCore<PortalUser>(o =>
            {
                // As the portal's IdentityRegistration.
                o.User.RequireUniqueEmail = true;
                o.User.AllowedUserNameCharacters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._@";
                o.Password.RequiredLength = 12;
                o.Password.RequireNonAlphanumeric = false;
                o.Password.RequiredUniqueChars = 5;
            })
            .AddRoles<IdentityRole>()
            .AddEntityFrameworkStores<PortalDbContext>();
        await using var provider = services.BuildServiceProvider();
        var people = new List<Person>();
        var now = DateTimeOffset.UtcNow;
        for (var i = 1; i <= count; i++)
        {
            await using var scope = provider.CreateAsyncScope();
            var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
            var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
            var name = $"{prefix}-{i:D3}";
            var user = new PortalUser
            {
                UserName = name, Email = $"{name}@bench.invalid", EmailConfirmed = true, DisplayName = name, MustChangePassword = false, CreatedAt = now,
            };
            Check(await users.CreateAsync(user, "Bench-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8)) + "aZ9"), name);
            Check(await users.AddToRoleAsync(user, role), name);
            db.UserSites.Add(new UserSite { UserId = user.Id, SiteId = siteId, AddedAt = now });
            var secret = "sdpm_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            db.ApiTokens.Add(new ApiToken
            {
                UserId = user.Id, Name = "load bench", Prefix = secret[..12], CreatedAt = now,
                Hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret))),
            });
            await db.SaveChangesAsync();
            people.Add(new Person(name, user.Id, secret));
        }
        return people;
    }

    private static void Check(IdentityResult result, string user)
    {
        if (!result.Succeeded) throw new InvalidOperationException($"Creating {user}: " + string.Join("; ", result.Errors.Select(e => e.Description)));
    }

    // ---- afterwards ---------------------------------------------------------------------------------------------

    /// <summary>Annotations:KeepLatestRevisions as the portal binds it (appsettings.json, appsettings.Production.json, the
    /// environment it inherited from the bench), at least 1 as RevisionPruner takes it.</summary>
    public static int KeepLatestRevisions(string root)
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(root, "appsettings.json"), optional: true)
            .AddJsonFile(Path.Combine(root, "appsettings.Production.json"), optional: true)
            .AddEnvironmentVariables()
            .Build();
        return Math.Max(1, configuration.GetValue<int?>("Annotations:KeepLatestRevisions") ?? 50);
    }

    /// <summary>
    /// Every acknowledged save against the database: each annotation's version is the last acknowledged one (the submit's,
    /// when submitted) and its mask the client's mask after its last acknowledged autosave; each acknowledged autosave's
    /// version is a revision whose mask is the client's mask at that version, unless RevisionPruner may have thinned it
    /// (not among the newest KeepLatestRevisions, and not the last of its UTC hour). A case with a failed request is
    /// checked up to that request only (a save that failed may or may not be stored).
    /// </summary>
    private static async Task<LoadSaveCheck> VerifyAsync(PortalProcess portal, string root, IReadOnlyList<Person> annotators, IReadOnlyList<CaseWork> works)
    {
        var watch = Stopwatch.StartNew();
        var keep = KeepLatestRevisions(root);
        var blobs = new FileSystemBlobStore(Path.Combine(portal.DataFolder, "blobs"));
        await using var db = new PortalDbContext(portal.DbOptions());
        var caseIds = works.Select(w => w.CaseId).Distinct().ToList();
        var grids = (await db.Cases.AsNoTracking().Where(c => caseIds.Contains(c.Id)).Select(c => new { c.Id, c.ImageBlob }).ToListAsync())
            .ToDictionary(c => c.Id, c => blobs.ReadVolumeHeader(c.ImageBlob).Geometry);
        var userIds = annotators.Select(a => a.UserId).ToList();
        var annotations = (await db.Annotations.AsNoTracking().Where(a => userIds.Contains(a.AnnotatorId)).ToListAsync())
            .ToDictionary(a => (a.CaseId, a.AnnotatorId));
        var problems = new List<string>();
        void Problem(string what)
        {
            if (problems.Count < 20) problems.Add(what);
        }
        int matched = 0, thinnable = 0, lost = 0, final = 0, submitted = 0;
        foreach (var work in works.Where(w => w.Acks.Count > 0))
        {
            var who = $"{work.Annotator.UserName}, case {work.CaseId}";
            if (!annotations.TryGetValue((work.CaseId, work.Annotator.UserId), out var annotation))
            {
                lost += work.Acks.Count;
                final++;
                Problem($"{who}: no annotation in the database, {work.Acks.Count} acknowledged saves");
                continue;
            }
            var revisions = await db.AnnotationRevisions.AsNoTracking().Where(r => r.AnnotationId == annotation.Id).ToDictionaryAsync(r => r.Version);
            var mayBeThinned = Thinnable(work.Acks, keep);
            var grid = grids[work.CaseId];
            var expected = new byte[grid.Dims.X * grid.Dims.Y * grid.Dims.Z];
            foreach (var ack in work.Acks)
            {
                AnnotationSaveBench.Disc(grid.Dims, ack.Cx, ack.Cy, ack.R).CopyTo(expected.AsSpan(ack.Z * grid.Dims.SliceLength));
                if (!revisions.TryGetValue(ack.Version, out var revision))
                {
                    if (mayBeThinned.Contains(ack.Version))
                    {
                        thinnable++;
                    }
                    else
                    {
                        lost++;
                        Problem($"{who}: acknowledged version {ack.Version} is not among the revisions");
                    }
                    continue;
                }
                if (blobs.ReadMask(revision.MaskBlob, grid).Voxels.AsSpan().SequenceEqual(expected))
                {
                    matched++;
                }
                else
                {
                    lost++;
                    Problem($"{who}: revision {ack.Version} holds another mask than the one acknowledged");
                }
            }
            if (work.Uncertain)
            {
                var last = work.SubmittedVersion ?? work.Acks[^1].Version;
                if (annotation.Version < last)
                {
                    final++;
                    Problem($"{who}: version {annotation.Version} stored, {last} acknowledged");
                }
                continue;
            }
            var lastAcknowledged = work.SubmittedVersion ?? work.Acks[^1].Version;
            var state = work.SubmittedVersion is null ? AnnotationState.Draft : AnnotationState.Submitted;
            if (annotation.State == AnnotationState.Submitted) submitted++;
            var sameMask = annotation.MaskBlob is not null && blobs.ReadMask(annotation.MaskBlob, grid).Voxels.AsSpan().SequenceEqual(expected);
            if (annotation.Version != lastAcknowledged || annotation.State != state || !sameMask)
            {
                final++;
                Problem($"{who}: stored version {annotation.Version} ({annotation.State}{(sameMask ? "" : ", another mask")}), acknowledged {lastAcknowledged} ({state})");
            }
        }
        var uncertain = works.Count(w => w.Uncertain);
        return new LoadSaveCheck(works.Count(w => w.Acks.Count > 0), submitted, works.Sum(w => w.Acks.Count), works.Count(w => w.SubmittedVersion is not null),
            matched, thinnable, lost, final, uncertain, keep, Math.Round(watch.Elapsed.TotalSeconds, 1), problems);
    }

    /// <summary>The acknowledged versions RevisionPruner may remove: beyond the newest <paramref name="keep"/>, all but the
    /// newest of each UTC hour (the portal's SavedAt is the answer's updatedAt).</summary>
    private static HashSet<int> Thinnable(IReadOnlyList<Ack> acks, int keep)
    {
        var older = acks.OrderByDescending(a => a.Version).Skip(keep).ToList();
        var lastOfHour = older.GroupBy(a => { var u = a.SavedAt.ToUniversalTime(); return (u.Date, u.Hour); }).Select(g => g.Max(a => a.Version)).ToHashSet();
        return older.Where(a => !lastOfHour.Contains(a.Version)).Select(a => a.Version).ToHashSet();
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Splits;
using static Sdpm.Portal.Tests.Splits.SplitPortal;

namespace Sdpm.Portal.Tests.Splits;

/// <summary>Dataset splits through the API as scripts use it: create, read, preview, edit, copy, freeze, export, import.</summary>
public class SplitApiTests(SplitPortal portal) : IClassFixture<SplitPortal>
{
    [Fact]
    public async Task AnInvestigatorCreatesASplitAndReadsTheCaseIdsOfEachPart()
    {
        var (cohort, withReference, without) = await portal.CohortAsync(10, 2);
        using var client = portal.As("investigator");

        var created = await client.PostAsJsonAsync("/api/splits", Body("Created over the API", [cohort]));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await JsonAsync(created)).GetProperty("id").GetInt32();
        Assert.Equal($"/api/splits/{id}", created.Headers.Location!.OriginalString);

        var split = await JsonAsync(await client.GetAsync($"/api/splits/{id}"));
        Assert.Equal("Created over the API", split.GetProperty("name").GetString());
        Assert.Equal(7, split.GetProperty("seed").GetInt64());
        Assert.Equal(0.2, split.GetProperty("fractions").GetProperty("validation").GetDouble());
        Assert.False(split.GetProperty("frozen").GetBoolean());
        var parts = new[] { "train", "validation", "test" }.ToDictionary(p => p, p => Ids(split, p));
        Assert.Equal(withReference.Order(), parts.Values.SelectMany(p => p).Order());
        Assert.All(without, c => Assert.DoesNotContain(c, parts.Values.SelectMany(p => p)));
        Assert.Equal(2, split.GetProperty("excludedWithoutReference").GetInt32());
        foreach (var (part, ids) in parts)
        {
            Assert.Equal(ids.Length, split.GetProperty("counts").GetProperty(part).GetProperty("cases").GetInt32());
        }
        Assert.NotEmpty(parts["train"]);

        var listed = await JsonAsync(await client.GetAsync("/api/splits"));
        Assert.Contains(listed.EnumerateArray(), s => s.GetProperty("id").GetInt32() == id && !s.GetProperty("frozen").GetBoolean());
        var audit = await portal.DbAsync(db => db.AuditEvents.Where(e => e.Action == AuditActions.SplitCreated && e.EntityId == id.ToString()).SingleAsync());
        Assert.Equal("investigator", audit.UserName);
    }

    [Fact]
    public async Task APreviewCountsEachSiteAndLesionTypeAndSaysWhatIsLeftOutAndWhy()
    {
        var (cohort, _, without) = await portal.CohortAsync(6, 3);
        using var client = portal.As("investigator");

        var preview = await JsonAsync(await client.PostAsJsonAsync("/api/splits/preview", Body("", [cohort])));

        Assert.Equal(6, preview.GetProperty("eligibleCases").GetInt32());
        var excluded = preview.GetProperty("excluded").EnumerateArray().Single();
        Assert.Equal("no current reference", excluded.GetProperty("reason").GetString());
        Assert.Equal(3, excluded.GetProperty("count").GetInt32());
        var pseudo = await portal.DbAsync(db => db.Cases.Where(c => without.Contains(c.Id)).Select(c => c.PseudoId).ToListAsync());
        Assert.Equal(pseudo.Order(), excluded.GetProperty("examples").EnumerateArray().Select(e => e.GetString()!).Order());
        var stratum = preview.GetProperty("strata").EnumerateArray().First();
        Assert.Equal("North", stratum.GetProperty("site").GetString());
        Assert.Equal("unspecified", stratum.GetProperty("lesionType").GetString());
        var sum = preview.GetProperty("strata").EnumerateArray()
            .Sum(s => new[] { "train", "validation", "test" }.Sum(p => s.GetProperty(p).GetProperty("cases").GetInt32()));
        Assert.Equal(6, sum);
        Assert.Equal(JsonValueKind.Null, preview.GetProperty("problem").ValueKind);
    }

    [Fact]
    public async Task ASplitOverCasesWithoutReferencesIsRefusedAndThePreviewSaysWhy()
    {
        var (cohort, _, _) = await portal.CohortAsync(0, 3);
        using var client = portal.As("investigator");

        var refused = await client.PostAsJsonAsync("/api/splits", Body("Nothing to split", [cohort]));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("None of the 3 case(s) of the chosen cohorts has a current reference", await ProblemAsync(refused));

        var preview = await JsonAsync(await client.PostAsJsonAsync("/api/splits/preview", Body("", [cohort])));
        Assert.Equal(0, preview.GetProperty("eligibleCases").GetInt32());
        Assert.Equal(3, preview.GetProperty("excluded")[0].GetProperty("count").GetInt32());
        Assert.Contains("no current reference", preview.GetProperty("excluded")[0].GetProperty("reason").GetString());
        Assert.Contains("import reference masks", preview.GetProperty("problem").GetString());
    }

    [Theory]
    [InlineData(0.6, 0.2, 0.1, "must add up to 1")]
    [InlineData(0.8, 0.3, -0.1, "cannot be negative: test is -0.1")]
    [InlineData(0.7, 0.15, 0.1500000001, null)] // within 1e-6 of 1
    public async Task FractionsMustBeNonNegativeAndAddUpToOne(double train, double validation, double test, string? message)
    {
        var (cohort, _, _) = await portal.CohortAsync(2, 0);
        using var client = portal.As("investigator");
        var response = await client.PostAsJsonAsync("/api/splits", Body($"Fractions {Guid.NewGuid():N}", [cohort], train, validation, test));
        if (message is null)
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            return;
        }
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(message, await ProblemAsync(response));
    }

    [Fact]
    public async Task AMissingNameCohortListOrSeedIsRefusedWithWhatToSend()
    {
        using var client = portal.As("investigator");
        var noCohorts = await client.PostAsJsonAsync("/api/splits", Body("No cohorts", []));
        Assert.Equal(HttpStatusCode.BadRequest, noCohorts.StatusCode);
        Assert.Contains("at least one cohort", await ProblemAsync(noCohorts));
        var noSeed = await client.PostAsJsonAsync("/api/splits", new { name = "x", cohortIds = new[] { 1 }, fractions = new { train = 1.0 } });
        Assert.Contains("seed", await ProblemAsync(noSeed));
        var noName = await client.PostAsJsonAsync("/api/splits", Body(" ", [1]));
        Assert.Contains("name", await ProblemAsync(noName));
        var negativeSeed = await client.PostAsJsonAsync("/api/splits", Body("Negative seed", [1], seed: -1));
        Assert.Contains("seed must be a whole number", await ProblemAsync(negativeSeed));
    }

    [Fact]
    public async Task EditingASplitThatAJobUsedIsRefusedAndACopyIsOffered()
    {
        var (cohort, _, _) = await portal.CohortAsync(8, 0);
        using var client = portal.As("investigator");
        var original = await JsonAsync(await client.PostAsJsonAsync("/api/splits", Body("Used by a job", [cohort])));
        var id = original.GetProperty("id").GetInt32();

        Assert.True((await portal.Service<SplitService>().FreezeAsync(id, "used by training job 12")).Succeeded);

        var edit = await client.PutAsJsonAsync($"/api/splits/{id}", Body("Used by a job", [cohort], seed: 8, version: original.GetProperty("version").GetInt32() + 1));
        Assert.Equal(HttpStatusCode.Conflict, edit.StatusCode);
        var message = await ProblemAsync(edit);
        Assert.Contains("is frozen", message);
        Assert.Contains("used by training job 12", message);
        Assert.Contains($"POST /api/splits/{id}/copy", message);
        Assert.Equal(HttpStatusCode.Conflict, (await client.DeleteAsync($"/api/splits/{id}")).StatusCode);
        var frozen = await JsonAsync(await client.GetAsync($"/api/splits/{id}"));
        Assert.True(frozen.GetProperty("frozen").GetBoolean());
        Assert.Equal("used by training job 12", frozen.GetProperty("frozenReason").GetString());
        Assert.Equal(7, frozen.GetProperty("seed").GetInt64());

        var copied = await client.PostAsync($"/api/splits/{id}/copy", null);
        Assert.Equal(HttpStatusCode.Created, copied.StatusCode);
        var copy = await JsonAsync(copied);
        Assert.Equal("Used by a job (copy)", copy.GetProperty("name").GetString());
        Assert.False(copy.GetProperty("frozen").GetBoolean());
        Assert.Equal(id, copy.GetProperty("copiedFromId").GetInt32());
        foreach (var part in new[] { "train", "validation", "test" }) Assert.Equal(Ids(original, part), Ids(copy, part));

        var named = await JsonAsync(await client.PostAsJsonAsync($"/api/splits/{id}/copy", new { name = "Second attempt" }));
        Assert.Equal("Second attempt", named.GetProperty("name").GetString());
        var copyId = copy.GetProperty("id").GetInt32();
        var edited = await client.PutAsJsonAsync($"/api/splits/{copyId}", Body("Used by a job (copy)", [cohort], 0.5, 0.25, 0.25, seed: 8, version: copy.GetProperty("version").GetInt32()));
        Assert.Equal(HttpStatusCode.OK, edited.StatusCode);
        Assert.Equal(0.5, (await JsonAsync(edited)).GetProperty("fractions").GetProperty("train").GetDouble());
    }

    [Fact]
    public async Task FreezingKeepsTheFirstReasonAndIsAudited()
    {
        var (cohort, _, _) = await portal.CohortAsync(3, 0);
        using var client = portal.As("investigator");
        var id = (await JsonAsync(await client.PostAsJsonAsync("/api/splits", Body("Frozen twice", [cohort])))).GetProperty("id").GetInt32();
        var splits = portal.Service<SplitService>();

        Assert.True((await splits.FreezeAsync(id, "training job 1")).Succeeded);
        var first = (await splits.GetAsync(id))!;
        Assert.True((await splits.FreezeAsync(id, "inference job 2")).Succeeded);
        var second = (await splits.GetAsync(id))!;

        Assert.Equal("training job 1", second.FrozenReason);
        Assert.Equal(first.FrozenAt, second.FrozenAt);
        Assert.Equal(first.Version, second.Version);
        Assert.False((await splits.FreezeAsync(int.MaxValue, "no such split")).Succeeded);
        Assert.False((await splits.FreezeAsync(id, " ")).Succeeded);
        var events = await portal.DbAsync(db => db.AuditEvents.Where(e => e.Action == AuditActions.SplitFrozen && e.EntityId == id.ToString()).ToListAsync());
        Assert.Single(events);
        Assert.Contains("training job 1", events[0].Details);
    }

    [Fact]
    public async Task AJobFreezesTheSplitInItsOwnTransactionAndAnEditReadBeforeIsRefused()
    {
        var (cohort, _, _) = await portal.CohortAsync(3, 0);
        using var client = portal.As("investigator");
        var read = await JsonAsync(await client.PostAsJsonAsync("/api/splits", Body("Frozen with the job", [cohort])));
        var id = read.GetProperty("id").GetInt32();
        var splits = portal.Service<SplitService>();

        await using (var db = await portal.Service<IDbContextFactory<Sdpm.Data.PortalDbContext>>().CreateDbContextAsync())
        {
            Assert.True((await splits.FreezeAsync(db, id, "training job 7", Actor.System)).Succeeded);
            Assert.False((await splits.GetAsync(id))!.Frozen); // nothing is saved until the job's transaction is
            await db.SaveChangesAsync();
        }
        Assert.True((await splits.GetAsync(id))!.Frozen);

        var edit = await client.PutAsJsonAsync($"/api/splits/{id}", Body("Frozen with the job", [cohort], seed: 9, version: read.GetProperty("version").GetInt32()));
        Assert.Equal(HttpStatusCode.Conflict, edit.StatusCode);
        Assert.Contains("training job 7", await ProblemAsync(edit));
    }

    [Fact]
    public async Task AStaleEditIsRefusedAndAnEditAssignsTheCasesAgain()
    {
        var (cohort, _, _) = await portal.CohortAsync(8, 0);
        using var client = portal.As("investigator");
        var split = await JsonAsync(await client.PostAsJsonAsync("/api/splits", Body("Edited", [cohort])));
        var id = split.GetProperty("id").GetInt32();
        var version = split.GetProperty("version").GetInt32();

        var everythingToTest = await JsonAsync(await client.PutAsJsonAsync($"/api/splits/{id}", Body("Edited and renamed", [cohort], 0, 0, 1, version: version)));
        Assert.Equal("Edited and renamed", everythingToTest.GetProperty("name").GetString());
        Assert.Empty(Ids(everythingToTest, "train"));
        Assert.Equal(8, Ids(everythingToTest, "test").Length);

        var stale = await client.PutAsJsonAsync($"/api/splits/{id}", Body("Edited", [cohort], version: version));
        Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
        Assert.Contains("reload", await ProblemAsync(stale));
        var noVersion = await client.PutAsJsonAsync($"/api/splits/{id}", Body("Edited", [cohort]));
        Assert.Equal(HttpStatusCode.BadRequest, noVersion.StatusCode);
    }

    [Fact]
    public async Task TheSameSeedGivesTheSameSplitAndEveryScanOfAPatientLandsInOnePart()
    {
        var (cohort, ids, _) = await portal.CohortAsync(12, 0);
        using var coordinator = portal.As("coordinator");
        // Three follow-up scans join the patients of earlier cases.
        for (var i = 0; i < 3; i++)
        {
            var patient = (await JsonAsync(await coordinator.GetAsync($"/api/cases/{ids[i]}"))).GetProperty("patientId").GetString();
            Assert.Equal(HttpStatusCode.OK, (await coordinator.PatchAsJsonAsync($"/api/cases/{ids[i + 6]}", new { patientId = patient })).StatusCode);
        }
        using var client = portal.As("investigator");
        var a = await JsonAsync(await client.PostAsJsonAsync("/api/splits", Body("Seeded A", [cohort], 0.5, 0.25, 0.25, seed: 99)));
        var b = await JsonAsync(await client.PostAsJsonAsync("/api/splits", Body("Seeded B", [cohort], 0.5, 0.25, 0.25, seed: 99)));

        foreach (var part in new[] { "train", "validation", "test" }) Assert.Equal(Ids(a, part), Ids(b, part));
        foreach (var patient in a.GetProperty("cases").EnumerateArray().GroupBy(c => c.GetProperty("patientId").GetString()))
        {
            Assert.Single(patient.Select(c => c.GetProperty("subset").GetString()).Distinct());
        }
        Assert.Equal(9, a.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("patientId").GetString()).Distinct().Count());
    }

    [Fact]
    public async Task ASplitExportsAsNnUNetSplitsFinalAndImportsBack()
    {
        var (cohort, _, _) = await portal.CohortAsync(8, 1);
        using var client = portal.As("investigator");
        var split = await JsonAsync(await client.PostAsJsonAsync("/api/splits", Body("Exported", [cohort])));
        var id = split.GetProperty("id").GetInt32();

        var download = await client.GetAsync($"/api/splits/{id}/splits_final.json");
        Assert.Equal("application/json", download.Content.Headers.ContentType!.MediaType);
        Assert.Equal("splits_final.json", download.Content.Headers.ContentDisposition!.FileNameStar ?? download.Content.Headers.ContentDisposition.FileName);
        var file = await download.Content.ReadAsStringAsync();
        var fold = JsonDocument.Parse(file).RootElement.EnumerateArray().Single();
        Assert.Equal(["train", "val", "test"], fold.EnumerateObject().Select(p => p.Name));
        string[] Pseudo(string part) => split.GetProperty("cases").EnumerateArray().Where(c => c.GetProperty("subset").GetString() == part)
            .Select(c => c.GetProperty("pseudoId").GetString()!).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(Pseudo("train"), fold.GetProperty("train").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(Pseudo("validation"), fold.GetProperty("val").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(Pseudo("test"), fold.GetProperty("test").EnumerateArray().Select(e => e.GetString()));

        var imported = await client.PostAsync($"/api/splits/import?cohortIds={cohort}&name=Imported%20back", new StringContent(file, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, imported.StatusCode);
        var back = await JsonAsync(imported);
        Assert.Equal("imported", back.GetProperty("origin").GetString());
        foreach (var part in new[] { "train", "validation", "test" }) Assert.Equal(Ids(split, part), Ids(back, part));
    }

    [Fact]
    public async Task AnImportNamesTheIdsItRefuses()
    {
        var (cohort, withReference, without) = await portal.CohortAsync(4, 2);
        var pseudo = await portal.DbAsync(db => db.Cases.Where(c => c.CohortId == cohort).OrderBy(c => c.Id).Select(c => c.PseudoId).ToListAsync());
        using var client = portal.As("investigator");
        async Task<(HttpStatusCode, string)> ImportAsync(object file, string name)
        {
            var response = await client.PostAsync($"/api/splits/import?cohortIds={cohort}&name={name}", JsonContent.Create(file));
            return (response.StatusCode, response.IsSuccessStatusCode ? "" : await ProblemAsync(response));
        }

        var (status, message) = await ImportAsync(new[] { new { train = new[] { pseudo[0], "XYZ-0001", "XYZ-0002" }, val = new[] { pseudo[1] } } }, "unknown");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("2 id(s) of the file are not cases of the chosen cohorts: XYZ-0001, XYZ-0002", message);

        (status, message) = await ImportAsync(new[] { new { train = new[] { pseudo[0], pseudo[4], pseudo[5] }, val = new[] { pseudo[1] } } }, "noref");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains($"2 case(s) of the file have no current reference and cannot be in a split: {pseudo[4]}, {pseudo[5]}", message);

        (status, message) = await ImportAsync(new[] { new { train = new[] { pseudo[0] }, val = new[] { pseudo[0] } } }, "twice");
        Assert.Contains($"listed more than once: {pseudo[0]}", message);

        (status, message) = await ImportAsync(new { train = 3 }, "bad");
        Assert.Contains("must be a list of case ids", message);
        (status, message) = await ImportAsync(new[] { new { train = new[] { pseudo[0] } } }, "fold");
        Assert.Equal(HttpStatusCode.Created, status);
        var wrongFold = await client.PostAsync($"/api/splits/import?cohortIds={cohort}&name=f&fold=3", JsonContent.Create(new[] { new { train = new[] { pseudo[0] } } }));
        Assert.Contains("fold 3 does not exist", await ProblemAsync(wrongFold));
        Assert.Equal(4, withReference.Length + without.Length - 2);
    }

    [Fact]
    public async Task AnImportThatPutsOnePatientInTwoPartsIsRefused()
    {
        var (cohort, ids, _) = await portal.CohortAsync(3, 0);
        using var coordinator = portal.As("coordinator");
        var first = await JsonAsync(await coordinator.GetAsync($"/api/cases/{ids[0]}"));
        var second = await JsonAsync(await coordinator.PatchAsJsonAsync($"/api/cases/{ids[1]}", new { patientId = first.GetProperty("patientId").GetString() }));
        using var client = portal.As("investigator");

        var response = await client.PostAsync($"/api/splits/import?cohortIds={cohort}&name=Torn",
            JsonContent.Create(new[] { new { train = new[] { first.GetProperty("pseudoId").GetString() }, val = Array.Empty<string>(), test = new[] { second.GetProperty("pseudoId").GetString() } } }));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var message = await ProblemAsync(response);
        Assert.Contains("1 patient(s) have cases in more than one part", message);
        Assert.Contains(first.GetProperty("patientId").GetString()!, message);
    }

    [Fact]
    public async Task ADraftIsDeletedAndADeletedCaseStaysInTheSplitsRecord()
    {
        var (cohort, ids, _) = await portal.CohortAsync(4, 0);
        using var client = portal.As("investigator");
        var keep = (await JsonAsync(await client.PostAsJsonAsync("/api/splits", Body("Keeps a deleted case", [cohort])))).GetProperty("id").GetInt32();
        var drop = (await JsonAsync(await client.PostAsJsonAsync("/api/splits", Body("Deleted draft", [cohort])))).GetProperty("id").GetInt32();

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/splits/{drop}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync($"/api/splits/{drop}")).StatusCode); // gone: like any id not yours

        var pseudo = await portal.DbAsync(db => db.Cases.Where(c => c.Id == ids[0]).Select(c => c.PseudoId).SingleAsync());
        using (var coordinator = portal.As("coordinator"))
        {
            Assert.Equal(HttpStatusCode.NoContent, (await coordinator.DeleteAsync($"/api/cases/{ids[0]}")).StatusCode);
        }
        var split = await JsonAsync(await client.GetAsync($"/api/splits/{keep}"));
        Assert.DoesNotContain(ids[0], new[] { "train", "validation", "test" }.SelectMany(p => Ids(split, p)));
        Assert.Equal([pseudo], split.GetProperty("deletedCases").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task ASplitOverTwoSitesNeedsAnInvestigatorOfBoth()
    {
        var (north, _, _) = await portal.CohortAsync(3, 0, "North");
        var (south, _, _) = await portal.CohortAsync(3, 0, "South");
        using var investigator = portal.As("investigator");
        var both = await JsonAsync(await investigator.PostAsJsonAsync("/api/splits", Body("North and South", [north, south])));
        var bothId = both.GetProperty("id").GetInt32();
        Assert.Equal(["North", "South"], both.GetProperty("cohorts").EnumerateArray().Select(c => c.GetProperty("site").GetString()));

        using var northPi = await portal.NorthInvestigatorAsync();
        foreach (var path in new[] { "", "/splits_final.json" })
        {
            using var read = await northPi.GetAsync($"/api/splits/{bothId}{path}");
            Assert.Equal(HttpStatusCode.Forbidden, read.StatusCode);
            Assert.DoesNotContain("SOU-", await read.Content.ReadAsStringAsync());
        }
        Assert.Equal(HttpStatusCode.Forbidden, (await northPi.PostAsync($"/api/splits/{bothId}/copy", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await northPi.DeleteAsync($"/api/splits/{bothId}")).StatusCode);
        var listed = await northPi.GetStringAsync("/api/splits");
        Assert.DoesNotContain("North and South", listed);
        Assert.DoesNotContain("SOU-", listed);

        var southCohort = await northPi.PostAsJsonAsync("/api/splits", Body("Reaching south", [north, south]));
        Assert.Equal(HttpStatusCode.Forbidden, southCohort.StatusCode);
        Assert.Contains("sites where you are an investigator", await ProblemAsync(southCohort));
        Assert.Equal(HttpStatusCode.Forbidden, (await northPi.PostAsJsonAsync("/api/splits/preview", Body("", [south]))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await northPi.PostAsJsonAsync("/api/splits", Body("No such cohort", [int.MaxValue]))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await northPi.PostAsync($"/api/splits/import?cohortIds={south}&name=x", JsonContent.Create(new[] { new { train = new[] { "SOU-0001" } } }))).StatusCode);

        var own = await northPi.PostAsJsonAsync("/api/splits", Body("North only", [north]));
        Assert.Equal(HttpStatusCode.Created, own.StatusCode);
        var ownId = (await JsonAsync(own)).GetProperty("id").GetInt32();
        Assert.Equal(HttpStatusCode.OK, (await northPi.GetAsync($"/api/splits/{ownId}")).StatusCode);
        // Moving one's own split onto another site's cohort is refused too.
        var moved = await northPi.PutAsJsonAsync($"/api/splits/{ownId}", Body("North only", [north, south], version: 1));
        Assert.Equal(HttpStatusCode.Forbidden, moved.StatusCode);

        using var coordinator = portal.As("coordinator");
        Assert.Equal(HttpStatusCode.Forbidden, (await coordinator.GetAsync("/api/splits")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await coordinator.GetAsync($"/api/splits/{ownId}")).StatusCode);
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesEverySplitRoute()
    {
        using var client = portal.CreateClient();
        var doc = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var paths = doc.GetProperty("paths");
        foreach (var (path, method) in new[]
        {
            ("/api/splits", "get"), ("/api/splits", "post"), ("/api/splits/preview", "post"), ("/api/splits/import", "post"),
            ("/api/splits/{splitId}", "get"), ("/api/splits/{splitId}", "put"), ("/api/splits/{splitId}", "delete"),
            ("/api/splits/{splitId}/copy", "post"), ("/api/splits/{splitId}/splits_final.json", "get"),
        })
        {
            Assert.True(paths.TryGetProperty(path, out var item), path);
            Assert.False(string.IsNullOrWhiteSpace(item.GetProperty(method).GetProperty("summary").GetString()), $"{method} {path}");
        }
    }
}

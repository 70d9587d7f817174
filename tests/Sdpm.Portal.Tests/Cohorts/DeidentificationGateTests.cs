using System.Text.Json;
using System.Net;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Sdpm.Portal.Features.Audit;

namespace Sdpm.Portal.Tests.Cohorts;

/// <summary>The de-identification gate: identifying attributes refuse a case, named by tag and keyword, never by
/// value; the coordinator's second step imports the decoded image only and is audited.</summary>
public class DeidentificationGateTests(CohortPortal portal) : IClassFixture<CohortPortal>
{
    [Fact]
    public async Task ASeriesWithIdentifyingAttributesIsRefusedWithTheirTagsButNotTheirValues()
    {
        using var files = new TestCases();
        files.WriteDicomSeries("Doe_Johnathan_CT", identifying: true);
        var zip = files.Zip("Doe_Johnathan_CT", "upload.zip");
        var cohort = await portal.CreateCohortAsync("Gate first step");
        var blobs = portal.BlobNames();

        var (status, body) = await portal.UploadAsync(cohort, zip);

        Assert.Equal(HttpStatusCode.OK, status);
        var row = body.GetProperty("cases")[0];
        Assert.Equal("refused", row.GetProperty("status").GetString());
        var findings = row.GetProperty("findings").EnumerateArray().Select(f => (f.GetProperty("tag").GetString(), f.GetProperty("name").GetString())).ToList();
        Assert.Contains(("(0010,0010)", "PatientName"), findings);
        Assert.Contains(("(0010,0020)", "PatientID"), findings);
        Assert.Contains(("(0010,0030)", "PatientBirthDate"), findings);
        var text = body.GetRawText();
        Assert.DoesNotContain("Doe^Johnathan", text);
        Assert.DoesNotContain("MRN-998877", text);
        Assert.DoesNotContain("19500101", text);
        Assert.Equal(1, body.GetProperty("refusedForIdentifyingData").GetInt32());
        using var client = portal.As("coordinator");
        var history = JsonDocument.Parse(await client.GetStringAsync($"/api/cohorts/{cohort}/imports")).RootElement;
        var refusedRow = history[0].GetProperty("results")[0];
        Assert.Equal("refused", refusedRow.GetProperty("status").GetString());
        Assert.True(refusedRow.GetProperty("identifyingDataFound").GetBoolean());
        Assert.Contains(refusedRow.GetProperty("findings").EnumerateArray(), f => f.GetProperty("tag").GetString() == "(0010,0010)");
        Assert.DoesNotContain("Doe^Johnathan", history.GetRawText());
        Assert.Equal(0, await portal.DbAsync(db => db.Cases.CountAsync(c => c.CohortId == cohort)));
        Assert.Equal(blobs, portal.BlobNames());
    }

    [Fact]
    public async Task TheSecondStepImportsTheDecodedImageOnlyAndAuditsTheDecision()
    {
        using var files = new TestCases();
        files.WriteDicomSeries("series", slices: 5, identifying: true);
        var zip = files.Zip("series", "identifying.zip");
        var cohort = await portal.CreateCohortAsync("Gate second step");
        var blobsBefore = portal.BlobNames();

        var (_, body) = await portal.UploadAsync(cohort, zip, accept: true);

        var row = body.GetProperty("cases")[0];
        Assert.Equal("imported", row.GetProperty("status").GetString());
        var caseId = row.GetProperty("caseId").GetInt32();
        var stored = await portal.DbAsync(db => db.Cases.SingleAsync(c => c.Id == caseId));
        Assert.Null(stored.SourceName);
        Assert.Matches("^NOR-\\d{4}$", stored.PseudoId);
        Assert.Matches("^NOR-P\\d{4}$", stored.PatientPseudoId);
        Assert.Equal([4, 5, 5], [stored.DimY, stored.DimX, stored.DimZ]);

        // No stored byte carries the identifying values or the UIDs: only the decoded volume, its mask and thumbnail.
        foreach (var blob in portal.BlobNames().Except(blobsBefore))
        {
            await using var s = portal.Blobs.OpenRead(blob);
            using var ms = new MemoryStream();
            await s.CopyToAsync(ms);
            var latin = Encoding.Latin1.GetString(ms.ToArray());
            Assert.DoesNotContain("Doe^Johnathan", latin);
            Assert.DoesNotContain("MRN-998877", latin);
            Assert.DoesNotContain("1.2.826.0.1.3680043", latin);
        }

        var audit = await portal.DbAsync(db => db.AuditEvents.Where(e => e.Action == AuditActions.DeidentificationAccepted && e.EntityId == cohort.ToString()).ToListAsync());
        var decision = Assert.Single(audit);
        Assert.Equal("coordinator", decision.UserName);
        Assert.Contains(stored.PseudoId, decision.Details);
        Assert.Contains("PatientName (0010,0010)", decision.Details);
        Assert.DoesNotContain("Doe^Johnathan", decision.Details);
    }

    [Fact]
    public async Task AnIdentifyingFileNameIsWithheldFromEveryStoredName()
    {
        using var files = new TestCases();
        files.WriteNifti("up", "Doe_John_1950-01-01", TestCases.Case(3), withMask: false);
        var cohort = await portal.CreateCohortAsync("Gate file names");

        var refused = await portal.UploadAsync(cohort, files.Zip("up", "scan.zip"));
        var accepted = await portal.UploadAsync(cohort, files.Zip("up", "scan.zip"), accept: true);

        Assert.Equal("refused", refused.Body.GetProperty("cases")[0].GetProperty("status").GetString());
        Assert.Contains(refused.Body.GetProperty("cases")[0].GetProperty("findings").EnumerateArray(), f => f.GetProperty("tag").GetString() == "filename");
        Assert.Equal("imported", accepted.Body.GetProperty("cases")[0].GetProperty("status").GetString());
        var names = await portal.DbAsync(async db =>
            (await db.ImportResults.Where(r => r.Batch!.CohortId == cohort).Select(r => r.Name).ToListAsync())
            .Concat(await db.Cases.Where(c => c.CohortId == cohort).Select(c => c.SourceName ?? "").ToListAsync()).ToList());
        Assert.All(names, n => Assert.DoesNotContain("Doe", n));
    }
}

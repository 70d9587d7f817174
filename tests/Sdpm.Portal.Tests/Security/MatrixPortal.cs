using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Imaging.Volumes;
using Sdpm.Portal.Data;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Cohorts;
using Sdpm.Portal.Features.Splits;
using Sdpm.Portal.Features.Tokens;
using Sdpm.Portal.Tests.Infrastructure;
using Sdpm.Storage;

namespace Sdpm.Portal.Tests.Security;

/// <summary>The resources of one site that the matrix substitutes into routes.</summary>
public sealed record MatrixSite(string Name, int SiteId, int CohortId, string CohortName, int CaseId, string CasePseudoId, int AnnotationId, int SplitId, string SplitName,
    int JobSplitId = 0, int JobId = 0, int ModelId = 0);

/// <summary>
/// The seeded portal (without demo cohorts) plus what the matrix needs: a deactivated site "Closed" whose only member
/// is the coordinator, one cohort and one case with image, reference and thumbnail in each of North, South and Closed, a draft
/// dataset split over each site's cohort,
/// an "outsider" account with a token of its own (the {tokenId} that nobody else may revoke), and a revoked token.
/// </summary>
public sealed class MatrixPortal() : PortalFactory(new Dictionary<string, string?> { ["Demo:CasesPerSite"] = "0" })
{
    public static readonly string[] SiteNames = ["North", "South", "Closed"];

    private readonly SemaphoreSlim gate = new(1, 1);
    private IReadOnlyDictionary<string, MatrixSite>? sites;
    private int caseCounter;

    /// <summary>Id of the outsider's API token.</summary>
    public int OutsiderTokenId { get; private set; }

    /// <summary>A token of the investigator's, revoked through <see cref="ApiTokenService"/>.</summary>
    public string RevokedToken { get; private set; } = "";

    /// <summary>The demo users' API tokens (data/demo-tokens.json).</summary>
    public IReadOnlyDictionary<string, string> Tokens
    {
        get
        {
            _ = Services;
            return JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(Path.Combine(DataFolder, DatabaseInitializer.TokensFileName)))!;
        }
    }

    /// <summary>North, South and Closed with their cohort and case, created once.</summary>
    public async Task<IReadOnlyDictionary<string, MatrixSite>> SitesAsync()
    {
        await gate.WaitAsync();
        try
        {
            return sites ??= await PrepareAsync();
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>A client without cookies that sends <c>Authorization: Bearer</c> with the given secret.</summary>
    public HttpClient BearerClient(string secret)
    {
        var client = CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        return client;
    }

    /// <summary>A new case with its blobs in the site's matrix cohort (for requests that delete one), even in a deactivated site.</summary>
    public async Task<int> NewCaseAsync(MatrixSite site) => await NewCaseAsync(site.Name, site.SiteId, site.CohortId);

    /// <summary>A new draft split over the site's matrix cohort (for requests that delete one), even in a deactivated site.</summary>
    public Task<int> NewSplitAsync(MatrixSite site) => NewSplitAsync(site.CohortId, $"Matrix split {Guid.NewGuid():N}");

    /// <summary>The split's current version, for an edit that must not be refused as stale.</summary>
    public async Task<int> SplitVersionAsync(int splitId)
    {
        await using var db = await Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        return await db.DatasetSplits.Where(s => s.Id == splitId).Select(s => s.Version).SingleAsync();
    }

    private async Task<int> NewSplitAsync(int cohortId, string name, double train = 0.5)
    {
        var created = await Service<SplitService>().CreateAsync(
            new SplitInput(name, [cohortId], new Sdpm.Engine.Contracts.Splits.SplitFractions(train, (1 - train) / 2, (1 - train) / 2), 1), Actor.System);
        Assert.True(created.Succeeded, created.Message);
        return created.Value!.Id;
    }

    /// <summary>The cohort's current version, for an edit that must not be refused as stale.</summary>
    public async Task<int> CohortVersionAsync(int cohortId)
    {
        await using var db = await Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        return await db.Cohorts.Where(c => c.Id == cohortId).Select(c => c.Version).SingleAsync();
    }

    /// <summary>A queued job of the site (never delivered: no worker runs in the matrix) and a model version with a
    /// real checkpoint blob.</summary>
    private async Task<(int JobId, int ModelId)> JobAndModelAsync(PortalDbContext db, int siteId, int caseId)
    {
        var job = new Job
        {
            Kind = JobKind.Train, Device = "cpu", SiteKey = $",{siteId},", DispatchId = "matrix", CreatedByName = "system", CreatedAt = DateTimeOffset.UtcNow,
            RequestJson = new Sdpm.Jobs.JobRequest(new Dictionary<string, string> { ["preset"] = "tiny" }, [caseId], "train", "matrix model").ToJson(),
        };
        db.Jobs.Add(job);
        var checkpoint = await Service<IBlobStore>().PutAsync(new MemoryStream(System.Text.Encoding.UTF8.GetBytes($"matrix checkpoint {siteId}")));
        var model = new ModelVersion
        {
            Name = $"Matrix model {siteId}", Model = "sdpm", Preset = "tiny", Recipe = "budget", CheckpointBlob = checkpoint.Hash, CheckpointBytes = checkpoint.Length,
            Steps = 1, SiteKey = $",{siteId},", CreatedByName = "system", CreatedAt = DateTimeOffset.UtcNow,
        };
        db.ModelVersions.Add(model);
        await db.SaveChangesAsync();
        // A committed avg prediction of the case (an empty mask on its grid), for the prediction download.
        var blobs = Service<IBlobStore>();
        var image = await db.Cases.Where(c => c.Id == caseId).Select(c => c.ImageBlob).SingleAsync();
        var grid = blobs.ReadVolumeHeader(image).Geometry;
        var mask = await blobs.PutMaskAsync(new Sdpm.Imaging.Volumes.Volume<byte>(grid));
        var map = await blobs.PutVolumeAsync(new Sdpm.Imaging.Volumes.Volume<byte>(grid));
        db.Predictions.Add(new Prediction
        {
            JobId = job.Id, ModelVersionId = model.Id, CaseId = caseId, Mode = "avg", Protocol = "fast", MaskBlob = mask.Hash, ProbabilityBlob = map.Hash,
            UncertaintyBlob = map.Hash, Committed = true, CreatedAt = DateTimeOffset.UtcNow,
        });
        await db.SaveChangesAsync();
        return (job.Id, model.Id);
    }

    private async Task<IReadOnlyDictionary<string, MatrixSite>> PrepareAsync()
    {
        var cohorts = Service<CohortService>();
        await using var db = await Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        var coordinator = await db.Users.SingleAsync(u => u.UserName == "coordinator");
        // Closed starts active so that the real service creates its cohort; it is deactivated below.
        var closed = new Site { Name = "Closed", IsActive = true, CreatedAt = DateTimeOffset.UtcNow };
        db.Sites.Add(closed);
        await db.SaveChangesAsync();
        db.UserSites.Add(new UserSite { UserId = coordinator.Id, SiteId = closed.Id });
        await db.SaveChangesAsync();

        var result = new Dictionary<string, MatrixSite>();
        foreach (var name in SiteNames)
        {
            var siteId = await db.Sites.Where(s => s.Name == name).Select(s => s.Id).SingleAsync();
            var cohortName = $"Matrix cohort of {name}";
            var created = await cohorts.CreateAsync(siteId, new CohortInput(cohortName, CohortLesionType.Mixed, "authorization matrix"), Actor.System);
            Assert.True(created.Succeeded, created.Error);
            var cohortId = created.Value!.Id;
            var caseId = await NewCaseAsync(name, siteId, cohortId);
            var pseudoId = await db.Cases.Where(c => c.Id == caseId).Select(c => c.PseudoId).SingleAsync();
            var splitName = $"Matrix split of {name}";
            var (jobId, modelId) = await JobAndModelAsync(db, siteId, caseId);
            result[name] = new MatrixSite(name, siteId, cohortId, cohortName, caseId, pseudoId, await AnnotationOfAsync(db, caseId, siteId),
                await NewSplitAsync(cohortId, splitName), splitName, await NewSplitAsync(cohortId, $"Matrix job split of {name}", train: 1), jobId, modelId);
        }
        closed.IsActive = false;
        await db.SaveChangesAsync();

        await CreateOutsiderTokenAsync();
        var tokens = Service<ApiTokenService>();
        var investigator = await db.Users.SingleAsync(u => u.UserName == "investigator");
        var revoked = await tokens.CreateAsync(investigator.Id, "matrix: revoked", null, Actor.System);
        Assert.True(revoked.Succeeded, revoked.Error);
        Assert.True((await tokens.RevokeAsync(investigator.Id, revoked.Value!.Token.Id, Actor.System)).Succeeded);
        RevokedToken = revoked.Value.Secret;
        return result;
    }

    /// <summary>The demo annotator's draft of the case (assigned to them), with a mask: reviews find it not submitted.</summary>
    private async Task<int> AnnotationOfAsync(PortalDbContext db, int caseId, int siteId)
    {
        var annotator = await db.Users.SingleAsync(u => u.UserName == "annotator");
        var mask = await db.Cases.Where(c => c.Id == caseId).Select(c => c.ReferenceBlob!).SingleAsync();
        db.CaseAssignments.Add(new CaseAssignment { CaseId = caseId, AnnotatorId = annotator.Id, AssignedByName = "matrix", AssignedAt = DateTimeOffset.UtcNow });
        var annotation = new Sdpm.Data.Entities.Annotation
        {
            CaseId = caseId, SiteId = siteId, AnnotatorId = annotator.Id, AnnotatorName = "annotator", MaskBlob = mask, Version = 1,
            CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow,
        };
        db.Annotations.Add(annotation);
        await db.SaveChangesAsync();
        return annotation.Id;
    }

    private async Task CreateOutsiderTokenAsync()
    {
        await using var scope = Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        var outsider = new PortalUser { UserName = "outsider", Email = "outsider@example.org", EmailConfirmed = true, DisplayName = "Olly Outsider", CreatedAt = DateTimeOffset.UtcNow };
        var identity = await users.CreateAsync(outsider);
        Assert.True(identity.Succeeded, string.Join("; ", identity.Errors.Select(e => e.Description)));
        var token = await Service<ApiTokenService>().CreateAsync(outsider.Id, "matrix: not yours", null, Actor.System);
        Assert.True(token.Succeeded, token.Error);
        OutsiderTokenId = token.Value!.Token.Id;
    }

    private async Task<int> NewCaseAsync(string siteName, int siteId, int cohortId)
    {
        var n = Interlocked.Increment(ref caseCounter);
        var dims = new Dims(16, 16, 4);
        var volume = new Volume<short>(dims, Affine.Canonical(new Spacing(0.9, 0.9, 5)));
        for (var i = 0; i < volume.Voxels.Length; i++)
        {
            volume.Voxels[i] = (short)(i % 80 - 20);
        }
        volume.Voxels[0] = (short)(1000 + n); // a distinct scan each time: one site refuses the same scan twice
        var mask = new Volume<byte>(volume.Geometry);
        mask[7, 7, 1] = mask[8, 7, 1] = mask[7, 8, 2] = 1;
        var blobs = Service<IBlobStore>();
        var image = await blobs.PutVolumeAsync(volume);
        var reference = await blobs.PutMaskAsync(mask);
        var thumbnail = await blobs.PutAsync(new MemoryStream(Thumbnails.Render(volume)));

        await using var db = await Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        var row = new Case
        {
            CohortId = cohortId,
            SiteId = siteId,
            PseudoId = $"{siteName[..3].ToUpperInvariant()}-M{n:0000}",
            PatientPseudoId = $"{siteName[..3].ToUpperInvariant()}-PM{n:0000}",
            LesionType = CaseLesionType.Unspecified,
            DimX = dims.X,
            DimY = dims.Y,
            DimZ = dims.Z,
            SpacingX = 0.9,
            SpacingY = 0.9,
            SpacingZ = 5,
            ImageBlob = image.Hash,
            ReferenceBlob = reference.Hash,
            ReferenceVolumeMl = 3 * 0.9 * 0.9 * 5 / 1000,
            ThumbnailBlob = thumbnail.Hash,
            SourceFormat = "nifti-1",
            CreatedAt = DateTimeOffset.UtcNow,
            CreatedByName = "matrix",
        };
        db.Cases.Add(row);
        await db.SaveChangesAsync();
        return row.Id;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            gate.Dispose();
        }
        base.Dispose(disposing);
    }
}

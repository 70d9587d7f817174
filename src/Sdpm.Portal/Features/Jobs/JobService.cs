using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Engine.Contracts;
using Sdpm.Engine.Contracts.Training;
using Sdpm.Jobs;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Splits;
using Sdpm.Storage;

namespace Sdpm.Portal.Features.Jobs;

/// <summary>What a PI asks of a training job: a split's train part, the model and its settings, the device.</summary>
/// <param name="Settings">Further engine settings by name (recipe, batch, lr, lr-min, lesion-free-ratio, time-power,
/// ld1-weighting, dice-weight, no-augment, checkpoint-every), validated like the CLI's flags.</param>
public sealed record TrainJobInput(int SplitId, string Model, string Preset, int? Steps, ulong Seed, string Device, string? Recipe, string? Name,
    IReadOnlyDictionary<string, string>? Settings = null);

/// <summary>A job as pages and the API show it.</summary>
public sealed record JobSummary(int Id, JobKind Kind, JobState State, string Device, int Step, int Total, int? SplitId, int? ModelVersionId,
    string? Error, string? Message, string? WaitingReason, string? Worker, int Attempts, bool CancelRequested, string CreatedBy,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, long? PeakMemoryBytes, string Name)
{
    public TimeSpan? Duration => StartedAt is { } s ? (FinishedAt ?? DateTimeOffset.UtcNow) - s : null;
}

/// <summary>One point of a job's loss curves.</summary>
public sealed record JobCurvePoint(int Step, double? Loss, IReadOnlyDictionary<string, double> Terms, double? SamplesPerSecond, DateTimeOffset At);

/// <summary>A trained model version, as listed.</summary>
public sealed record ModelSummary(int Id, string Name, string Model, string Preset, string Recipe, int Steps, int? SplitId, int? ParentId, int? JobId,
    string CheckpointSha256, long CheckpointBytes, string CreatedBy, DateTimeOffset CreatedAt, string OptionsJson);

public enum JobError
{
    None,
    Invalid,
    NotFound,
    Finished,
}

public sealed record JobResult(JobError Error, string? Message, int? Id = null)
{
    public static JobResult Fail(JobError error, string message) => new(error, message);
}

/// <summary>
/// Training jobs for investigators: validated (settings as the engine reads them, the split's train part non-empty)
/// and written with the split frozen in one transaction, then handed to the job engine. A job covers the sites of its
/// split: only an investigator of every one of them sees it and its model version.
/// </summary>
public sealed class JobService(IDbContextFactory<PortalDbContext> contexts, SplitService splits, JobQueue queue, AuditLog audit)
{
    public async Task<JobResult> SubmitTrainAsync(TrainJobInput input, Actor actor, CancellationToken ct = default)
    {
        if (!JobsOptions.KnownDevices.Contains(input.Device)) return JobResult.Fail(JobError.Invalid, $"device must be one of {string.Join(", ", JobsOptions.KnownDevices)}, got \"{input.Device}\".");
        var settings = new Dictionary<string, string>(input.Settings ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            ["model"] = input.Model,
            ["preset"] = input.Preset,
            ["seed"] = input.Seed.ToString(CultureInfo.InvariantCulture),
        };
        if (input.Steps is { } steps) settings["steps"] = steps.ToString(CultureInfo.InvariantCulture);
        if (!string.IsNullOrWhiteSpace(input.Recipe)) settings["recipe"] = input.Recipe;
        foreach (var reserved in new[] { "device", "test-fraction" }) settings.Remove(reserved); // the job's device; the split decides what is held out
        TrainingOptions options;
        try
        {
            options = TrainingSetup.FromSettings(settings).Resolve();
        }
        catch (Exception e) when (e is SettingException or ArgumentException)
        {
            return JobResult.Fail(JobError.Invalid, e.Message);
        }
        var split = await splits.GetAsync(input.SplitId, ct);
        if (split is null) return JobResult.Fail(JobError.NotFound, "The split does not exist.");
        if (split.Train.Count == 0) return JobResult.Fail(JobError.Invalid, $"Split \"{split.Name}\" has no case in its train part: make a split with a train fraction above 0.");
        var name = string.IsNullOrWhiteSpace(input.Name) ? $"{input.Model}-{input.Preset} on {split.Name}" : input.Name.Trim();
        if (name.Length > ModelVersion.NameMaxLength) return JobResult.Fail(JobError.Invalid, $"The model name is longer than {ModelVersion.NameMaxLength} characters.");

        List<int> sites;
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            sites = await db.Cases.Where(c => split.Train.Contains(c.Id)).Select(c => c.SiteId).Distinct().ToListAsync(ct);
        }
        var job = new Job
        {
            Kind = JobKind.Train,
            Device = input.Device,
            SplitId = split.Id,
            RequestJson = new JobRequest(settings, split.Train, "train", name).ToJson(),
            SiteKey = "," + string.Join(',', split.Cohorts.Select(c => c.SiteId).Concat(sites).Distinct().Order()) + ",",
            Total = options.Steps,
            CreatedById = actor.UserId,
            CreatedByName = actor.UserName,
        };
        string? refused = null;
        var queued = await queue.SubmitAsync(job, async (db, written, token) =>
        {
            var frozen = await splits.FreezeAsync(db, split.Id, $"used by training job {written.Id}", actor, token);
            refused = frozen.Error;
            if (!frozen.Succeeded) return false;
            audit.Record(db, actor, "job.submitted", "Job", written.Id.ToString(CultureInfo.InvariantCulture),
                $"train {input.Model}/{input.Preset}, {options.Steps} steps, seed {input.Seed}, {input.Device}, split \"{split.Name}\" ({split.Train.Count} cases)");
            return true;
        }, ct);
        return queued is null ? JobResult.Fail(JobError.Invalid, refused!) : new JobResult(JobError.None, null, queued.Id);
    }

    public async Task<JobResult> CancelAsync(int jobId, Actor actor, CancellationToken ct = default)
    {
        if (!await queue.CancelAsync(jobId, ct))
        {
            await using var check = await contexts.CreateDbContextAsync(ct);
            return await check.Jobs.AnyAsync(j => j.Id == jobId, ct)
                ? JobResult.Fail(JobError.Finished, "The job has finished already: there is nothing to cancel.")
                : JobResult.Fail(JobError.NotFound, "The job does not exist.");
        }
        await using var db = await contexts.CreateDbContextAsync(ct);
        audit.Record(db, actor, "job.cancelled", "Job", jobId.ToString(CultureInfo.InvariantCulture), "cancel requested");
        await db.SaveChangesAsync(ct);
        return new JobResult(JobError.None, null, jobId);
    }

    /// <summary>The jobs whose every site is one where the user is an active investigator, newest first.</summary>
    public async Task<IReadOnlyList<JobSummary>> ListAsync(string userId, int take = 200, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var mine = await InvestigatorSitesAsync(db, userId, ct);
        var rows = await db.Jobs.AsNoTracking().OrderByDescending(j => j.Id).Take(Math.Clamp(take * 4, 1, 4000)).ToListAsync(ct);
        return rows.Where(j => Covered(j.SiteKey, mine)).Take(take).Select(Summary).ToList();
    }

    public async Task<JobSummary?> GetAsync(int jobId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Jobs.AsNoTracking().SingleOrDefaultAsync(j => j.Id == jobId, ct) is { } j ? Summary(j) : null;
    }

    public async Task<string?> LogTailAsync(int jobId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Jobs.Where(j => j.Id == jobId).Select(j => j.LogTail).SingleOrDefaultAsync(ct);
    }

    public async Task<IReadOnlyList<JobCurvePoint>> CurveAsync(int jobId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var points = await db.JobPoints.AsNoTracking().Where(p => p.JobId == jobId).OrderBy(p => p.Id).ToListAsync(ct);
        return points.Select(p => new JobCurvePoint(p.Step, p.Loss, System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, double>>(p.TermsJson) ?? [],
            p.SamplesPerSecond, p.At)).ToList();
    }

    public async Task<IReadOnlyList<ModelSummary>> ModelsAsync(string userId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var mine = await InvestigatorSitesAsync(db, userId, ct);
        var rows = await db.ModelVersions.AsNoTracking().OrderByDescending(m => m.Id).ToListAsync(ct);
        return rows.Where(m => Covered(m.SiteKey, mine)).Select(Model).ToList();
    }

    public async Task<ModelSummary?> ModelAsync(int modelId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.ModelVersions.AsNoTracking().SingleOrDefaultAsync(m => m.Id == modelId, ct) is { } m ? Model(m) : null;
    }

    private static async Task<HashSet<int>> InvestigatorSitesAsync(PortalDbContext db, string userId, CancellationToken ct)
    {
        var investigator = await db.Roles.Where(r => r.Name == Roles.Investigator).Select(r => r.Id).SingleAsync(ct);
        if (!await db.UserRoles.AnyAsync(r => r.UserId == userId && r.RoleId == investigator, ct)) return [];
        return (await Security.SiteAccess.ActiveSiteIdsOf(db, userId).ToListAsync(ct)).ToHashSet();
    }

    /// <summary>The sites of a job or model (",1,2,").</summary>
    public static IReadOnlyList<int> SitesOf(string siteKey) =>
        siteKey.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToList();

    private static bool Covered(string siteKey, HashSet<int> sites) => SitesOf(siteKey) is { Count: > 0 } of && of.All(sites.Contains);

    private static JobSummary Summary(Job j) => new(j.Id, j.Kind, j.State, j.Device, j.Step, j.Total, j.SplitId, j.ResultModelVersionId, j.Error, j.Message,
        j.WaitingReason, j.WorkerName, j.Attempts, j.CancelRequested, j.CreatedByName, j.CreatedAt, j.StartedAt, j.FinishedAt, j.PeakMemoryBytes,
        JobRequest.Parse(j.RequestJson).Name ?? $"job {j.Id}");

    private static ModelSummary Model(ModelVersion m) => new(m.Id, m.Name, m.Model, m.Preset, m.Recipe, m.Steps, m.SplitId, m.ParentId, m.JobId,
        m.CheckpointBlob, m.CheckpointBytes, m.CreatedByName, m.CreatedAt, m.OptionsJson);
}

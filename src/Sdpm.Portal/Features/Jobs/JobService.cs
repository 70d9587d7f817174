using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Engine.Contracts;
using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Engine.Contracts.Training;
using Sdpm.Jobs;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Splits;
using Sdpm.Storage;

namespace Sdpm.Portal.Features.Jobs;

/// <summary>What a PI asks of a training job: a split's train part, the model and its settings, the device.</summary>
/// <param name="Settings">Further engine settings by name (recipe, batch, lr, lr-min, lesion-free-ratio, time-power,
/// ld1-weighting, dice-weight, augment, no-augment, field-mm, checkpoint-every, ...), validated like the CLI's flags.</param>
/// <param name="Model">sdpm, sdpm-no-noise or unet; null: the parent's, else sdpm.</param>
/// <param name="Preset">tiny, small or paper; null: the parent's, else small.</param>
/// <param name="ParentModelVersionId">Fine-tuning: the model version whose weights the run starts from (same kind and preset).</param>
public sealed record TrainJobInput(int SplitId, string? Model, string? Preset, int? Steps, ulong Seed, string Device, string? Recipe, string? Name,
    IReadOnlyDictionary<string, string>? Settings = null, int? ParentModelVersionId = null);

/// <summary>What a PI asks of an inference job: a model version on a split subset or on a whole cohort, modes, protocol.</summary>
/// <param name="Subset">train, validation or test (a split's); ignored for a cohort.</param>
/// <param name="Modes">Any of avg, sal, infer, all; null or empty: all four.</param>
/// <param name="Sampling">Sampling values that replace the protocol's, by their settings names
/// (<see cref="SamplingOverrides.Keys"/>: ti, sal-repeats, infer-repeats, d, eta, threshold, min-component, ...).</param>
public sealed record InferJobInput(int ModelVersionId, int? SplitId, string? Subset, int? CohortId, IReadOnlyList<string>? Modes, string Protocol, string Device,
    string? Name = null, int? MaxBatch = null, IReadOnlyDictionary<string, string>? Sampling = null);

/// <summary>What a PI asks of an evaluation job: a model version's stored predictions of a split subset or a cohort,
/// scored against the cases' current references.</summary>
public sealed record EvaluateJobInput(int ModelVersionId, int? SplitId, string? Subset, int? CohortId, IReadOnlyList<string>? Modes, string? Name = null);

/// <summary>A job as pages and the API show it.</summary>
public sealed record JobSummary(int Id, JobKind Kind, JobState State, string Device, int Step, int Total, int? SplitId, int? ModelVersionId,
    string? Error, string? Message, string? WaitingReason, string? Worker, int Attempts, bool CancelRequested, string CreatedBy,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, long? PeakMemoryBytes, string Name,
    int? InputModelVersionId = null, string? Subset = null, int? CohortId = null, int Cases = 0, IReadOnlyDictionary<string, string>? Settings = null,
    JobOutcome? Outcome = null)
{
    public TimeSpan? Duration => StartedAt is { } s ? (FinishedAt ?? DateTimeOffset.UtcNow) - s : null;
}

/// <summary>One point of a job's loss curves.</summary>
public sealed record JobCurvePoint(int Step, double? Loss, IReadOnlyDictionary<string, double> Terms, double? SamplesPerSecond, DateTimeOffset At);

/// <summary>A trained model version, as listed.</summary>
public sealed record ModelSummary(int Id, string Name, string Model, string Preset, string Recipe, int Steps, int? SplitId, int? ParentId, int? JobId,
    string CheckpointSha256, long CheckpointBytes, string CreatedBy, DateTimeOffset CreatedAt, string OptionsJson);

/// <summary>One stored prediction of a case, as the job page and the API list it. <see cref="Stale"/>: the case's reference
/// changed since the metrics were computed (an evaluation job scores it again).</summary>
public sealed record PredictionRow(long Id, int JobId, int ModelVersionId, int CaseId, string Case, string Mode, string Protocol, double VolumeMl, double VolumeSdMl,
    double? Dice, double? VolumeRefMl, bool Stale, DateTimeOffset CreatedAt);

public enum JobError
{
    None,
    Invalid,
    NotFound,
    Finished,
    Forbidden,
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
        ModelVersion? parent = null;
        if (input.ParentModelVersionId is { } parentId)
        {
            var (found, refusal) = await ModelForAsync(parentId, actor, ct);
            if (found is null) return refusal!;
            parent = found;
            if ((input.Model ?? parent.Model) != parent.Model || (input.Preset ?? parent.Preset) != parent.Preset)
                return JobResult.Fail(JobError.Invalid, $"A fine-tuned model keeps its parent's kind and preset ({parent.Model}/{parent.Preset}).");
        }
        var model = input.Model ?? parent?.Model ?? "sdpm";
        var preset = input.Preset ?? parent?.Preset ?? "small";
        var settings = new Dictionary<string, string>(input.Settings ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            ["model"] = model,
            ["preset"] = preset,
            ["seed"] = input.Seed.ToString(CultureInfo.InvariantCulture),
        };
        if (input.Steps is { } steps) settings["steps"] = steps.ToString(CultureInfo.InvariantCulture);
        if (!string.IsNullOrWhiteSpace(input.Recipe)) settings["recipe"] = input.Recipe;
        foreach (var reserved in new[] { "device", "test-fraction", "validation-fraction" }) settings.Remove(reserved); // the job's device; the split decides what is held out
        TrainingOptions? parentOptions = null;
        if (parent is not null)
        {
            // A fine-tuned model reads scans as its parent learned to: the preprocessing settings left out are the parent's.
            parentOptions = JobDisplay.TrainingOptions(parent.OptionsJson);
            if (parentOptions is null) return JobResult.Fail(JobError.Invalid, $"Model version {parent.Id}'s training options cannot be read, so it cannot be fine-tuned.");
            foreach (var (key, value) in TrainingSetup.PreprocessingSettings(parentOptions.PreprocessingOrDefault)) settings.TryAdd(key, value);
        }
        TrainingOptions options;
        try
        {
            options = TrainingSetup.FromSettings(settings).Resolve();
        }
        catch (Exception e) when (e is SettingException or ArgumentException)
        {
            return JobResult.Fail(JobError.Invalid, e.Message);
        }
        // Kind and preset were checked against the row above; the engine checks the checkpoint's options again.
        if (parentOptions is not null && options.PreprocessingRefusal(parentOptions) is { } different)
            return JobResult.Fail(JobError.Invalid, $"Cannot fine-tune model version {parent!.Id}: {different}");
        var split = await splits.GetAsync(input.SplitId, ct);
        if (split is null) return JobResult.Fail(JobError.NotFound, "The split does not exist.");
        if (split.Train.Count == 0) return JobResult.Fail(JobError.Invalid, $"Split \"{split.Name}\" has no case in its train part: make a split with a train fraction above 0.");
        var name = string.IsNullOrWhiteSpace(input.Name)
            ? parent is null ? $"{model}-{preset} on {split.Name}" : $"{parent.Name} fine-tuned on {split.Name}"
            : input.Name.Trim();
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
            InputModelVersionId = parent?.Id,
            RequestJson = new JobRequest(settings, split.Train, "train", name).ToJson(),
            SiteKey = Key(split.Cohorts.Select(c => c.SiteId).Concat(sites).Concat(parent is null ? [] : SitesOf(parent.SiteKey))),
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
                $"train {model}/{preset}, {options.Steps} steps, seed {input.Seed}, {input.Device}, split \"{split.Name}\" ({split.Train.Count} cases)"
                + (parent is null ? "" : $", fine-tuning model version {parent.Id}"));
            return true;
        }, ct);
        return queued is null ? JobResult.Fail(JobError.Invalid, refused!) : new JobResult(JobError.None, null, queued.Id);
    }

    /// <summary>An inference job: the model version's checkpoint (verified by hash in the worker) on the chosen cases,
    /// every requested mode; its predictions become visible when it succeeds.</summary>
    public async Task<JobResult> SubmitInferAsync(InferJobInput input, Actor actor, CancellationToken ct = default)
    {
        if (!JobsOptions.KnownDevices.Contains(input.Device)) return JobResult.Fail(JobError.Invalid, $"device must be one of {string.Join(", ", JobsOptions.KnownDevices)}, got \"{input.Device}\".");
        var settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["modes"] = input.Modes is { Count: > 0 } m ? string.Join(",", m) : "avg,sal,infer,all",
            ["protocol"] = string.IsNullOrWhiteSpace(input.Protocol) ? "fast" : input.Protocol.Trim(),
        };
        if (input.MaxBatch is { } mb) settings["max-batch"] = mb.ToString(CultureInfo.InvariantCulture);
        foreach (var (key, value) in input.Sampling ?? new Dictionary<string, string>())
        {
            var k = key.Trim().ToLowerInvariant();
            if (!SamplingOverrides.Keys.Contains(k))
                return JobResult.Fail(JobError.Invalid, $"\"{key}\" is not a sampling setting: an inference job's settings may name only {string.Join(", ", SamplingOverrides.Keys)}"
                    + " (modes, protocol, device and maxBatch are fields of the job itself).");
            if (!string.IsNullOrWhiteSpace(value)) settings[k] = value.Trim();
        }
        InferenceOptions options;
        try
        {
            options = InferenceOptions.FromSettings(settings);
        }
        catch (Exception e) when (e is SettingException or ArgumentException)
        {
            return JobResult.Fail(JobError.Invalid, e.Message);
        }
        // Normalised: no duplicate modes, the sampling values as the worker reads them back.
        settings = new Dictionary<string, string>(options.ToSettings(), StringComparer.Ordinal);
        settings.Remove("subset"); // the job's subset is its own field
        settings.Remove("device"); // the job's device is its own field
        var overrides = options.Sampling is { } o ? $" with {o.Describe()}" : "";
        return await SubmitOnCasesAsync(JobKind.Infer, input.ModelVersionId, input.SplitId, input.Subset, input.CohortId, settings, input.Device, input.Name, actor,
            $"infer, modes {settings["modes"]}, protocol {options.Protocol}{overrides}, {input.Device}", ct,
            model => JobDisplay.DiffusionSteps(model.OptionsJson) is { } t ? ProtocolRefusal(options, t) : null);
    }

    /// <summary>Why the options' protocol does not fit a model of T diffusion steps (for example Ti above T), or null.</summary>
    private static string? ProtocolRefusal(InferenceOptions options, int diffusionSteps)
    {
        try
        {
            options.ResolveProtocol(diffusionSteps);
            return null;
        }
        catch (ArgumentException e)
        {
            return $"The sampling settings do not fit this model (T = {diffusionSteps} diffusion steps): {e.Message}";
        }
    }


    /// <summary>An evaluation job: the model version's stored predictions of the chosen cases against their current
    /// references (Dice, VC, VDP with bootstrap CIs per mode); it runs on a CPU worker.</summary>
    public async Task<JobResult> SubmitEvaluateAsync(EvaluateJobInput input, Actor actor, CancellationToken ct = default)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            settings["modes"] = string.Join(",", (input.Modes is { Count: > 0 } m ? SamplingModes.ParseList(string.Join(",", m)) : SamplingModes.Every).Select(SamplingModes.Name));
        }
        catch (ArgumentException e)
        {
            return JobResult.Fail(JobError.Invalid, e.Message);
        }
        return await SubmitOnCasesAsync(JobKind.Evaluate, input.ModelVersionId, input.SplitId, input.Subset, input.CohortId, settings, "cpu", input.Name, actor,
            $"evaluate, modes {settings["modes"]}", ct);
    }

    private async Task<JobResult> SubmitOnCasesAsync(JobKind kind, int modelVersionId, int? splitId, string? subsetName, int? cohortId,
        Dictionary<string, string> settings, string device, string? label, Actor actor, string description, CancellationToken ct,
        Func<ModelVersion, string?>? refuseFor = null)
    {
        var (model, refusal) = await ModelForAsync(modelVersionId, actor, ct);
        if (model is null) return refusal!;
        if (refuseFor?.Invoke(model) is { } why) return JobResult.Fail(JobError.Invalid, why);
        if ((splitId is null) == (cohortId is null)) return JobResult.Fail(JobError.Invalid, "Name either a split (\"splitId\" with \"subset\") or a cohort (\"cohortId\").");
        var mine = await InvestigatorSitesAsync(actor, ct);
        IReadOnlyList<int> caseIds;
        string? subset = null;
        SplitDetail? split = null;
        var sites = new List<int>(SitesOf(model.SiteKey));
        string scope, shortScope;
        if (splitId is { } sid)
        {
            split = await splits.GetAsync(sid, ct);
            if (split is null) return JobResult.Fail(JobError.NotFound, "The split does not exist.");
            if (!split.Cohorts.All(c => mine.Contains(c.SiteId))) return JobResult.Fail(JobError.Forbidden, "You can use only splits of sites where you are an investigator.");
            subset = string.IsNullOrWhiteSpace(subsetName) ? "test" : subsetName.Trim().ToLowerInvariant();
            switch (subset)
            {
                case "train": caseIds = split.Train; break;
                case "validation": caseIds = split.Validation; break;
                case "test": caseIds = split.Test; break;
                default: return JobResult.Fail(JobError.Invalid, $"subset must be train, validation or test, got \"{subsetName}\".");
            }
            if (caseIds.Count == 0) return JobResult.Fail(JobError.Invalid, $"The {subset} part of split \"{split.Name}\" holds no case.");
            sites.AddRange(split.Cohorts.Select(c => c.SiteId));
            scope = $"the {subset} part of split \"{split.Name}\" ({caseIds.Count} cases)";
            shortScope = $"{subset} part of {split.Name}";
        }
        else
        {
            await using var db = await contexts.CreateDbContextAsync(ct);
            var cohort = await db.Cohorts.AsNoTracking().Where(c => c.Id == cohortId).Select(c => new { c.Id, c.Name, c.SiteId }).SingleOrDefaultAsync(ct);
            if (cohort is null) return JobResult.Fail(JobError.NotFound, "The cohort does not exist.");
            if (!mine.Contains(cohort.SiteId)) return JobResult.Fail(JobError.Forbidden, "You can use only cohorts of sites where you are an investigator.");
            caseIds = await db.Cases.Where(c => c.CohortId == cohort.Id).OrderBy(c => c.Id).Select(c => c.Id).ToListAsync(ct);
            if (caseIds.Count == 0) return JobResult.Fail(JobError.Invalid, $"Cohort \"{cohort.Name}\" holds no case.");
            sites.Add(cohort.SiteId);
            scope = $"cohort \"{cohort.Name}\" ({caseIds.Count} cases)";
            shortScope = $"cohort {cohort.Name}";
        }
        var name = string.IsNullOrWhiteSpace(label) ? $"{(kind == JobKind.Infer ? "Inference" : "Evaluation")} · {model.Name} · {shortScope}" : label.Trim();
        if (name.Length > 300) name = name[..299] + "…";
        var job = new Job
        {
            Kind = kind,
            Device = device,
            SplitId = split?.Id,
            InputModelVersionId = model.Id,
            RequestJson = new JobRequest(settings, caseIds, subset, name, cohortId).ToJson(),
            SiteKey = Key(sites),
            Total = caseIds.Count,
            CreatedById = actor.UserId,
            CreatedByName = actor.UserName,
        };
        string? refused = null;
        var queued = await queue.SubmitAsync(job, async (db, written, token) =>
        {
            if (split is not null)
            {
                var frozen = await splits.FreezeAsync(db, split.Id, $"used by {kind.ToString().ToLowerInvariant()} job {written.Id}", actor, token);
                refused = frozen.Error;
                if (!frozen.Succeeded) return false;
            }
            audit.Record(db, actor, "job.submitted", "Job", written.Id.ToString(CultureInfo.InvariantCulture),
                $"{description}, model version {model.Id} (\"{model.Name}\"), {scope}");
            return true;
        }, ct);
        return queued is null ? JobResult.Fail(JobError.Invalid, refused!) : new JobResult(JobError.None, null, queued.Id);
    }

    /// <summary>A model version the actor may use: an investigator of every site it was trained on.</summary>
    private async Task<(ModelVersion? Model, JobResult? Refusal)> ModelForAsync(int modelVersionId, Actor actor, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var model = await db.ModelVersions.AsNoTracking().SingleOrDefaultAsync(m => m.Id == modelVersionId, ct);
        if (model is null) return (null, JobResult.Fail(JobError.NotFound, $"Model version {modelVersionId} does not exist."));
        var mine = await InvestigatorSitesAsync(db, actor.UserId ?? "", ct);
        return Covered(model.SiteKey, mine) ? (model, null) : (null, JobResult.Fail(JobError.Forbidden, "You can use only model versions of sites where you are an investigator."));
    }

    private async Task<HashSet<int>> InvestigatorSitesAsync(Actor actor, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await InvestigatorSitesAsync(db, actor.UserId ?? "", ct);
    }

    private static string Key(IEnumerable<int> sites) => "," + string.Join(',', sites.Distinct().Order()) + ",";

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

    /// <summary>The committed predictions an inference job made (none until it succeeds), by case then mode.</summary>
    public async Task<IReadOnlyList<PredictionRow>> PredictionsOfJobAsync(int jobId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await Rows(db, db.Predictions.Where(p => p.JobId == jobId && p.Committed), ct);
    }

    /// <summary>A model version's current (committed) predictions of cases of the user's sites (a model may have
    /// predicted a cohort of a site the user is not an investigator of), by case then mode.</summary>
    public async Task<IReadOnlyList<PredictionRow>> PredictionsOfModelAsync(int modelId, string userId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var mine = (await InvestigatorSitesAsync(db, userId, ct)).ToList();
        return await Rows(db, db.Predictions.Where(p => p.ModelVersionId == modelId && p.Committed
                                                        && db.Cases.Any(c => c.Id == p.CaseId && mine.Contains(c.SiteId))), ct);
    }

    /// <summary>The committed predictions of one case by the model versions the user may use, by model then mode.</summary>
    public async Task<IReadOnlyList<PredictionRow>> PredictionsOfCaseAsync(int caseId, string userId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var mine = await InvestigatorSitesAsync(db, userId, ct);
        var models = (await db.ModelVersions.AsNoTracking().Where(m => db.Predictions.Any(p => p.CaseId == caseId && p.ModelVersionId == m.Id && p.Committed))
            .Select(m => new { m.Id, m.SiteKey }).ToListAsync(ct)).Where(m => Covered(m.SiteKey, mine)).Select(m => m.Id).ToList();
        return (await Rows(db, db.Predictions.Where(p => p.CaseId == caseId && p.Committed && models.Contains(p.ModelVersionId)), ct))
            .OrderByDescending(r => r.ModelVersionId).ThenBy(r => SamplingModes.Order(r.Mode)).ToList();
    }

    private static async Task<IReadOnlyList<PredictionRow>> Rows(PortalDbContext db, IQueryable<Prediction> predictions, CancellationToken ct)
    {
        var rows = await predictions.AsNoTracking()
            .Join(db.Cases, p => p.CaseId, c => c.Id, (p, c) => new { p, c.PseudoId, c.ReferenceBlob })
            .ToListAsync(ct);
        return rows.Select(r => new PredictionRow(r.p.Id, r.p.JobId, r.p.ModelVersionId, r.p.CaseId, r.PseudoId, r.p.Mode, r.p.Protocol, r.p.VolumeMl, r.p.VolumeSdMl,
                r.p.Dice, r.p.VolumeRefMl, r.p.MetricsReferenceBlob != r.ReferenceBlob, r.p.CreatedAt))
            .OrderBy(r => r.Case, StringComparer.Ordinal).ThenBy(r => SamplingModes.Order(r.Mode)).ToList();
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

    internal static async Task<HashSet<int>> InvestigatorSitesAsync(PortalDbContext db, string userId, CancellationToken ct)
    {
        var investigator = await db.Roles.Where(r => r.Name == Roles.Investigator).Select(r => r.Id).SingleAsync(ct);
        if (!await db.UserRoles.AnyAsync(r => r.UserId == userId && r.RoleId == investigator, ct)) return [];
        return (await Security.SiteAccess.ActiveSiteIdsOf(db, userId).ToListAsync(ct)).ToHashSet();
    }

    /// <summary>The sites of a job or model (",1,2,").</summary>
    public static IReadOnlyList<int> SitesOf(string siteKey) =>
        siteKey.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToList();

    internal static bool Covered(string siteKey, HashSet<int> sites) => SitesOf(siteKey) is { Count: > 0 } of && of.All(sites.Contains);

    private static JobSummary Summary(Job j)
    {
        var request = JobRequest.Parse(j.RequestJson);
        return new(j.Id, j.Kind, j.State, j.Device, j.Step, j.Total, j.SplitId, j.ResultModelVersionId, j.Error, j.Message,
            j.WaitingReason, j.WorkerName, j.Attempts, j.CancelRequested, j.CreatedByName, j.CreatedAt, j.StartedAt, j.FinishedAt, j.PeakMemoryBytes,
            request.Name ?? $"job {j.Id}", j.InputModelVersionId, request.Subset, request.CohortId, request.CaseIds.Count, request.Settings, JobOutcome.Parse(j.ResultJson));
    }

    private static ModelSummary Model(ModelVersion m) => new(m.Id, m.Name, m.Model, m.Preset, m.Recipe, m.Steps, m.SplitId, m.ParentId, m.JobId,
        m.CheckpointBlob, m.CheckpointBytes, m.CreatedByName, m.CreatedAt, m.OptionsJson);
}

using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;

namespace Sdpm.Portal.Features.Cohorts.Import;

/// <summary>One result row of an upload as shown on the page.</summary>
public sealed record ImportResultView(int Ordinal, string Name, ImportStatus Status, int? CaseId, string? PseudoId, string? Reason,
    bool IdentifyingDataFound, IReadOnlyList<FindingDto> Findings);

/// <summary>An upload with its results.</summary>
public sealed record ImportBatchView(int Id, int CohortId, string UploadName, string UserName, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt,
    long Bytes, bool AcceptDeidentification, int ImportedCount, int RefusedCount, bool Interrupted, IReadOnlyList<ImportResultView> Results)
{
    public bool InProgress => FinishedAt is null && !Interrupted;
}

/// <summary>An upload as listed on the dashboard.</summary>
public sealed record RecentImport(int Id, int CohortId, string CohortName, string UploadName, string UserName, DateTimeOffset StartedAt,
    int Imported, int Refused, bool InProgress);

/// <summary>Reads uploads and their per-case results for the cohort page.</summary>
public sealed class ImportHistoryQueries(IDbContextFactory<PortalDbContext> contexts)
{
    public async Task<IReadOnlyList<ImportBatchView>> RecentAsync(int cohortId, int take, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var ids = await db.ImportBatches.AsNoTracking().Where(b => b.CohortId == cohortId).OrderByDescending(b => b.Id).Take(take).Select(b => b.Id).ToListAsync(ct);
        var list = new List<ImportBatchView>();
        foreach (var id in ids)
        {
            list.Add((await LoadAsync(db, id, ct))!);
        }
        return list;
    }

    /// <summary>The latest uploads into cohorts of the user's active sites, newest first, without per-case rows.</summary>
    public async Task<IReadOnlyList<RecentImport>> RecentForUserAsync(string userId, int take, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var sites = Security.SiteAccess.ActiveSiteIdsOf(db, userId);
        return await db.ImportBatches.AsNoTracking().Where(b => sites.Contains(b.Cohort!.SiteId)).OrderByDescending(b => b.Id).Take(take)
            .Select(b => new RecentImport(b.Id, b.CohortId, b.Cohort!.Name, b.UploadName, b.UserName, b.StartedAt, b.ImportedCount, b.RefusedCount, b.FinishedAt == null && !b.Interrupted))
            .ToListAsync(ct);
    }

    /// <summary>The batch if it belongs to the cohort; null otherwise.</summary>
    public async Task<ImportBatchView?> GetAsync(int cohortId, int batchId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var view = await LoadAsync(db, batchId, ct);
        return view?.CohortId == cohortId ? view : null;
    }

    private static async Task<ImportBatchView?> LoadAsync(PortalDbContext db, int batchId, CancellationToken ct)
    {
        var b = await db.ImportBatches.AsNoTracking().Include(x => x.Results).SingleOrDefaultAsync(x => x.Id == batchId, ct);
        if (b is null) return null;
        var caseIds = b.Results.Where(r => r.CaseId != null).Select(r => r.CaseId!.Value).ToList();
        var pseudo = await db.Cases.AsNoTracking().Where(c => caseIds.Contains(c.Id)).ToDictionaryAsync(c => c.Id, c => c.PseudoId, ct);
        var results = b.Results.OrderBy(r => r.Ordinal).Select(r => new ImportResultView(r.Ordinal, r.Name, r.Status, r.CaseId,
            r.CaseId is { } id ? pseudo.GetValueOrDefault(id) : null, r.Reason, r.IdentifyingDataFound, Findings(r.FindingsJson))).ToList();
        return new ImportBatchView(b.Id, b.CohortId, b.UploadName, b.UserName, b.StartedAt, b.FinishedAt, b.Bytes, b.AcceptDeidentification,
            b.ImportedCount, b.RefusedCount, b.Interrupted, results);
    }

    private static IReadOnlyList<FindingDto> Findings(string? json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize<List<FindingDto>>(json, JsonSerializerOptions.Web) ?? [];
}

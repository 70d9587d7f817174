using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Imaging.Volumes;
using Sdpm.Storage;

namespace Sdpm.Portal.Features.Annotations;

/// <summary>One annotator's mask of a case, with its volume and its Dice against the case's reference.</summary>
public sealed record AnnotatorAgreement(int AnnotationId, string Annotator, AnnotationState State, double VolumeMl, double? DiceWithReference,
    string StartedFrom = "empty");

/// <summary>Dice between two annotators of a case.</summary>
public sealed record PairAgreement(string A, string B, double Dice);

/// <summary>How far the annotators of a case agree with each other and with the reference.</summary>
public sealed record CaseAgreement(int CaseId, string PseudoId, double? ReferenceVolumeMl, IReadOnlyList<AnnotatorAgreement> Annotators,
    IReadOnlyList<PairAgreement> Pairs)
{
    /// <summary>Mean pairwise Dice; null with fewer than two annotators.</summary>
    public double? MeanPairwiseDice => Pairs.Count == 0 ? null : Pairs.Average(p => p.Dice);
}

/// <summary>Agreement over a cohort: the mean pairwise Dice over cases with two or more annotations, most disputed first.</summary>
public sealed record CohortAgreement(int CohortId, int CasesWithTwoOrMore, double? MeanPairwiseDice, IReadOnlyList<CaseAgreement> MostDisputed);

/// <summary>
/// Inter-annotator agreement from the stored masks: Dice = 2|A∩B| / (|A| + |B|), and 1 when both masks are empty (two
/// annotators who agree that a case is lesion-free agree fully). Every annotation with a saved mask counts, whatever its
/// state; the state is reported beside it.
/// </summary>
public sealed class AgreementService(IDbContextFactory<PortalDbContext> contexts, IBlobStore blobs)
{
    public async Task<CaseAgreement?> ForCaseAsync(int caseId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var row = await db.Cases.AsNoTracking().Where(c => c.Id == caseId).Select(c => new { c.Id, c.PseudoId, c.ImageBlob, c.ReferenceBlob, c.ReferenceVolumeMl }).SingleOrDefaultAsync(ct);
        if (row is null) return null;
        var annotations = await db.Annotations.AsNoTracking().Where(a => a.CaseId == caseId && a.MaskBlob != null).OrderBy(a => a.AnnotatorName).ToListAsync(ct);
        return Compute(row.Id, row.PseudoId, row.ImageBlob, row.ReferenceBlob, row.ReferenceVolumeMl, annotations);
    }

    public async Task<CohortAgreement> ForCohortAsync(int cohortId, int take = 20, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var annotated = await db.Annotations.AsNoTracking().Where(a => a.Case!.CohortId == cohortId && a.MaskBlob != null)
            .GroupBy(a => a.CaseId).Where(g => g.Count() >= 2).Select(g => g.Key).ToListAsync(ct);
        var cases = new List<CaseAgreement>();
        foreach (var caseId in annotated)
        {
            ct.ThrowIfCancellationRequested();
            if (await ForCaseAsync(caseId, ct) is { } agreement) cases.Add(agreement);
        }
        var pairs = cases.SelectMany(c => c.Pairs).ToList();
        return new CohortAgreement(cohortId, cases.Count, pairs.Count == 0 ? null : Math.Round(pairs.Average(p => p.Dice), 4),
            cases.OrderBy(c => c.MeanPairwiseDice).ThenBy(c => c.PseudoId, StringComparer.Ordinal).Take(take).ToList());
    }

    private CaseAgreement Compute(int caseId, string pseudoId, string imageBlob, string? referenceBlob, double? referenceMl, List<Annotation> annotations)
    {
        var grid = blobs.ReadVolumeHeader(imageBlob).Geometry;
        var reference = referenceBlob is null ? null : blobs.ReadMask(referenceBlob, grid);
        var masks = annotations.Select(a => (Annotation: a, Mask: blobs.ReadMask(a.MaskBlob!, grid))).ToList();
        var annotators = masks.Select(m => new AnnotatorAgreement(m.Annotation.Id, m.Annotation.AnnotatorName, m.Annotation.State, m.Annotation.VolumeMl,
            reference is null ? null : Math.Round(Dice(m.Mask, reference), 4), m.Annotation.StartedFrom)).ToList();
        var pairs = new List<PairAgreement>();
        for (var i = 0; i < masks.Count; i++)
        {
            for (var j = i + 1; j < masks.Count; j++)
            {
                pairs.Add(new PairAgreement(masks[i].Annotation.AnnotatorName, masks[j].Annotation.AnnotatorName, Math.Round(Dice(masks[i].Mask, masks[j].Mask), 4)));
            }
        }
        return new CaseAgreement(caseId, pseudoId, referenceMl, annotators, pairs);
    }

    /// <summary>Dice of two binary masks on one grid; 1 when both are empty.</summary>
    public static double Dice(Volume<byte> a, Volume<byte> b)
    {
        long both = 0, sizeA = 0, sizeB = 0;
        var va = a.Voxels;
        var vb = b.Voxels;
        for (var i = 0; i < va.Length; i++)
        {
            var x = va[i] != 0;
            var y = vb[i] != 0;
            if (x) sizeA++;
            if (y) sizeB++;
            if (x && y) both++;
        }
        return sizeA + sizeB == 0 ? 1.0 : 2.0 * both / (sizeA + sizeB);
    }
}

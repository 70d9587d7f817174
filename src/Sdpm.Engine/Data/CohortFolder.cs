using System.Security.Cryptography;
using System.Text;
using Sdpm.Engine.Contracts.Cases;
using Sdpm.Engine.Contracts.Training;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Synthetic;
using Sdpm.Imaging.Volumes;
using IOPath = System.IO.Path;

namespace Sdpm.Engine.Data;

/// <summary>The cases of a cohort folder: one written by <c>sdpm synth</c> (its manifest.csv, or the manifest file itself), or
/// a folder of NIfTI images (directly or under images/) with optional masks/ of the same names.</summary>
/// <remarks>The folder is read when <see cref="Cases"/> is first asked for. Case ids are file names without .nii(.gz); the
/// patient id is the case id up to its first '_' (synthetic cohorts: one case per patient), so every scan of a patient
/// lands on the same side of a split. Bare folders have no site or lesion type, and no dims until a volume is read.</remarks>
public sealed class CohortFolder(string path) : ICaseSource
{
    private readonly Lazy<Listing> _listing = new(() => Listing.Of(Discover(path)));

    public string Path { get; } = path;

    public string Description => Path;

    public IReadOnlyList<CaseDescriptor> Cases => _listing.Value.Cases;

    public Volume<short> LoadVolume(string caseId, CancellationToken ct = default) => NiftiReader.ReadHu(Find(caseId).ImagePath);

    public Volume<byte>? LoadReference(string caseId, CancellationToken ct = default) =>
        Find(caseId).MaskPath is { } m && File.Exists(m) ? NiftiReader.ReadMask(m) : null;

    /// <summary>A SHA-256 over the case ids and the bytes of their image and mask files, then the preprocessing options
    /// (the fingerprint checkpoints written before case sources existed carry, so their runs still resume).</summary>
    public string Fingerprint(IEnumerable<string> caseIds, PreprocessingOptions preprocessing, CancellationToken ct = default)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var id in caseIds.Order(StringComparer.Ordinal))
        {
            ct.ThrowIfCancellationRequested();
            var e = Find(id);
            sha.AppendData(Encoding.UTF8.GetBytes(id + "\n"));
            sha.AppendData(File.ReadAllBytes(e.ImagePath));
            if (e.MaskPath is { } m && File.Exists(m)) sha.AppendData(File.ReadAllBytes(m));
        }
        sha.AppendData(Encoding.UTF8.GetBytes(preprocessing.ToString()));
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>The case id of a NIfTI file name: the name without .nii / .nii.gz.</summary>
    public static string CaseIdOf(string file)
    {
        var name = IOPath.GetFileName(file);
        if (name.EndsWith(".nii.gz", StringComparison.OrdinalIgnoreCase)) return name[..^7];
        if (name.EndsWith(".nii", StringComparison.OrdinalIgnoreCase)) return name[..^4];
        return name;
    }

    public static bool IsNifti(string file) =>
        file.EndsWith(".nii.gz", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".nii", StringComparison.OrdinalIgnoreCase);

    /// <summary>The patient of a case id in a cohort folder: the id up to its first '_'.</summary>
    public static string PatientOf(string caseId) => caseId.Split('_')[0];

    private Entry Find(string caseId) =>
        _listing.Value.ById.TryGetValue(caseId, out var e) ? e : throw new ArgumentException($"case '{caseId}' is not in '{Path}'.");

    private static IEnumerable<Entry> Discover(string path)
    {
        var manifest = File.Exists(path) ? path : IOPath.Combine(path, CohortManifest.FileName);
        if (File.Exists(manifest))
        {
            var root = IOPath.GetDirectoryName(IOPath.GetFullPath(manifest))!;
            return CohortManifest.Read(manifest).Select(e =>
            {
                var mask = e.Mask.Length > 0 ? IOPath.Combine(root, e.Mask) : null;
                var c = new CaseDescriptor(e.CaseId, PatientOf(e.CaseId), e.Site, e.Lesion, mask is not null && File.Exists(mask), e.Dims, e.Spacing);
                return new Entry(c, IOPath.Combine(root, e.Image), mask);
            }).ToList();
        }
        if (!Directory.Exists(path)) throw new ArgumentException($"data folder '{path}' does not exist.");
        var images = Directory.Exists(IOPath.Combine(path, "images")) ? IOPath.Combine(path, "images") : path;
        var masks = IOPath.Combine(path, "masks");
        var list = Directory.EnumerateFiles(images).Where(IsNifti).Order(StringComparer.Ordinal).Select(f =>
        {
            var id = CaseIdOf(f);
            var mask = Directory.Exists(masks) ? Directory.EnumerateFiles(masks).FirstOrDefault(m => IsNifti(m) && CaseIdOf(m) == id) : null;
            return new Entry(new CaseDescriptor(id, PatientOf(id), "", LesionType.None, mask is not null), f, mask);
        }).ToList();
        if (list.Count == 0) throw new ArgumentException($"no NIfTI images (and no {CohortManifest.FileName}) in '{path}'.");
        return list;
    }

    private sealed record Entry(CaseDescriptor Case, string ImagePath, string? MaskPath);

    private sealed record Listing(IReadOnlyList<CaseDescriptor> Cases, Dictionary<string, Entry> ById)
    {
        public static Listing Of(IEnumerable<Entry> entries)
        {
            var ordered = entries.OrderBy(e => e.Case.CaseId, StringComparer.Ordinal).ToList();
            var byId = new Dictionary<string, Entry>(StringComparer.Ordinal);
            foreach (var e in ordered)
                if (!byId.TryAdd(e.Case.CaseId, e)) throw new ArgumentException($"case id '{e.Case.CaseId}' appears twice (two files of one name?).");
            return new Listing(ordered.Select(e => e.Case).ToList(), byId);
        }
    }
}

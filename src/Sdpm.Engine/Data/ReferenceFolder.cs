using Sdpm.Engine.Contracts.Cases;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Engine.Data;

/// <summary>Reference masks in a folder, by file name: REF/masks/CASE.nii(.gz) when REF has a masks/ folder (a cohort),
/// else REF/CASE.nii(.gz).</summary>
public sealed class ReferenceFolder : IReferenceSource
{
    private readonly Dictionary<string, string> _files;

    /// <exception cref="ArgumentException">The folder does not exist.</exception>
    public ReferenceFolder(string path)
    {
        if (!Directory.Exists(path)) throw new ArgumentException($"reference folder '{path}' does not exist.");
        Root = Directory.Exists(System.IO.Path.Combine(path, "masks")) ? System.IO.Path.Combine(path, "masks") : path;
        _files = Directory.EnumerateFiles(Root).Where(CohortFolder.IsNifti).ToDictionary(CohortFolder.CaseIdOf, f => f, StringComparer.Ordinal);
    }

    /// <summary>The folder the masks are read from.</summary>
    public string Root { get; }

    public Volume<byte>? LoadReference(string caseId, CancellationToken ct = default) =>
        _files.TryGetValue(caseId, out var f) ? NiftiReader.ReadMask(f) : null;
}

using Sdpm.Engine.Contracts.Training;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Engine.Contracts.Cases;

/// <summary>Reference (ground-truth) lesion masks by case id.</summary>
public interface IReferenceSource
{
    /// <summary>The case's reference mask on its image grid (non-zero is lesion), or null when it has none.</summary>
    Volume<byte>? LoadReference(string caseId, CancellationToken ct = default);
}

/// <summary>Where the engine reads cases from: a cohort folder (the CLI), the portal's database and blob store (a worker).</summary>
/// <remarks>Volumes are int16 HU in canonical orientation (Sdpm.Imaging's convention), masks on the same grid. The engine
/// reads a case only through this interface, so a training or inference run cannot tell its sources apart.</remarks>
public interface ICaseSource : IReferenceSource
{
    /// <summary>Names the source in messages (a folder path, a cohort).</summary>
    string Description { get; }

    /// <summary>Every case, ordered by case id (ordinal).</summary>
    /// <exception cref="ArgumentException">The source holds no usable case.</exception>
    IReadOnlyList<CaseDescriptor> Cases { get; }

    /// <summary>The case's CT volume in HU, canonical orientation.</summary>
    Volume<short> LoadVolume(string caseId, CancellationToken ct = default);

    /// <summary>Identifies the data a training run reads: equal for the same cases with the same images, references and
    /// preprocessing, different otherwise. A checkpoint resumes only on data of an equal fingerprint.</summary>
    string Fingerprint(IEnumerable<string> caseIds, PreprocessingOptions preprocessing, CancellationToken ct = default);
}

using Sdpm.Imaging.Synthetic;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Engine.Contracts.Cases;

/// <summary>One case as the engine sees it before reading its voxels.</summary>
/// <param name="CaseId">Unique within its source; predictions and metrics are keyed by it.</param>
/// <param name="PatientId">Pseudonymous patient: every case of a patient lands on the same side of a split.</param>
/// <param name="Site">The site the case came from (a split stratum); empty when unknown.</param>
/// <param name="HasReference">Whether <see cref="IReferenceSource.LoadReference"/> returns a mask for it.</param>
/// <param name="Dims">Canonical dims, when the source knows them without reading the volume (a manifest, the database).</param>
/// <param name="Spacing">Voxel spacing in mm, under the same condition.</param>
public sealed record CaseDescriptor(
    string CaseId,
    string PatientId,
    string Site,
    LesionType Lesion,
    bool HasReference,
    Dims? Dims = null,
    Spacing? Spacing = null);

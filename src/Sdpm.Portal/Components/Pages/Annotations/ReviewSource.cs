using Sdpm.Portal.Components.Shared;
using Sdpm.Portal.Features.Annotations;

namespace Sdpm.Portal.Components.Pages.Annotations;

/// <summary>A mask a reviewer can put in a side-by-side panel: an annotator's (with its agreement figures) or the reference.</summary>
/// <param name="Key">Unique on the page: "reference" or "annotation-{id}".</param>
public sealed record ReviewSource(string Key, string Name, ViewerOverlay Overlay, AnnotatorAgreement? Annotation, double? VolumeMl);

namespace Sdpm.Portal.Components.Shared;

/// <summary>A mask drawn over the slices (the reference now; annotations and predictions later).</summary>
/// <param name="Url">Where the viewer fetches the whole-volume run-length mask (SRLE).</param>
public sealed record ViewerOverlay(string Id, string Name, string Url, string Color, double Opacity = 0.4, bool Visible = true, bool Outline = false);

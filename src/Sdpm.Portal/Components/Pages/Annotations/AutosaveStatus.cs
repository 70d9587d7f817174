namespace Sdpm.Portal.Components.Pages.Annotations;

/// <summary>What the annotation page's autosave reports (wwwroot/js/annotation-page.js): the version saved last, the
/// slices not yet saved, whether a save is under way, when the last one succeeded, and why saving failed or stopped.</summary>
public sealed record AutosaveState(int? Version, int Pending, bool Saving, DateTimeOffset? LastSavedAt, string? Error, bool Stopped);

/// <summary>The status line of the annotation page.</summary>
public static class AutosaveStatus
{
    /// <summary>Says what the autosave is doing. Changes not yet on the server are always said as such, even after an
    /// earlier save succeeded, so that "Saved at" never stands next to unsaved strokes.</summary>
    /// <param name="autosave">The autosave's last report; null before the first.</param>
    /// <param name="dirtySlices">Slices changed in the browser and not yet handed to a save.</param>
    /// <param name="storedVersion">The version stored when the page opened; null when there was none.</param>
    public static string Describe(AutosaveState? autosave, int dirtySlices, int? storedVersion)
    {
        if (autosave is { Saving: true }) return "Saving…";
        if (autosave is { Error: { } error, Stopped: false }) return error;
        if (dirtySlices > 0 || autosave is { Pending: > 0 })
        {
            return autosave?.LastSavedAt is { } last ? $"Unsaved changes (last saved at {last.ToLocalTime():HH:mm:ss})" : "Unsaved changes";
        }
        if (autosave is { LastSavedAt: { } at }) return $"Saved at {at.ToLocalTime():HH:mm:ss} (version {autosave.Version})";
        var version = autosave?.Version ?? storedVersion;
        return version is null ? "Not saved yet" : $"Version {version}";
    }
}

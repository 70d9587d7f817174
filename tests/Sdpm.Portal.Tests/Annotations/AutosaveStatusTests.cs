using Sdpm.Portal.Components.Pages.Annotations;

namespace Sdpm.Portal.Tests.Annotations;

public class AutosaveStatusTests
{
    private static readonly DateTimeOffset SavedAt = new(2026, 12, 2, 9, 30, 15, TimeSpan.Zero);

    [Fact]
    public void UnsavedStrokesAreSaidEvenAfterAnEarlierSave()
    {
        var saved = new AutosaveState(Version: 4, Pending: 0, Saving: false, LastSavedAt: SavedAt, Error: null, Stopped: false);
        Assert.StartsWith("Saved at ", AutosaveStatus.Describe(saved, dirtySlices: 0, storedVersion: 3));
        Assert.Contains("(version 4)", AutosaveStatus.Describe(saved, 0, 3));

        var strokeAfterwards = AutosaveStatus.Describe(saved, dirtySlices: 1, storedVersion: 3);
        Assert.StartsWith("Unsaved changes (last saved at ", strokeAfterwards);
        Assert.DoesNotContain("Saved at", strokeAfterwards);
        Assert.StartsWith("Unsaved changes", AutosaveStatus.Describe(saved with { Pending = 2 }, 0, 3));
    }

    [Fact]
    public void SavingErrorsAndFirstStatesAreSaid()
    {
        Assert.Equal("Not saved yet", AutosaveStatus.Describe(null, 0, null));
        Assert.Equal("Unsaved changes", AutosaveStatus.Describe(null, 3, null));
        Assert.Equal("Version 7", AutosaveStatus.Describe(null, 0, 7));
        var state = new AutosaveState(5, 1, Saving: true, SavedAt, null, false);
        Assert.Equal("Saving…", AutosaveStatus.Describe(state, 1, 5));
        var failed = state with { Saving = false, Error = "Not saved yet: the connection failed." };
        Assert.Equal("Not saved yet: the connection failed.", AutosaveStatus.Describe(failed, 1, 5));
        // A stopped autosave is shown by the page's alert; the line keeps the pending changes in view.
        Assert.StartsWith("Unsaved changes", AutosaveStatus.Describe(failed with { Stopped = true }, 1, 5));
    }
}

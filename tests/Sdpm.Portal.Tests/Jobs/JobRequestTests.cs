using Sdpm.Jobs;

namespace Sdpm.Portal.Tests.Jobs;

public class JobRequestTests
{
    [Fact]
    public void ARequestWithoutSettingsOrCasesReadsAsEmptyOnesAndARoundTripKeepsEverything()
    {
        var bare = JobRequest.Parse("{}");
        Assert.Empty(bare.Settings);
        Assert.Empty(bare.CaseIds);

        var full = new JobRequest(new Dictionary<string, string> { ["modes"] = "avg,sal" }, [3, 5], "test", "label", 7);
        var back = JobRequest.Parse(full.ToJson());
        Assert.Equal(full.Settings, back.Settings);
        Assert.Equal(full.CaseIds, back.CaseIds);
        Assert.Equal((full.Subset, full.Name, full.CohortId), (back.Subset, back.Name, back.CohortId));
        Assert.Throws<InvalidDataException>(() => JobRequest.Parse("null"));
    }
}

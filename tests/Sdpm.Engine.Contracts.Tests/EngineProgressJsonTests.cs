using Sdpm.Engine.Contracts.Progress;
using Sdpm.Engine.Contracts.Sampling;

namespace Sdpm.Engine.Contracts.Tests;

public class EngineProgressJsonTests
{
    private static readonly EngineProgress Step = new(ProgressKind.Step, "cpu (2 threads)", 20, 700,
        new Dictionary<string, double> { ["ld1"] = 0.25, ["ld2"] = double.NaN, ["grad_norm"] = 1.5 }, 9.5e-4, 14.2, 310);

    [Fact]
    public void AnEventIsOneSnakeCaseLineWithoutAbsentFields()
    {
        var line = EngineProgressJson.Serialize(Step);
        Assert.Equal(
            """{"kind":"step","device":"cpu (2 threads)","step":20,"total_steps":700,"terms":{"ld1":0.25,"ld2":"NaN","grad_norm":1.5},"learning_rate":0.00095,"samples_per_second":14.2,"eta_seconds":310}""",
            line);
        Assert.Equal(
            """{"kind":"mode","device":"cuda:0","step":0,"total_steps":0,"case_id":"case0001","mode":"infer","message":"3.20 mL, 44 passes"}""",
            EngineProgressJson.Serialize(new EngineProgress(ProgressKind.Mode, "cuda:0", CaseId: "case0001", Mode: SamplingMode.Infer, Message: "3.20 mL, 44 passes")));
    }

    [Fact]
    public void EveryKindRoundTrips()
    {
        foreach (var kind in Enum.GetValues<ProgressKind>())
        {
            var e = new EngineProgress(kind, "cpu", 3, 9, EtaSeconds: 1.25, CaseId: "c1", Mode: SamplingMode.All, Message: "m");
            var back = EngineProgressJson.Parse(EngineProgressJson.Serialize(e));
            Assert.Equal(e, back);
        }
    }

    [Fact]
    public void AStepRoundTripsWithItsTermsIncludingNaN()
    {
        var back = EngineProgressJson.Parse(EngineProgressJson.Serialize(Step));
        Assert.Equal(Step with { Terms = null }, back with { Terms = null });
        Assert.Equal(Step.Terms!.Keys, back.Terms!.Keys);
        Assert.Equal(0.25, back.Terms["ld1"]);
        Assert.True(double.IsNaN(back.Terms["ld2"]));
    }

    [Theory]
    [InlineData("")]
    [InlineData("[W NNPACK.cpp:64] Could not initialize NNPACK! Reason: Unsupported hardware.")]
    [InlineData("{not json")]
    [InlineData("""{"device":"cpu","step":1}""")]
    [InlineData("""{"kind":"epoch","device":"cpu"}""")]
    [InlineData("""{"kind":"step"}""")]
    [InlineData("""{"kind":"step","device":null}""")]
    [InlineData("""{"kind":"mode","device":"cpu","mode":"fastest"}""")]
    public void ALineThatIsNoEventIsPassedOver(string line)
    {
        Assert.False(EngineProgressJson.TryParse(line, out var e));
        Assert.Null(e);
        Assert.Throws<FormatException>(() => EngineProgressJson.Parse(line));
    }

    [Fact]
    public void TryParseReadsAChildsStdoutLineByLine()
    {
        var stdout = string.Join('\n',
            EngineProgressJson.Serialize(new EngineProgress(ProgressKind.Start, "cpu", 0, 2, Message: "sdpm/tiny")),
            "[W init] a native warning",
            EngineProgressJson.Serialize(Step),
            EngineProgressJson.Serialize(new EngineProgress(ProgressKind.Done, "cpu", 2, 2)));
        var events = new List<EngineProgress>();
        foreach (var line in stdout.Split('\n'))
            if (EngineProgressJson.TryParse(line, out var e)) events.Add(e!);
        Assert.Equal([ProgressKind.Start, ProgressKind.Step, ProgressKind.Done], events.Select(e => e.Kind));
    }

    [Fact]
    public void TheTextLineIsWhatTheCliPrints()
    {
        Assert.Equal("step 20/700  ld1 0.2500  ld2 NaN  grad_norm 1.5000  lr 9.50e-4  14.2 samples/s  eta 310s  [cpu (2 threads)]", EngineProgressJson.Text(Step));
        Assert.Equal("case 2/5 case0002  eta 12s  [cpu]", EngineProgressJson.Text(new EngineProgress(ProgressKind.Case, "cpu", 2, 5, CaseId: "case0002", EtaSeconds: 12.4)));
        Assert.Equal("  case0002 sal: 1.00 mL", EngineProgressJson.Text(new EngineProgress(ProgressKind.Mode, "cpu", CaseId: "case0002", Mode: SamplingMode.Sal, Message: "1.00 mL")));
        Assert.Equal("checkpoint: run/checkpoint.sdpm [cpu]", EngineProgressJson.Text(new EngineProgress(ProgressKind.Checkpoint, "cpu", Message: "run/checkpoint.sdpm")));
        Assert.Equal("info: preparing", EngineProgressJson.Text(new EngineProgress(ProgressKind.Info, "", Message: "preparing")));
    }
}

using Sdpm.Cli;

namespace Sdpm.Cli.Tests;

/// <summary>Runs the CLI in-process and captures its exit code and output.</summary>
public static class CliTestHost
{
    public sealed record Result(int ExitCode, string Out, string Error)
    {
        public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public static Result Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = CliApp.Run(args, o, e);
        return new Result(code, o.ToString(), e.ToString());
    }

    /// <summary>Asserts the one-line error contract: a non-zero code, one line on stderr, no stack trace.</summary>
    public static void AssertOneLineError(Result r, int expectedCode, string contains)
    {
        Assert.Equal(expectedCode, r.ExitCode);
        var line = Assert.Single(r.ErrorLines);
        Assert.StartsWith("error: ", line);
        Assert.Contains(contains, line, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("   at ", r.Error);
        Assert.DoesNotContain("Exception", r.Error);
    }
}

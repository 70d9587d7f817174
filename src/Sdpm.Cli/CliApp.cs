using Sdpm.Cli.Commands;
using Sdpm.Imaging;

namespace Sdpm.Cli;

/// <summary>The <c>sdpm</c> command line: dispatches a verb, maps errors to exit codes and one-line messages.</summary>
/// <remarks>Exit codes: 0 success, 1 bad input or failure, 2 usage error. Errors are one line on stderr, never a
/// stack trace. To add a verb (train, infer, eval, bench), implement <see cref="ICommand"/> in Commands/ and list it in
/// <see cref="Commands"/>.</remarks>
public static class CliApp
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;

    /// <summary>Every verb, in the order the help lists them.</summary>
    public static IReadOnlyList<ICommand> Commands { get; } =
    [
        new SynthCommand(),
        new InspectCommand(),
        new ConvertCommand(),
        new RenderCommand(),
        new BenchImagingCommand(),
        new TrainCommand(),
        new InferCommand(),
        new EvalCommand(),
        new TuneCommand(),
        new BenchCommand(),
    ];

    /// <summary>Runs one command line with the given output and error writers; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct = default)
    {
        if (args.Length == 0)
        {
            stderr.WriteLine($"error: no command given; commands: {string.Join(", ", Commands.Select(c => c.Name))} (see: sdpm --help).");
            return Usage;
        }
        if (args[0] is "-h" or "--help" or "help")
        {
            stdout.Write(HelpText());
            return Success;
        }
        if (args[0] is "--version")
        {
            stdout.WriteLine(typeof(CliApp).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");
            return Success;
        }
        var command = Commands.FirstOrDefault(c => c.Name == args[0]);
        if (command is null)
        {
            stderr.WriteLine($"error: unknown command '{args[0]}'. Commands: {string.Join(", ", Commands.Select(c => c.Name))}.");
            return Usage;
        }
        var rest = args[1..];
        if (rest.Contains("--help") || rest.Contains("-h"))
        {
            stdout.WriteLine($"usage: sdpm {command.Usage}");
            stdout.WriteLine(command.Summary);
            return Success;
        }
        try
        {
            return command.Run(new CommandContext(new ArgReader(rest), stdout, stderr, ct));
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"error: {OneLine(e.Message).TrimEnd('.')} (see: sdpm {command.Name} --help).");
            return Usage;
        }
        catch (ImagingException e)
        {
            stderr.WriteLine($"error: {OneLine(e.Message)}");
            return Failure;
        }
        catch (OperationCanceledException)
        {
            stderr.WriteLine("error: cancelled.");
            return Failure;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or FormatException or InvalidOperationException)
        {
            stderr.WriteLine($"error: {OneLine(e.Message)}");
            return Failure;
        }
        catch (Exception e)
        {
            stderr.WriteLine($"error: internal error ({e.GetType().Name}): {OneLine(e.Message)}");
            return Failure;
        }
    }

    /// <summary>The general help text.</summary>
    public static string HelpText()
    {
        var sw = new StringWriter();
        sw.WriteLine("usage: sdpm <command> [options]   (sdpm <command> --help for details)");
        sw.WriteLine();
        foreach (var c in Commands) sw.WriteLine($"  {c.Name,-14} {c.Summary}");
        return sw.ToString();
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}

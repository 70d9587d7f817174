namespace Sdpm.Cli.Commands;

/// <summary>One verb of the sdpm command line.</summary>
public interface ICommand
{
    /// <summary>The verb as typed (e.g. "synth").</summary>
    string Name { get; }

    /// <summary>The arguments after the verb, for usage lines.</summary>
    string Usage { get; }

    /// <summary>One line saying what the verb does.</summary>
    string Summary { get; }

    /// <summary>Runs the verb; throws <see cref="UsageException"/> for bad arguments.</summary>
    int Run(CommandContext context);
}

/// <summary>What a verb runs with: its arguments, output writers and a cancellation token.</summary>
public sealed record CommandContext(ArgReader Args, TextWriter Out, TextWriter Error, CancellationToken Cancellation);

/// <summary>Bad command-line arguments (exit code 2).</summary>
public sealed class UsageException(string message) : Exception(message);

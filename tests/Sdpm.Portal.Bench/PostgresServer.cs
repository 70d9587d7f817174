using System.Diagnostics;
using Npgsql;

namespace Sdpm.Portal.Bench;

/// <summary>A throw-away PostgreSQL server for <c>--database postgresql</c>: scripts/postgres-throwaway.sh starts it in a
/// folder of the bench's temporary folder on a free loopback port, and the bench creates the run's database on it. Stopped
/// (and its folder deleted) by <see cref="Dispose"/>, at the end, on failure, Ctrl+C or SIGTERM.</summary>
public sealed class PostgresServer : IDisposable
{
    private readonly string script;
    private readonly string folder;
    private readonly object gate = new();
    private bool stopped;

    private PostgresServer(string script, string folder, string connectionString)
    {
        this.script = script;
        this.folder = folder;
        ConnectionString = connectionString;
    }

    /// <summary>The connection string of the run's database (not "postgres").</summary>
    public string ConnectionString { get; }

    public static async Task<PostgresServer> StartAsync(string repositoryRoot, string folder, string database)
    {
        var script = Path.Combine(repositoryRoot, "scripts", "postgres-throwaway.sh");
        var (code, output, error) = await RunAsync(script, "start", folder);
        if (code != 0) throw new InvalidOperationException($"{script} start failed ({code}): {error}");
        var server = output.Trim().Split('\n')[^1].Trim();
        var created = new PostgresServer(script, folder, new NpgsqlConnectionStringBuilder(server) { Database = database }.ConnectionString);
        try
        {
            await using var connection = new NpgsqlConnection(server);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{database}\"", connection);
            await command.ExecuteNonQueryAsync();
        }
        catch
        {
            created.Dispose();
            throw;
        }
        return created;
    }

    /// <summary>Stops the server and deletes its folder; safe to call more than once and from a signal handler.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            if (stopped) return;
            stopped = true;
        }
        try
        {
            var (code, _, error) = RunAsync(script, "stop", folder).GetAwaiter().GetResult();
            if (code != 0) Console.Error.WriteLine($"warning: {script} stop {folder} failed ({code}): {error}");
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"warning: could not stop the PostgreSQL server in {folder}: {e.Message}");
        }
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(string script, string command, string folder)
    {
        var info = new ProcessStartInfo("bash", [script, command, folder]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not run {script}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}

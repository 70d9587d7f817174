using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;

namespace Sdpm.Portal.Bench;

/// <summary>The built portal as a separate process on a free loopback port with its own temporary data folder
/// (as tests/Sdpm.E2E/PortalServer does), seeded with the demo sites and users but no demo cases.</summary>
public sealed class PortalProcess : IDisposable
{
    private const int LogLines = 200;
    private readonly Process process;
    private readonly Queue<string> log = new();
    private bool disposed;

    private PortalProcess(Process process, string baseUrl, string dataFolder, PortalConnection database)
    {
        this.process = process;
        BaseUrl = baseUrl;
        DataFolder = dataFolder;
        Database = database;
    }

    public string BaseUrl { get; }
    public string DataFolder { get; }
    public int Pid => process.Id;
    public string DatabaseFile => Path.Combine(DataFolder, "portal.db");

    /// <summary>The portal's database: its SQLite file, or the PostgreSQL database the bench passed it.</summary>
    public PortalConnection Database { get; }

    /// <summary>Options for a <see cref="PortalDbContext"/> on the portal's database, for the figures that write or read rows
    /// straight (on PostgreSQL with the portal's write lock, as its workers do).</summary>
    public DbContextOptions<PortalDbContext> DbOptions()
    {
        var builder = new DbContextOptionsBuilder<PortalDbContext>();
        PortalDatabase.Use(builder, Database);
        return builder.Options;
    }

    /// <summary>The coordinator's demo API token (North's coordinator).</summary>
    public string Token { get; private set; } = "";

    /// <summary>Every demo user's API token, by user name.</summary>
    public IReadOnlyDictionary<string, string> Tokens { get; private set; } = new Dictionary<string, string>();

    /// <summary>Starts the portal on <paramref name="dataFolder"/>; with <paramref name="postgreSql"/> (a connection string) on that
    /// PostgreSQL database instead of the SQLite file in the data folder. The portal inherits the bench's environment, so that
    /// any other option (Jobs__QueuePoll, RateLimits__…) can be set for a run.</summary>
    public static async Task<PortalProcess> StartAsync(string repositoryRoot, string dataFolder, TimeSpan timeout, string? postgreSql = null)
    {
        var dll = Path.Combine(repositoryRoot, "src", "Sdpm.Portal", "bin", "Release", "net10.0", "Sdpm.Portal.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException("Build the solution in Release first (scripts/bench-portal.sh does).", dll);
        var port = FreePort();
        var info = new ProcessStartInfo("dotnet", [dll, "--urls", $"http://127.0.0.1:{port}"])
        {
            WorkingDirectory = repositoryRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // The bench drives thousands of requests a minute through one token (the portal allows 1200 per token): no per-token
        // limit, unless the bench's own environment sets one (Security__RateLimits__TokenRequests=1200 measures with it).
        info.Environment.TryAdd("Security__RateLimits__TokenRequests", "0");
        info.Environment["Portal__DataFolder"] = dataFolder;
        info.Environment["Demo__CasesPerSite"] = "0";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        if (postgreSql is not null)
        {
            info.Environment["Database__Provider"] = "PostgreSQL";
            info.Environment["ConnectionStrings__Portal"] = postgreSql;
        }
        var database = postgreSql is not null
            ? new PortalConnection(DatabaseProvider.PostgreSql, postgreSql)
            : PortalConnection.SqliteFile(Path.Combine(dataFolder, "portal.db"));
        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the portal.");
        var portal = new PortalProcess(process, $"http://127.0.0.1:{port}", dataFolder, database);
        process.OutputDataReceived += (_, e) => portal.Append(e.Data);
        process.ErrorDataReceived += (_, e) => portal.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await portal.WaitUntilHealthyAsync(timeout);
            var tokens = JsonSerializer.Deserialize<Dictionary<string, string>>(
                await File.ReadAllTextAsync(Path.Combine(dataFolder, "demo-tokens.json")))!;
            portal.Token = tokens["coordinator"];
            portal.Tokens = tokens;
        }
        catch
        {
            portal.Dispose();
            throw;
        }
        return portal;
    }

    /// <summary>A new client (its own handler and connections) that sends the coordinator's token, or the named demo
    /// user's; no caching.</summary>
    public HttpClient NewClient(TimeSpan timeout, string? user = null) => NewClientWithToken(timeout, user is null ? Token : Tokens[user]);

    /// <summary>A new client (its own handler and connections) that sends this API token.</summary>
    public HttpClient NewClientWithToken(TimeSpan timeout, string token)
    {
        var handler = new SocketsHttpHandler { UseCookies = false, AutomaticDecompression = DecompressionMethods.None };
        var http = new HttpClient(handler, disposeHandler: true) { BaseAddress = new Uri(BaseUrl), Timeout = timeout };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    /// <summary>Resident set size of the portal process now (VmRSS), in bytes.</summary>
    public long Rss() => StatusField("VmRSS:");

    /// <summary>How long the portal process has been running.</summary>
    public TimeSpan UpTime() => DateTime.Now - process.StartTime;

    /// <summary>CPU time (user + system) the portal process has used so far.</summary>
    public TimeSpan CpuTime()
    {
        // /proc/PID/stat: fields after the command's closing parenthesis start at field 3; utime and stime are fields 14
        // and 15, in clock ticks (100 a second on Linux).
        var stat = File.ReadAllText($"/proc/{process.Id}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return TimeSpan.FromSeconds((long.Parse(fields[11]) + long.Parse(fields[12])) / 100.0);
    }

    /// <summary>Peak resident set size since start or since <see cref="ResetPeakRss"/> (VmHWM), in bytes.</summary>
    public long PeakRss() => StatusField("VmHWM:");

    /// <summary>Resets VmHWM to the current RSS (Linux 4.0+: "5" to clear_refs); false when the kernel refuses.</summary>
    public bool ResetPeakRss()
    {
        try
        {
            File.WriteAllText($"/proc/{process.Id}/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private long StatusField(string name)
    {
        foreach (var line in File.ReadLines($"/proc/{process.Id}/status"))
        {
            if (line.StartsWith(name, StringComparison.Ordinal))
            {
                return long.Parse(line[name.Length..].Trim().Split(' ')[0]) * 1024; // kB
            }
        }
        throw new InvalidOperationException($"No {name} in /proc/{process.Id}/status.");
    }

    public string LogTail()
    {
        lock (log)
        {
            return string.Join('\n', log);
        }
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (log)
        {
            log.Enqueue(line);
            while (log.Count > LogLines) log.Dequeue();
        }
    }

    private async Task WaitUntilHealthyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (process.HasExited) throw new InvalidOperationException($"The portal exited with code {process.ExitCode}:\n{LogTail()}");
            try
            {
                if ((await http.GetAsync(BaseUrl + "/healthz")).StatusCode == HttpStatusCode.OK) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // not listening yet
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"The portal did not become healthy in {timeout.TotalSeconds} s:\n{LogTail()}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Kills the portal (and anything it started) and waits for it to end; safe to call from several threads.</summary>
    public void Dispose()
    {
        lock (log)
        {
            if (disposed) return;
            disposed = true;
        }
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // already gone
        }
        process.Dispose();
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Sdpm.E2E;

/// <summary>
/// The real portal as a separate process (the built Sdpm.Portal.dll) on a free loopback port,
/// with a fresh temporary data folder and the demo seeded.
/// </summary>
public sealed class PortalServer : IAsyncDisposable
{
    private readonly Process process;
    private readonly StringBuilder log = new();

    private readonly bool ownsDataFolder;

    private PortalServer(Process process, string baseUrl, string dataFolder, bool ownsDataFolder)
    {
        this.process = process;
        BaseUrl = baseUrl;
        DataFolder = dataFolder;
        this.ownsDataFolder = ownsDataFolder;
    }

    /// <summary>The portal's process id (the engine processes of its worker are its children).</summary>
    public int ProcessId => process.Id;

    public bool HasExited => process.HasExited;

    public string BaseUrl { get; }
    public string DataFolder { get; }
    public string Log { get { lock (log) { return log.ToString(); } } }

    public IReadOnlyDictionary<string, string> Credentials =>
        File.ReadAllLines(Path.Combine(DataFolder, "demo-credentials.txt"))
            .Select(l => Regex.Match(l, @"user:\s+(\S+)\s+password:\s+(\S+)"))
            .Where(m => m.Success)
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);

    public static string RepositoryRoot { get; } = FindRoot();

    private bool demoSeeded;

    /// <summary>Waits until the demo seeding (in the background after start-up) has imported both demo cohorts: cases 1-8
    /// at North, 9-16 at South.</summary>
    public async Task WaitForDemoCohortsAsync()
    {
        // Once seen, seeding is done for good (a later test may lock the user whose token this asks with).
        if (demoSeeded) return;
        var token = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(DataFolder, "demo-tokens.json"))).RootElement.GetProperty("investigator").GetString();
        using var http = new HttpClient { BaseAddress = new Uri(BaseUrl), Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (DateTime.UtcNow < deadline)
        {
            if ((await http.GetAsync("/api/cases/16")).IsSuccessStatusCode)
            {
                demoSeeded = true;
                return;
            }
            await Task.Delay(500);
        }
        throw new TimeoutException($"The demo cohorts were not seeded within two minutes:\n{Log}");
    }

    public static Task<PortalServer> StartAsync() => StartAsync(null, null);

    /// <summary>Starts the portal on a data folder of its own (null: a fresh one, deleted when disposed; otherwise an
    /// existing one, kept: a restart), with further settings (configuration keys with ':' or '__').</summary>
    public static async Task<PortalServer> StartAsync(string? existingDataFolder, IReadOnlyDictionary<string, string>? settings)
    {
        var dll = PortalDll();
        var port = FreePort();
        var dataFolder = existingDataFolder ?? Path.Combine(Path.GetTempPath(), "sdpm-e2e", Guid.NewGuid().ToString("N"));
        var info = new ProcessStartInfo("dotnet", [dll, "--urls", $"http://127.0.0.1:{port}"])
        {
            WorkingDirectory = RepositoryRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["Portal__DataFolder"] = dataFolder;
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        // The journeys sign the demo users in many times a minute from one address; the limits have tests of their own
        // (RateLimitTests). A journey's settings below may set them again.
        info.Environment["Security__RateLimits__SignInPerUserName"] = "0";
        info.Environment["Security__RateLimits__SignInPerClient"] = "0";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            info.Environment[key.Replace(":", "__")] = value;
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the portal.");
        var server = new PortalServer(process, $"http://127.0.0.1:{port}", dataFolder, existingDataFolder is null);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await server.WaitUntilHealthyAsync(TimeSpan.FromSeconds(90));
        return server;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (log)
            {
                log.AppendLine(line);
            }
        }
    }

    private async Task WaitUntilHealthyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The portal exited with code {process.ExitCode}:\n{Log}");
            }
            try
            {
                if ((await http.GetAsync(BaseUrl + "/healthz")).StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // not listening yet, or still starting up (a loaded machine answers the first request slowly)
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"The portal did not become healthy in {timeout.TotalSeconds} s:\n{Log}");
    }

    private static string PortalDll()
    {
        // The same configuration as this test assembly (bin/Release or bin/Debug).
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        var dll = Path.Combine(RepositoryRoot, "src", "Sdpm.Portal", "bin", configuration, "net10.0", "Sdpm.Portal.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException("Build the portal first.", dll);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Sdpm.Portal.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Cannot find the repository root.");
    }

    /// <summary>kill -9 of the portal process alone (SIGKILL: no shutdown code runs); its engine processes, if any, see
    /// their stdin close and stop by themselves.</summary>
    public async Task KillAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: false);
        }
        await process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        process.Dispose();
        if (!ownsDataFolder) return;
        try
        {
            Directory.Delete(DataFolder, recursive: true);
        }
        catch (IOException)
        {
            // left for the OS to clean
        }
    }
}

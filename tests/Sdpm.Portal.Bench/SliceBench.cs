using System.Diagnostics;
using System.Net;

namespace Sdpm.Portal.Bench;

/// <param name="PortalCpuMs">CPU time of the portal process per request (user + system, all threads, GC included).</param>
/// <param name="ClientCpuMs">CPU time of this benchmark process per request: the clients share the cores with the portal.</param>
public sealed record SliceFigures(string Kind, int Clients, Latency Latency, double RequestsPerSecond, double Seconds, long Bytes, int Errors,
    double PortalCpuMs, double ClientCpuMs);

/// <summary>Figure 2: latency of the slice endpoints of 512x512 cases under concurrent clients, raw and PNG apart.
/// Every client has its own handler and connections and never sends If-None-Match, so every answer is rendered.</summary>
public static class SliceBench
{
    private static readonly TimeSpan PhaseLimit = TimeSpan.FromMinutes(5);

    public static async Task<IReadOnlyList<SliceFigures>> RunAsync(PortalProcess portal, IReadOnlyList<int> caseIds, int slices,
        int clients, int requestsPerClient, TimeSpan warmUp, int seed)
    {
        var pool = Enumerable.Range(0, clients).Select(_ => portal.NewClient(TimeSpan.FromSeconds(30))).ToList();
        try
        {
            var results = new List<SliceFigures>();
            // "me" is no slice: GET /api/me under the same load, the cost of authenticating an API token and nothing else.
            var kinds = new (string Kind, string Suffix, int Length)[]
            {
                ("raw", ".raw", ImportBench.Size * ImportBench.Size * 2),
                ("png", ".png?window=80&level=40", 0),
                ("me (reference)", "", 0),
            };
            Func<Random, string> Url(string suffix) => suffix.Length == 0
                ? _ => "/api/me"
                : rng => $"/api/cases/{caseIds[rng.Next(caseIds.Count)]}/slices/{rng.Next(slices)}{suffix}";

            // Warm-up: every kind in turn under the same load for a while, so that tiered compilation has promoted the
            // request path (a few requests leave the JIT busy for many seconds, and the first kind measured pays for it).
            var mixed = kinds.Select(k => Url(k.Suffix)).ToArray();
            var warm = await Phase(pool, rng => mixed[rng.Next(mixed.Length)](rng), 100_000, seed - 1, 0, warmUp);
            Progress.Say($"slices: warmed up with {warm.Sum(r => r.Ms.Count)} requests in {warmUp.TotalSeconds:0} s");
            await Task.Delay(TimeSpan.FromSeconds(1));

            foreach (var (kind, suffix, length) in kinds)
            {
                var (portalCpu, clientCpu) = (portal.CpuTime(), Process.GetCurrentProcess().TotalProcessorTime);
                var watch = Stopwatch.StartNew();
                var runs = await Phase(pool, Url(suffix), requestsPerClient, seed, length, PhaseLimit);
                watch.Stop();
                portalCpu = portal.CpuTime() - portalCpu;
                clientCpu = Process.GetCurrentProcess().TotalProcessorTime - clientCpu;
                var all = runs.SelectMany(r => r.Ms).ToList();
                var figures = new SliceFigures(kind, clients, Latency.Of(all), Math.Round(all.Count / watch.Elapsed.TotalSeconds, 1),
                    Math.Round(watch.Elapsed.TotalSeconds, 2), runs.Sum(r => r.Bytes), runs.Sum(r => r.Errors),
                    Math.Round(portalCpu.TotalMilliseconds / all.Count, 2), Math.Round(clientCpu.TotalMilliseconds / all.Count, 2));
                Progress.Say($"slices {kind}: {figures.Latency.Count} requests, p95 {figures.Latency.P95} ms, {figures.RequestsPerSecond} req/s, portal CPU {figures.PortalCpuMs} ms/request, {figures.Errors} errors");
                results.Add(figures);
            }
            return results;
        }
        finally
        {
            pool.ForEach(c => c.Dispose());
        }
    }

    private sealed record ClientRun(List<double> Ms, long Bytes, int Errors);

    /// <summary>Every client sends its requests as fast as answers come, at most <paramref name="requests"/> each and for at
    /// most <paramref name="limit"/>; <paramref name="length"/>: the body length to expect (0: any).</summary>
    private static async Task<ClientRun[]> Phase(List<HttpClient> pool, Func<Random, string> next, int requests, int seed, int length,
        TimeSpan limit)
    {
        using var deadline = new CancellationTokenSource(limit + TimeSpan.FromSeconds(30));
        var clock = Stopwatch.StartNew();
        using var start = new SemaphoreSlim(0);
        var tasks = pool.Select((http, index) => Task.Run(async () =>
        {
            var rng = new Random(seed * 1000 + index);
            var run = new ClientRun(new List<double>(requests), 0, 0);
            var bytes = 0L;
            var errors = 0;
            await start.WaitAsync(deadline.Token);
            for (var i = 0; i < requests && clock.Elapsed < limit; i++)
            {
                var url = next(rng);
                var watch = Stopwatch.StartNew();
                using var response = await http.GetAsync(url, deadline.Token);
                var body = await response.Content.ReadAsByteArrayAsync(deadline.Token);
                watch.Stop();
                if (response.StatusCode != HttpStatusCode.OK || (length > 0 && body.Length != length)) errors++;
                bytes += body.Length;
                run.Ms.Add(watch.Elapsed.TotalMilliseconds);
            }
            return run with { Bytes = bytes, Errors = errors };
        })).ToArray();
        start.Release(pool.Count);
        return await Task.WhenAll(tasks);
    }
}

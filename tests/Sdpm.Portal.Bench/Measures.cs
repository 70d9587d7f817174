using System.Globalization;
using System.Runtime.InteropServices;

namespace Sdpm.Portal.Bench;

/// <summary>Latency figures of a series of requests, in milliseconds (nearest-rank percentiles).</summary>
public sealed record Latency(int Count, double P50, double P95, double P99, double Max, double Mean)
{
    public static Latency Of(IReadOnlyCollection<double> ms)
    {
        if (ms.Count == 0) return new Latency(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        var sorted = ms.Order().ToArray();
        return new Latency(sorted.Length, Percentile(sorted, 50), Percentile(sorted, 95), Percentile(sorted, 99), Round(sorted[^1]), Round(sorted.Average()));
    }

    /// <summary>Nearest rank: the smallest value with at least p% of the values at or below it.</summary>
    public static double Percentile(double[] sorted, double p)
    {
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return Round(sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)]);
    }

    public static double Median(IReadOnlyCollection<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length == 0 ? double.NaN : s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    public static double Round(double v) => Math.Round(v, 2);
}

/// <summary>The machine the figures were measured on.</summary>
public sealed record MachineInfo(int Cores, string CpuModel, double RamGiB, string Os, string Runtime, string MeasuredAt)
{
    public static MachineInfo Read()
    {
        var cpu = ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal)) is { } line
            ? line[(line.IndexOf(':') + 1)..].Trim()
            : "unknown";
        var memKb = ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)) is { } mem
            ? long.Parse(mem["MemTotal:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture)
            : 0;
        return new MachineInfo(Environment.ProcessorCount, cpu, Math.Round(memKb / 1024.0 / 1024.0, 1), RuntimeInformation.OSDescription,
            RuntimeInformation.FrameworkDescription, DateTimeOffset.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture));
    }

    /// <summary>The 1, 5 and 15 minute load averages (/proc/loadavg): other work on the machine competes for the cores.</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    private static IEnumerable<string> ReadLines(string path) => File.Exists(path) ? File.ReadLines(path) : [];
}

/// <summary>One performance target and whether the measurement met it.</summary>
public sealed record TargetCheck(string Name, string Target, string Measured, bool Met);

public static class Units
{
    /// <summary>Decimal megabytes (10^6 bytes), as the targets are stated.</summary>
    public static double Mb(long bytes) => Math.Round(bytes / 1e6, 1);

    public static string Ms(double ms) => double.IsNaN(ms) ? "-" : ms.ToString("0.0", CultureInfo.InvariantCulture);
}

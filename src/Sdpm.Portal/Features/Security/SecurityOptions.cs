using System.Threading.RateLimiting;
using System.Net;

namespace Sdpm.Portal.Features.Security;

/// <summary>Rate limits, cookie security and trusted proxies; bound from the "Security" section (docs/decisions/011).</summary>
public sealed class SecurityOptions
{
    public const string Section = "Security";

    public RateLimitOptions RateLimits { get; set; } = new();

    /// <summary>Whether cookies carry the Secure attribute: Auto (Always when the portal listens on https, as received
    /// otherwise, and as received in Development), Always, or SameAsRequest.</summary>
    public SecureCookieMode SecureCookies { get; set; } = SecureCookieMode.Auto;

    /// <summary>Comma-separated addresses of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed
    /// (the client's address for the sign-in limits, https for Secure cookies). Empty: forwarded headers are ignored.</summary>
    public string TrustedProxies { get; set; } = "";

    public IReadOnlyList<IPAddress> TrustedProxyAddresses() =>
        TrustedProxies.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(IPAddress.Parse).ToList();

    /// <summary>What is wrong with these settings, or null.</summary>
    public string? Problem()
    {
        var r = RateLimits;
        if (r.SignInPerUserName < 0 || r.SignInPerClient < 0 || r.TokenRequests < 0)
        {
            return "Security:RateLimits: a limit is a number of requests, 0 or more (0 turns that limit off).";
        }
        if (r.SignInWindow <= TimeSpan.Zero || r.TokenWindow <= TimeSpan.Zero)
        {
            return "Security:RateLimits: SignInWindow and TokenWindow must be longer than zero (for example 00:01:00).";
        }
        foreach (var proxy in TrustedProxies.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!IPAddress.TryParse(proxy, out _))
            {
                return $"Security:TrustedProxies: '{proxy}' is not an IP address.";
            }
        }
        return null;
    }
}

/// <summary>Fixed-window limits on sign-in attempts and on API token use. A limit of 0 turns it off.</summary>
public sealed class RateLimitOptions
{
    /// <summary>Sign-in attempts (and current-password checks) per user name as typed, per window.</summary>
    public int SignInPerUserName { get; set; } = 10;

    /// <summary>Sign-in attempts per client address (an IPv6 client by its /64 network), per window.</summary>
    public int SignInPerClient { get; set; } = 30;

    public TimeSpan SignInWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>API requests per token, per window: 1200 a minute lets a script or an annotator's tool send 20 a second.</summary>
    public int TokenRequests { get; set; } = 1200;

    public TimeSpan TokenWindow { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>The fixed-window counting that the sign-in limits and the per-token limit share.</summary>
public static class FixedWindow
{
    /// <summary>A partition of <paramref name="permits"/> per <paramref name="window"/> for a key; 0 permits: no limit.</summary>
    public static RateLimitPartition<string> Partition(string key, int permits, TimeSpan window) => permits == 0
        ? RateLimitPartition.GetNoLimiter(key)
        : RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = permits,
            Window = window,
            QueueLimit = 0,
            AutoReplenishment = true,
        });

    /// <summary>How long a refused caller waits: the limiter's own figure, else the whole window.</summary>
    public static TimeSpan RetryAfter(RateLimitLease lease, TimeSpan window) =>
        lease.TryGetMetadata(MetadataName.RetryAfter, out var retry) && retry > TimeSpan.Zero ? retry : window;

    /// <summary>Whole seconds, as a Retry-After header gives them (at least 1).</summary>
    public static int Seconds(TimeSpan retry) => Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds));
}

public enum SecureCookieMode
{
    Auto,
    Always,
    SameAsRequest,
}

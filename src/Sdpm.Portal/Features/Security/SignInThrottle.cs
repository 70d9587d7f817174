using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Sdpm.Portal.Features.Security;

/// <summary>An attempt that was not let through: what to tell the person and when to try again.</summary>
public sealed record SignInRefusal(string Message, TimeSpan RetryAfter)
{
    /// <summary>Whole seconds, as the Retry-After header gives them (at least 1).</summary>
    public int RetryAfterSeconds => FixedWindow.Seconds(RetryAfter);
}

/// <summary>
/// Limits password attempts (sign-in, and the current-password check of a password change) per client address and per
/// user name as typed, with the framework's fixed-window rate limiters (System.Threading.RateLimiting, the same ones the
/// API's per-token limit uses through Microsoft.AspNetCore.RateLimiting). It runs inside the sign-in form's handler rather
/// than as middleware because the user name is in the form body, and because a refused attempt should get the sign-in
/// page with its message (and status 429) instead of a bare status. The client's limit is taken first, so a flood from
/// one address cannot create many per-name counters. A refused attempt checks no password and does not count towards
/// the account's lockout.
/// </summary>
public sealed class SignInThrottle : IDisposable
{
    /// <summary>Longer user names are cut here before they become a key (a form field may hold megabytes).</summary>
    public const int MaxKeyLength = 256;

    private readonly PartitionedRateLimiter<string> byClient;
    private readonly PartitionedRateLimiter<string> byUserName;
    private readonly ILogger<SignInThrottle> logger;
    private readonly TimeSpan window;

    public SignInThrottle(IOptions<SecurityOptions> options, ILogger<SignInThrottle> logger)
    {
        var limits = options.Value.RateLimits;
        this.logger = logger;
        window = limits.SignInWindow;
        byClient = Limiter(limits.SignInPerClient, window);
        byUserName = Limiter(limits.SignInPerUserName, window);
    }

    /// <summary>Null when the attempt may go on (and is counted); otherwise the refusal, whose message names
    /// <paramref name="what"/> ("sign-in attempts", "password attempts").</summary>
    public SignInRefusal? TryAttempt(IPAddress? client, string userName, string what = "sign-in attempts")
    {
        var clientKey = ClientKey(client);
        using (var lease = byClient.AttemptAcquire(clientKey))
        {
            if (!lease.IsAcquired)
            {
                var retry = RetryAfter(lease);
                logger.LogWarning("Sign-in attempt refused: too many attempts from {Client} (retry after {Seconds} s)", clientKey, (int)retry.TotalSeconds);
                return new SignInRefusal($"Too many {what} from your network address. Wait {Seconds(retry)} and try again.", retry);
            }
        }
        using (var lease = byUserName.AttemptAcquire(UserNameKey(userName)))
        {
            if (!lease.IsAcquired)
            {
                var retry = RetryAfter(lease);
                // Not the name as typed: people type their password into the name field now and then.
                logger.LogWarning("Sign-in attempt refused: too many attempts for one user name, from {Client}", clientKey);
                return new SignInRefusal($"Too many {what} for this user name. Wait {Seconds(retry)} and try again.", retry);
            }
        }
        return null;
    }

    /// <summary>The client's key: an IPv4 address as it is, an IPv6 address by its /64 network (one subscriber's usual
    /// allocation, which holds more addresses than any limit could count).</summary>
    public static string ClientKey(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    /// <summary>User names compare as Identity compares them (case-insensitive), whether or not the account exists.</summary>
    public static string UserNameKey(string userName)
    {
        var key = userName.Trim().ToUpperInvariant();
        return key.Length > MaxKeyLength ? key[..MaxKeyLength] : key;
    }

    public void Dispose()
    {
        byClient.Dispose();
        byUserName.Dispose();
    }

    private TimeSpan RetryAfter(RateLimitLease lease) => FixedWindow.RetryAfter(lease, window);

    private static string Seconds(TimeSpan retry) => FixedWindow.Seconds(retry) switch
    {
        1 => "1 second",
        var n => $"{n} seconds",
    };

    private static PartitionedRateLimiter<string> Limiter(int permits, TimeSpan window) =>
        PartitionedRateLimiter.Create<string, string>(key => FixedWindow.Partition(key, permits, window));
}

using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Sdpm.Portal.Features.Tokens;

namespace Sdpm.Portal.Features.Security;

/// <summary>
/// The per-token limit on <c>/api</c> requests that carry <c>Authorization: Bearer</c>, as the rate-limiting middleware's
/// global limiter: one fixed window per token (keyed by the token's SHA-256, never the secret), counted before the token
/// is looked up, so that a flood costs no database work. Browsers (the cookie) are not limited here. A refused request
/// gets 429, <c>Retry-After</c> in seconds and a ProblemDetails body whose title says what to do.
/// </summary>
public static class ApiTokenRateLimit
{
    public static void Configure(RateLimiterOptions options, RateLimitOptions limits, ILogger logger)
    {
        var permits = limits.TokenRequests;
        var window = limits.TokenWindow;
        options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
        options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            TokenKey(context.Request) is { } key ? FixedWindow.Partition(key, permits, window) : RateLimitPartition.GetNoLimiter(""));
        options.OnRejected = async (rejected, ct) =>
        {
            var context = rejected.HttpContext;
            var seconds = FixedWindow.Seconds(FixedWindow.RetryAfter(rejected.Lease, window));
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            var bearer = ApiTokenAuthenticationHandler.BearerOf(context.Request) ?? "";
            logger.LogWarning("API token {Prefix}… refused: more than {Permits} requests in {Window}", Prefix(bearer), permits, window);
            await TypedResults.Problem(
                title: $"Too many requests with this API token: at most {permits} per {Describe(window)}. Wait {seconds} s and try again.",
                detail: "Each personal API token has its own limit (Security:RateLimits:TokenRequests). Scripts that need more should wait for Retry-After, or use several tokens.",
                statusCode: StatusCodes.Status429TooManyRequests).ExecuteAsync(context);
        };
    }

    /// <summary>The partition of an API request with a bearer token (its hash), or null for anything else.</summary>
    public static string? TokenKey(HttpRequest request) =>
        request.Path.StartsWithSegments("/api") && ApiTokenAuthenticationHandler.BearerOf(request) is { Length: > 0 } secret
            ? ApiTokenService.HashOf(secret)
            : null;

    // The part of the secret that the owner's token list shows anyway.
    private static string Prefix(string secret) => secret.Length > 12 ? secret[..12] : "(short)";

    private static string Describe(TimeSpan window) =>
        window == TimeSpan.FromMinutes(1) ? "minute"
        : window.TotalSeconds < 120 ? $"{window.TotalSeconds:0.#} seconds"
        : $"{window.TotalMinutes:0.#} minutes";
}

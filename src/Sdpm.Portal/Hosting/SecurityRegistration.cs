using Microsoft.AspNetCore.CookiePolicy;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Sdpm.Portal.Features.Security;

namespace Sdpm.Portal.Hosting;

/// <summary>
/// Rate limits (sign-in, API tokens), security headers, cookie attributes, trusted proxies and owner-only key files
/// (docs/decisions/011-security-headers-and-limits.md).
/// </summary>
public static class SecurityRegistration
{
    public static WebApplicationBuilder AddPortalSecurity(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<SecurityOptions>().BindConfiguration(SecurityOptions.Section);
        var security = builder.Configuration.GetSection(SecurityOptions.Section).Get<SecurityOptions>() ?? new SecurityOptions();
        if (security.Problem() is { } problem)
        {
            throw new InvalidOperationException(problem);
        }

        // No "Server: Kestrel" on responses: nothing says what the portal runs on.
        builder.WebHost.ConfigureKestrel(o => o.AddServerHeader = false);

        services.AddSingleton<SignInThrottle>();
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<SecurityOptions>, ILoggerFactory>((o, s, logs) =>
            ApiTokenRateLimit.Configure(o, s.Value.RateLimits, logs.CreateLogger(typeof(ApiTokenRateLimit).FullName!)));

        // Every cookie the portal sets (sign-in, antiforgery, Identity's external and two-factor ones): HttpOnly, at least
        // SameSite=Lax, and Secure as decided from the environment and the addresses the portal listens on.
        var secure = SecurePolicy(security.SecureCookies, builder.Environment, builder.Configuration);
        services.Configure<CookiePolicyOptions>(o =>
        {
            o.HttpOnly = HttpOnlyPolicy.Always;
            o.MinimumSameSitePolicy = SameSiteMode.Lax;
            o.Secure = secure;
        });

        var proxies = security.TrustedProxyAddresses();
        if (proxies.Count > 0)
        {
            services.Configure<ForwardedHeadersOptions>(o =>
            {
                o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
                o.ForwardLimit = 1;
                o.KnownIPNetworks.Clear();
                o.KnownProxies.Clear();
                foreach (var proxy in proxies)
                {
                    o.KnownProxies.Add(proxy);
                }
            });
        }

        services.AddSingleton<IPostConfigureOptions<KeyManagementOptions>, OwnerOnlyKeyRepository.Setup>();
        return builder;
    }

    /// <summary>First in the pipeline: forwarded headers (trusted proxies only), security headers, HSTS on https outside
    /// Development, the cookie policy and the per-token limit, before anything can answer or set a cookie.</summary>
    public static WebApplication UsePortalSecurity(this WebApplication app)
    {
        var security = app.Services.GetRequiredService<IOptions<SecurityOptions>>().Value;
        if (security.TrustedProxyAddresses().Count > 0)
        {
            app.UseForwardedHeaders();
        }
        app.UseMiddleware<SecurityHeaders>();
        if (!app.Environment.IsDevelopment())
        {
            // Only on https requests (and never for localhost): browsers then refuse plain http to this host.
            app.UseHsts();
        }
        app.UseCookiePolicy();
        app.UseRateLimiter();
        WarnAboutPlainHttp(app, security);
        return app;
    }

    /// <summary>
    /// Auto: SameAsRequest in Development; outside it Always when the portal listens on https (urls, https_ports or a
    /// Kestrel endpoint), else SameAsRequest, so that ./run.sh on http://127.0.0.1 keeps working while a request that
    /// arrived over https (directly, or through a trusted proxy's X-Forwarded-Proto) still gets Secure cookies.
    /// </summary>
    public static CookieSecurePolicy SecurePolicy(SecureCookieMode mode, IHostEnvironment environment, IConfiguration configuration) => mode switch
    {
        SecureCookieMode.Always => CookieSecurePolicy.Always,
        SecureCookieMode.SameAsRequest => CookieSecurePolicy.SameAsRequest,
        _ when environment.IsDevelopment() => CookieSecurePolicy.SameAsRequest,
        _ => ListensOnHttps(configuration) ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest,
    };

    public static bool ListensOnHttps(IConfiguration configuration) =>
        Urls(configuration).Any(u => u.StartsWith("https:", StringComparison.OrdinalIgnoreCase))
        || !string.IsNullOrWhiteSpace(configuration[WebHostDefaults.HttpsPortsKey])
        || configuration.GetSection("Kestrel:Endpoints").GetChildren()
            .Any(e => (e["Url"] ?? "").StartsWith("https:", StringComparison.OrdinalIgnoreCase));

    private static IEnumerable<string> Urls(IConfiguration configuration) =>
        (configuration[WebHostDefaults.ServerUrlsKey] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    // Plain http beyond loopback without a proxy that says https: sign-in cookies then travel unprotected.
    private static void WarnAboutPlainHttp(WebApplication app, SecurityOptions security)
    {
        var policy = SecurePolicy(security.SecureCookies, app.Environment, app.Configuration);
        var exposed = Urls(app.Configuration)
            .Where(u => u.StartsWith("http:", StringComparison.OrdinalIgnoreCase) && !IsLoopback(u))
            .ToList();
        if (policy != CookieSecurePolicy.Always && exposed.Count > 0 && security.TrustedProxyAddresses().Count == 0)
        {
            app.Logger.LogWarning(
                "The portal listens on plain http beyond this machine ({Urls}): passwords and sign-in cookies cross the network unencrypted. " +
                "Serve it over https, or behind a TLS proxy set Security:TrustedProxies (or Security:SecureCookies=Always).",
                string.Join(", ", exposed));
        }
    }

    private static bool IsLoopback(string url)
    {
        var host = url.Split("://", 2) is [_, var rest] ? rest.Split('/')[0] : url;
        host = host.StartsWith('[') ? host[..(host.IndexOf(']') + 1)] : host.Split(':')[0];
        return host is "localhost" or "[::1]" || host.StartsWith("127.", StringComparison.Ordinal);
    }
}

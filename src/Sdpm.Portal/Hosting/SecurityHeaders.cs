namespace Sdpm.Portal.Hosting;

/// <summary>
/// The security headers of every response (pages, API, static files, errors), set when the response starts, so that an
/// exception handler that clears the response cannot drop them. docs/decisions/011 says why each source is allowed.
/// </summary>
public sealed class SecurityHeaders(RequestDelegate next)
{
    /// <summary>
    /// Scripts only from the portal's own files (no inline script, no eval: Blazor, MudBlazor, the viewer modules and
    /// plotly.js drawing its scatter charts need neither; the browser tests prove it); inline styles because MudBlazor and plotly set style attributes and style
    /// elements; images also from data: and blob: URLs (the viewer's canvases, plotly's exports); connections (fetch and
    /// the circuit's WebSocket) to the same origin only; never framed, no plugins, forms post to the portal only.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
        "font-src 'self'; connect-src 'self'; worker-src 'self'; frame-src 'none'; frame-ancestors 'none'; " +
        "base-uri 'self'; form-action 'self'; object-src 'none'";

    /// <summary>Browser features the portal never uses, off for it and anything it could embed.</summary>
    public const string PermissionsPolicy = "camera=(), microphone=(), geolocation=(), payment=(), usb=()";

    public static readonly IReadOnlyDictionary<string, string> Values = new Dictionary<string, string>
    {
        ["Content-Security-Policy"] = ContentSecurityPolicy,
        ["X-Content-Type-Options"] = "nosniff",
        ["X-Frame-Options"] = "DENY",
        ["Referrer-Policy"] = "no-referrer",
        ["Permissions-Policy"] = PermissionsPolicy,
        ["Cross-Origin-Opener-Policy"] = "same-origin",
        ["Cross-Origin-Resource-Policy"] = "same-origin",
    };

    public Task InvokeAsync(HttpContext context)
    {
        context.Response.OnStarting(static state =>
        {
            var headers = ((HttpContext)state).Response.Headers;
            foreach (var (name, value) in Values)
            {
                headers[name] = value;
            }
            return Task.CompletedTask;
        }, context);
        return next(context);
    }
}

using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Sdpm.Portal.Tests.Security;

/// <summary>One method of one routable page or HTTP endpoint of the running app, as its endpoint data sources list it.</summary>
public sealed record PortalEndpoint(string Method, string Route)
{
    /// <summary>Under /api: answers with bare status codes (401, 403), never with a redirect.</summary>
    public bool IsApi => Route.StartsWith("/api/", StringComparison.Ordinal);

    public string Key => $"{Method} {Route}";
}

/// <summary>Reads every endpoint from the app's own endpoint data sources, so that a new page, endpoint or method cannot be missed.</summary>
public static class EndpointInventory
{
    /// <summary>The methods the matrix sends to every route (HEAD and OPTIONS are not part of it).</summary>
    public static readonly string[] Methods = ["GET", "POST", "PUT", "PATCH", "DELETE"];

    /// <summary>Every method of <see cref="Methods"/> that each route maps; an endpoint without method metadata (SignalR,
    /// health checks) answers every method and is listed once per method.</summary>
    public static IReadOnlyList<PortalEndpoint> Read(IServiceProvider services)
    {
        var result = new List<PortalEndpoint>();
        foreach (var endpoint in services.GetServices<EndpointDataSource>().SelectMany(s => s.Endpoints).OfType<RouteEndpoint>())
        {
            if (IsStaticAsset(endpoint))
            {
                continue; // files of wwwroot and packages: public by design, checked in StartupTests
            }
            var route = "/" + (endpoint.RoutePattern.RawText ?? "").TrimStart('/');
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? Methods;
            result.AddRange(methods.Where(m => Methods.Contains(m)).Select(m => new PortalEndpoint(m, route)));
        }
        return result.DistinctBy(e => e.Key).OrderBy(e => e.Route, StringComparer.Ordinal).ThenBy(e => Array.IndexOf(Methods, e.Method)).ToList();
    }

    /// <summary>For each route, the methods of <see cref="Methods"/> that none of its endpoints maps.</summary>
    public static IReadOnlyList<PortalEndpoint> Unmapped(IReadOnlyList<PortalEndpoint> mapped) =>
        mapped.GroupBy(e => e.Route)
            .SelectMany(route => Methods.Except(route.Select(e => e.Method)).Select(m => new PortalEndpoint(m, route.Key)))
            .ToList();

    private static bool IsStaticAsset(RouteEndpoint endpoint) =>
        endpoint.Metadata.Any(m => m.GetType().FullName?.StartsWith("Microsoft.AspNetCore.StaticAssets", StringComparison.Ordinal) == true);
}

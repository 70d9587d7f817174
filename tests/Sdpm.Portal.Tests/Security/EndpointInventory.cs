using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components.Endpoints;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Sdpm.Portal.Tests.Security;

/// <summary>One routable page or HTTP endpoint of the running app, as its endpoint data source lists it.</summary>
public sealed record PortalEndpoint(string Method, string Route, bool IsPage, string DisplayName);

/// <summary>Reads every endpoint from the app's own endpoint data sources, so that a new page or endpoint cannot be missed.</summary>
public static class EndpointInventory
{
    public static IReadOnlyList<PortalEndpoint> Read(IServiceProvider services)
    {
        var sources = services.GetServices<EndpointDataSource>();
        var result = new List<PortalEndpoint>();
        foreach (var endpoint in sources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>())
        {
            if (IsStaticAsset(endpoint))
            {
                continue; // files of wwwroot and packages: public by design, checked in StartupTests
            }
            var route = "/" + (endpoint.RoutePattern.RawText ?? "").TrimStart('/');
            var isPage = endpoint.Metadata.GetMetadata<ComponentTypeMetadata>() is not null;
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"];
            // A page answers GET (render) and POST (its form); GET decides who may open it.
            var method = methods.Contains("GET") ? "GET" : methods[0];
            result.Add(new PortalEndpoint(method, route, isPage, endpoint.DisplayName ?? route));
        }
        return result.DistinctBy(e => (e.Method, e.Route)).OrderBy(e => e.Route).ThenBy(e => e.Method).ToList();
    }

    private static bool IsStaticAsset(RouteEndpoint endpoint) =>
        endpoint.Metadata.Any(m => m.GetType().FullName?.StartsWith("Microsoft.AspNetCore.StaticAssets", StringComparison.Ordinal) == true);
}

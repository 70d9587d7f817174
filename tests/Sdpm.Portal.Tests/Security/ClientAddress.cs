using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Sdpm.Portal.Tests.Infrastructure;

namespace Sdpm.Portal.Tests.Security;

/// <summary>
/// The in-memory test server has no client address; this start-up filter, ahead of the portal's own pipeline, takes it
/// from a test-only header, so that tests can send requests "from" several addresses.
/// </summary>
public sealed class ClientAddress : IStartupFilter
{
    public const string Header = "X-Test-Client-Address";

    public static void Register(IServiceCollection services) => services.AddSingleton<IStartupFilter, ClientAddress>();

    /// <summary>A portal whose requests come from the address in <see cref="Header"/>, with these settings.</summary>
    public static PortalFactory Portal(Dictionary<string, string?> settings) => new(settings) { TestServices = Register };

    /// <summary>Sends every later request of the session from <paramref name="address"/>.</summary>
    public static PortalSession From(PortalSession session, string address)
    {
        session.Client.DefaultRequestHeaders.Remove(Header);
        session.Client.DefaultRequestHeaders.Add(Header, address);
        return session;
    }

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((context, following) =>
        {
            if (context.Request.Headers.TryGetValue(Header, out var value) && IPAddress.TryParse(value.ToString(), out var address))
            {
                context.Connection.RemoteIpAddress = address;
            }
            return following(context);
        });
        next(app);
    };
}

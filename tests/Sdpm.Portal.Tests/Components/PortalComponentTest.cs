using System.Security.Claims;
using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;
using Sdpm.Data.Entities;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Security;
using Sdpm.Portal.Features.Cohorts;
using Sdpm.Portal.Features.Cohorts.Import;
using Sdpm.Portal.Features.Tokens;
using Sdpm.Storage;
using Sdpm.Portal.Features.Sites;
using Sdpm.Portal.Features.Users;
using Sdpm.Portal.Tests.Infrastructure;

namespace Sdpm.Portal.Tests.Components;

/// <summary>A bUnit context with MudBlazor and the portal's real services over a seeded SQLite file.</summary>
public abstract class PortalComponentTest : IAsyncLifetime
{
    protected PortalComponentTest()
    {
        Portal = new PortalFactory();
        Context = new BunitContext();
        Context.JSInterop.Mode = JSRuntimeMode.Loose;
        Context.Services.AddMudServices();
        Context.Services.AddSingleton(Portal.Service<SiteService>());
        Context.Services.AddSingleton(Portal.Service<UserAdminService>());
        Context.Services.AddSingleton(Portal.Service<AuditQueries>());
        Context.Services.AddSingleton(Portal.Service<CohortService>());
        Context.Services.AddSingleton(Portal.Service<CaseService>());
        Context.Services.AddSingleton(Portal.Service<ImportHistoryQueries>());
        Context.Services.AddSingleton(Portal.Service<ApiTokenService>());
        Context.Services.AddSingleton(Portal.Service<Sdpm.Portal.Features.Annotations.AnnotationService>());
        Context.Services.AddSingleton(Portal.Service<Sdpm.Portal.Features.Annotations.AgreementService>());
        Context.Services.AddSingleton(Portal.Service<Sdpm.Portal.Features.Splits.SplitService>());
        Context.Services.AddSingleton(Portal.Service<Sdpm.Portal.Features.Jobs.JobService>());
        Context.Services.AddSingleton(Portal.Service<IBlobStore>());
        Context.Services.AddSingleton(Portal.Service<TimeProvider>());
        Context.Services.AddSingleton(Portal.Service<Microsoft.EntityFrameworkCore.IDbContextFactory<Sdpm.Data.PortalDbContext>>());
        Context.Services.AddSingleton(Portal.Service<Microsoft.Extensions.Options.IOptions<UploadOptions>>());
    }

    protected PortalFactory Portal { get; }

    protected BunitContext Context { get; }

    protected IRenderedComponent<T> Render<T>(Action<ComponentParameterCollectionBuilder<T>>? parameters = null) where T : Microsoft.AspNetCore.Components.IComponent =>
        parameters is null ? Context.Render<T>() : Context.Render<T>(parameters);

    /// <summary>Signs the rendered components in as a seeded user (granted their roles' policies and <paramref name="policies"/>).</summary>
    protected async Task SignInAsAsync(string userName, params string[] policies)
    {
        var user = (await Portal.Service<UserAdminService>().ListAsync()).Single(u => u.UserName == userName);
        var auth = Context.AddAuthorization();
        auth.SetAuthorized(userName);
        auth.SetRoles([.. user.Roles]);
        auth.SetPolicies([.. user.Roles, .. policies]);
        auth.SetClaims(new Claim(ClaimTypes.NameIdentifier, user.Id), new Claim(Features.Security.PortalClaims.DisplayName, user.DisplayName));
    }

    /// <summary>Signs in as a seeded user who is a member of the site of every resource rendered: bUnit's authorization
    /// grants policies by name, not by resource, so the site policies the user's role earns at their site are granted.</summary>
    protected async Task SignInAsSiteMemberAsync(string userName)
    {
        var roles = (await Portal.Service<UserAdminService>().ListAsync()).Single(u => u.UserName == userName).Roles;
        List<string> policies = [Policies.SiteMember];
        if (roles.Contains(Roles.Coordinator)) policies.AddRange([Policies.SiteCoordinator, Policies.SiteReviewer]);
        if (roles.Contains(Roles.Investigator)) policies.Add(Policies.SiteReviewer);
        if (roles.Contains(Roles.Annotator)) policies.Add(Policies.SiteAnnotator);
        await SignInAsAsync(userName, [.. policies]);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    // MudBlazor's services only dispose asynchronously.
    public async Task DisposeAsync()
    {
        await Context.DisposeAsync();
        Portal.Dispose();
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sdpm.Data.Entities;
using Sdpm.Portal.Data;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Tokens;

namespace Sdpm.Portal.Tests.Cohorts;

/// <summary>Personal API tokens: shown once, stored hashed, acting as their owner, revocable, audited.</summary>
public class TokenTests(CohortPortal portal) : IClassFixture<CohortPortal>
{
    private async Task<PortalUser> UserAsync(string name) => await portal.DbAsync(db => db.Users.SingleAsync(u => u.UserName == name));

    private HttpClient Bearer(string secret)
    {
        var client = portal.CreateClient(new() { AllowAutoRedirect = false, HandleCookies = false });
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        return client;
    }

    [Fact]
    public async Task ANewTokenActsAsItsOwnerAndOnlyItsHashIsStored()
    {
        var user = await UserAsync("investigator");
        var tokens = portal.Service<ApiTokenService>();

        var created = await tokens.CreateAsync(user.Id, "analysis notebook", 30, new Actor(user.Id, "investigator"));

        Assert.True(created.Succeeded);
        var secret = created.Value!.Secret;
        Assert.StartsWith("sdpm_", secret);
        var row = await portal.DbAsync(db => db.ApiTokens.SingleAsync(t => t.Id == created.Value.Token.Id));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret))), row.Hash);
        Assert.DoesNotContain(secret, JsonSerializer.Serialize(row));
        using var client = Bearer(secret);
        var me = await client.GetFromJsonAsync<JsonElement>("/api/me");
        Assert.Equal("investigator", me.GetProperty("userName").GetString());
        var listed = await client.GetStringAsync("/api/tokens");
        Assert.Contains("analysis notebook", listed);
        Assert.DoesNotContain(secret, listed);
        Assert.Equal(1, await portal.DbAsync(db => db.AuditEvents.CountAsync(e => e.Action == AuditActions.TokenCreated && e.UserName == "investigator")));
    }

    [Fact]
    public async Task ARevokedTokenIsRefusedAtOnceAndTheRevocationIsAudited()
    {
        var user = await UserAsync("annotator");
        var created = (await portal.Service<ApiTokenService>().CreateAsync(user.Id, "to revoke", null, new Actor(user.Id, "annotator"))).Value!;
        using var client = Bearer(created.Secret);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/sites")).StatusCode);

        var revoke = await client.DeleteAsync($"/api/tokens/{created.Token.Id}");

        Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        var after = await client.GetAsync("/api/sites");
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Equal("Bearer", after.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(1, await portal.DbAsync(db => db.AuditEvents.CountAsync(e => e.Action == AuditActions.TokenRevoked && e.EntityId == created.Token.Id.ToString())));
    }

    [Fact]
    public async Task ALockedOwnersTokenIsRefused()
    {
        var tokens = portal.Service<ApiTokenService>();
        var user = await UserAsync("coordinator");
        var secret = (await tokens.CreateAsync(user.Id, "locked soon", null, new Actor(user.Id, "coordinator"))).Value!.Secret;
        await using (var scope = portal.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
            var u = await users.FindByIdAsync(user.Id);
            await users.SetLockoutEndDateAsync(u!, DateTimeOffset.UtcNow.AddHours(1));
        }
        try
        {
            using var client = Bearer(secret);
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/sites")).StatusCode);
        }
        finally
        {
            await using var scope = portal.Services.CreateAsyncScope();
            var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
            await users.SetLockoutEndDateAsync((await users.FindByIdAsync(user.Id))!, null);
        }
    }

    [Theory]
    [InlineData("", 30, "Give the token a name")]
    [InlineData("ok", 0, "1 to 3650 days")]
    public async Task ABadTokenRequestIsRefusedWithAMessage(string name, int days, string message)
    {
        var user = await UserAsync("admin");
        var result = await portal.Service<ApiTokenService>().CreateAsync(user.Id, name, days, new Actor(user.Id, "admin"));
        Assert.False(result.Succeeded);
        Assert.Contains(message, result.Error);
    }

    [Fact]
    public async Task TheDemoTokensFileIsOwnerOnlyAndHoldsAWorkingTokenPerDemoUser()
    {
        var file = Path.Combine(portal.DataFolder, DatabaseInitializer.TokensFileName);
        var tokens = portal.Tokens;

        Assert.Equal(["admin", "annotator", "coordinator", "investigator"], tokens.Keys.Order());
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }
        foreach (var (user, secret) in tokens)
        {
            using var client = Bearer(secret);
            Assert.Equal(user, (await client.GetFromJsonAsync<JsonElement>("/api/me")).GetProperty("userName").GetString());
        }
    }

    [Fact]
    public async Task ATokenDoesNotSignInToPages()
    {
        using var client = Bearer(portal.Tokens["coordinator"]);
        var page = await client.GetAsync("/cohorts");
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.Contains("/Account/Login", page.Headers.Location!.OriginalString);
    }
}

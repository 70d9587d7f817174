using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Security;

namespace Sdpm.Portal.Features.Users;

/// <summary>A user as listed on the admin page.</summary>
public sealed record UserRow(
    string Id, string UserName, string Email, string DisplayName,
    IReadOnlyList<string> Roles, IReadOnlyList<SiteRef> Sites,
    bool IsLocked, DateTimeOffset? LockoutEnd, bool MustChangePassword, bool IsApproved, DateTimeOffset CreatedAt,
    string? Version);

/// <summary>A site named in a user's memberships.</summary>
public sealed record SiteRef(int Id, string Name, bool IsActive);

/// <summary>What an admin fills in to create an account.</summary>
public sealed record NewUser(string UserName, string Email, string DisplayName, IReadOnlyCollection<string> Roles, IReadOnlyCollection<int> SiteIds);

/// <summary>
/// Account administration: create with a one-time password, roles, sites, lock/unlock, password reset and approval.
/// Each operation runs in its own scope and transaction, with its audit event.
/// </summary>
public sealed class UserAdminService(IServiceScopeFactory scopes, AuditLog audit, TimeProvider time)
{
    /// <summary>Lockouts this far out are an admin's lock, not the temporary lock after failed sign-ins.</summary>
    public static readonly DateTimeOffset AdminLockEnd = new(9999, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static bool IsAdminLock(DateTimeOffset? lockoutEnd) => lockoutEnd is { } end && end.Year >= 9999;

    public async Task<IReadOnlyList<UserRow>> ListAsync(CancellationToken ct = default)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
        var now = time.GetUtcNow();
        var users = await db.Users.AsNoTracking().ToListAsync(ct);
        var roles = await (from ur in db.UserRoles join r in db.Roles on ur.RoleId equals r.Id select new { ur.UserId, r.Name }).ToListAsync(ct);
        var sites = await db.UserSites.AsNoTracking().Select(m => new { m.UserId, m.SiteId, m.Site!.Name, m.Site.IsActive }).ToListAsync(ct);
        return users
            .Select(u => new UserRow(
                u.Id, u.UserName ?? "", u.Email ?? "", u.DisplayName,
                roles.Where(r => r.UserId == u.Id).Select(r => r.Name!).Order().ToList(),
                sites.Where(s => s.UserId == u.Id).Select(s => new SiteRef(s.SiteId, s.Name, s.IsActive)).OrderBy(s => s.Name).ToList(),
                u.LockoutEnd is { } end && end > now, u.LockoutEnd, u.MustChangePassword, u.IsApproved, u.CreatedAt,
                u.ConcurrencyStamp))
            .OrderBy(u => u.IsApproved).ThenBy(u => u.UserName, StringComparer.OrdinalIgnoreCase)
            .ToList();
    }

    /// <summary>Creates the account and returns its one-time password, which is shown once and never stored in clear.</summary>
    public async Task<OperationResult<string>> CreateAsync(NewUser request, Actor actor, CancellationToken ct = default)
    {
        var userName = request.UserName?.Trim() ?? "";
        var email = request.Email?.Trim() ?? "";
        if (userName.Length is < 3 or > 64)
        {
            return OperationResult<string>.Fail("A user name has 3 to 64 characters.");
        }
        if (!new EmailAddressAttribute().IsValid(email))
        {
            return OperationResult<string>.Fail("Enter a valid e-mail address.");
        }
        if (CheckRoles(request.Roles) is { } roleError)
        {
            return OperationResult<string>.Fail(roleError);
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        if (await CheckSitesAsync(db, request.SiteIds, ct) is { } siteError)
        {
            return OperationResult<string>.Fail(siteError);
        }

        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var password = PasswordGenerator.Generate();
        var user = new PortalUser
        {
            UserName = userName,
            Email = email,
            EmailConfirmed = true,
            DisplayName = string.IsNullOrWhiteSpace(request.DisplayName) ? userName : request.DisplayName.Trim(),
            MustChangePassword = true,
            CreatedAt = time.GetUtcNow(),
        };
        var created = await users.CreateAsync(user, password);
        if (!created.Succeeded)
        {
            return OperationResult<string>.Fail(Describe(created));
        }
        var roles = await users.AddToRolesAsync(user, request.Roles.Distinct());
        if (!roles.Succeeded)
        {
            return OperationResult<string>.Fail(Describe(roles));
        }
        AddMemberships(db, user.Id, request.SiteIds);
        audit.Record(db, actor, AuditActions.UserCreated, "User", user.Id,
            $"{userName}; roles: {string.Join(", ", request.Roles)}; sites: {string.Join(", ", request.SiteIds)}");
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return OperationResult<string>.Ok(password);
    }

    /// <summary>
    /// Replaces the user's roles and site memberships (and approves a pending sign-up). With <paramref name="expectedVersion"/>
    /// (the <see cref="UserRow.Version"/> the admin was looking at) a change made by someone else in between is refused, not overwritten.
    /// </summary>
    public async Task<OperationResult> UpdateAccessAsync(string userId, IReadOnlyCollection<string> newRoles, IReadOnlyCollection<int> siteIds, Actor actor,
        string? expectedVersion = null, CancellationToken ct = default)
    {
        if (CheckRoles(newRoles) is { } roleError)
        {
            return OperationResult.Fail(roleError);
        }
        return await ChangeAsync(userId, actor, ct, async (users, db, user) =>
        {
            if (expectedVersion is not null && expectedVersion != user.ConcurrencyStamp)
            {
                return OperationResult.Fail($"{user.UserName} was changed by someone else since you opened this dialog. Close it, check the list, and try again.");
            }
            var oldSites = await db.UserSites.Where(m => m.UserId == userId).ToListAsync(ct);
            var oldSiteIds = oldSites.Select(m => m.SiteId).ToHashSet();
            var wanted = siteIds.ToHashSet();
            // Existing memberships of a deactivated site may stay; only new ones must name active sites.
            if (await CheckSitesAsync(db, wanted.Except(oldSiteIds).ToList(), ct) is { } siteError)
            {
                return OperationResult.Fail(siteError);
            }
            var current = await users.GetRolesAsync(user);
            if (current.Contains(Roles.Admin) && !newRoles.Contains(Roles.Admin) && await CheckAdminRemovalAsync(users, user, actor) is { } adminError)
            {
                return OperationResult.Fail(adminError);
            }

            var removed = current.Except(newRoles).ToList();
            var added = newRoles.Except(current).Distinct().ToList();
            if (removed.Count > 0 && await users.RemoveFromRolesAsync(user, removed) is { Succeeded: false } r1)
            {
                return OperationResult.Fail(Describe(r1));
            }
            if (added.Count > 0 && await users.AddToRolesAsync(user, added) is { Succeeded: false } r2)
            {
                return OperationResult.Fail(Describe(r2));
            }
            if (removed.Count > 0 || added.Count > 0)
            {
                audit.Record(db, actor, AuditActions.UserRolesChanged, "User", user.Id, $"{user.UserName}: {string.Join(", ", newRoles.Order())}");
            }
            if (!oldSiteIds.SetEquals(wanted))
            {
                db.UserSites.RemoveRange(oldSites.Where(m => !wanted.Contains(m.SiteId)));
                AddMemberships(db, userId, wanted.Except(oldSiteIds).ToList());
                audit.Record(db, actor, AuditActions.UserSitesChanged, "User", user.Id, $"{user.UserName}: sites {string.Join(", ", wanted.Order())}");
            }
            if (!user.IsApproved)
            {
                user.IsApproved = true;
                audit.Record(db, actor, AuditActions.UserApproved, "User", user.Id, user.UserName);
            }
            // Roles live in the cookie: make other sessions of this user sign in again to pick them up.
            await users.UpdateSecurityStampAsync(user);
            return OperationResult.Ok;
        });
    }

    private async Task<string?> CheckAdminRemovalAsync(UserManager<PortalUser> users, PortalUser user, Actor actor)
    {
        if (user.Id == actor.UserId)
        {
            return "You cannot remove your own Admin role; ask another admin.";
        }
        var activeAdmins = (await users.GetUsersInRoleAsync(Roles.Admin)).Count(u => u.LockoutEnd is null || u.LockoutEnd <= time.GetUtcNow());
        return activeAdmins <= 1 ? "This is the last active admin; make someone else Admin first." : null;
    }

    public Task<OperationResult> LockAsync(string userId, Actor actor, CancellationToken ct = default) =>
        ChangeAsync(userId, actor, ct, async (users, db, user) =>
        {
            if (user.Id == actor.UserId)
            {
                return OperationResult.Fail("You cannot lock your own account.");
            }
            await users.SetLockoutEnabledAsync(user, true);
            await users.SetLockoutEndDateAsync(user, AdminLockEnd);
            await users.UpdateSecurityStampAsync(user);
            audit.Record(db, actor, AuditActions.UserLocked, "User", user.Id, user.UserName);
            return OperationResult.Ok;
        });

    public Task<OperationResult> UnlockAsync(string userId, Actor actor, CancellationToken ct = default) =>
        ChangeAsync(userId, actor, ct, async (users, db, user) =>
        {
            await users.SetLockoutEndDateAsync(user, null);
            await users.ResetAccessFailedCountAsync(user);
            audit.Record(db, actor, AuditActions.UserUnlocked, "User", user.Id, user.UserName);
            return OperationResult.Ok;
        });

    /// <summary>Replaces the password by a new one-time password that must be changed at next sign-in.</summary>
    public async Task<OperationResult<string>> ResetPasswordAsync(string userId, Actor actor, CancellationToken ct = default)
    {
        var password = PasswordGenerator.Generate();
        var result = await ChangeAsync(userId, actor, ct, async (users, db, user) =>
        {
            var token = await users.GeneratePasswordResetTokenAsync(user);
            var reset = await users.ResetPasswordAsync(user, token, password);
            if (!reset.Succeeded)
            {
                return OperationResult.Fail(Describe(reset));
            }
            user.MustChangePassword = true;
            await users.UpdateAsync(user);
            audit.Record(db, actor, AuditActions.UserPasswordReset, "User", user.Id, user.UserName);
            return OperationResult.Ok;
        });
        return result.Succeeded ? OperationResult<string>.Ok(password) : OperationResult<string>.Fail(result.Error!);
    }

    private async Task<OperationResult> ChangeAsync(string userId, Actor actor, CancellationToken ct,
        Func<UserManager<PortalUser>, PortalDbContext, PortalUser, Task<OperationResult>> change)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        // The transaction comes first (a write lock on SQLite), so what the change reads is what it overwrites.
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var user = await users.FindByIdAsync(userId);
        if (user is null)
        {
            return OperationResult.Fail("That user no longer exists; reload the page.");
        }
        var result = await change(users, db, user);
        if (result.Succeeded)
        {
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        return result;
    }

    private void AddMemberships(PortalDbContext db, string userId, IEnumerable<int> siteIds) =>
        db.UserSites.AddRange(siteIds.Distinct().Select(id => new UserSite { UserId = userId, SiteId = id, AddedAt = time.GetUtcNow() }));

    private static string? CheckRoles(IReadOnlyCollection<string> roles)
    {
        if (roles.Count == 0)
        {
            return "Choose at least one role.";
        }
        var unknown = roles.Except(Roles.All).ToList();
        return unknown.Count > 0 ? $"Unknown role: {string.Join(", ", unknown)}." : null;
    }

    private static async Task<string?> CheckSitesAsync(PortalDbContext db, IReadOnlyCollection<int> siteIds, CancellationToken ct)
    {
        var ids = siteIds.Distinct().ToList();
        var found = await db.Sites.Where(s => ids.Contains(s.Id)).Select(s => new { s.Id, s.Name, s.IsActive }).ToListAsync(ct);
        if (found.Count != ids.Count)
        {
            return "One of the chosen sites no longer exists; reload the page.";
        }
        var inactive = found.Where(s => !s.IsActive).Select(s => s.Name).ToList();
        return inactive.Count > 0 ? $"Site {string.Join(", ", inactive)} is deactivated; reactivate it before adding members." : null;
    }

    private static string Describe(IdentityResult result) => string.Join(" ", result.Errors.Select(e => e.Description));
}

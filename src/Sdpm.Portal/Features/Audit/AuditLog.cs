using System.Security.Claims;
using Sdpm.Data;
using Sdpm.Data.Entities;

namespace Sdpm.Portal.Features.Audit;

/// <summary>The person (or the system) behind a state-changing action.</summary>
public sealed record Actor(string? UserId, string UserName)
{
    public static readonly Actor System = new(null, "system");

    public static Actor From(ClaimsPrincipal principal) => new(
        principal.FindFirstValue(ClaimTypes.NameIdentifier),
        principal.Identity?.Name ?? "anonymous");
}

/// <summary>Action names written to the audit trail; stable strings because admins filter on them.</summary>
public static class AuditActions
{
    public const string SiteCreated = "site.created";
    public const string SiteRenamed = "site.renamed";
    public const string SiteDeactivated = "site.deactivated";
    public const string SiteReactivated = "site.reactivated";
    public const string UserCreated = "user.created";
    public const string UserSignedUp = "user.signed-up";
    public const string UserApproved = "user.approved";
    public const string UserRolesChanged = "user.roles-changed";
    public const string UserSitesChanged = "user.sites-changed";
    public const string UserLocked = "user.locked";
    public const string UserUnlocked = "user.unlocked";
    public const string UserPasswordReset = "user.password-reset";
    public const string PasswordChanged = "account.password-changed";
    public const string LoginSucceeded = "account.login";
    public const string LoginFailed = "account.login-failed";
    public const string LockedOut = "account.locked-out";
    public const string LoggedOut = "account.logout";
    public const string TokenCreated = "token.created";
    public const string TokenRevoked = "token.revoked";
    public const string CohortCreated = "cohort.created";
    public const string CohortUpdated = "cohort.updated";
    public const string CasesImported = "cases.imported";
    public const string DeidentificationAccepted = "cases.deidentification-accepted";
    public const string CohortExported = "cohort.exported";
    public const string CaseDeleted = "case.deleted";
    public const string CaseUpdated = "case.updated";
    public const string CaseAssigned = "case.assigned";
    public const string AnnotationPrepared = "annotation.prepared";
    public const string AnnotationSubmitted = "annotation.submitted";
    public const string AnnotationAccepted = "annotation.accepted";
    public const string AnnotationRejected = "annotation.rejected";
    public const string SplitCreated = "split.created";
    public const string SplitUpdated = "split.updated";
    public const string SplitCopied = "split.copied";
    public const string SplitImported = "split.imported";
    public const string SplitDeleted = "split.deleted";
    public const string SplitFrozen = "split.frozen";
}

/// <summary>
/// Adds audit events to a context so that they are saved in the same transaction as the change they describe.
/// </summary>
public sealed class AuditLog(TimeProvider time)
{
    public void Record(PortalDbContext db, Actor actor, string action, string entityType, string? entityId, string? details = null) =>
        db.AuditEvents.Add(new AuditEvent
        {
            At = time.GetUtcNow(),
            UserId = actor.UserId,
            UserName = actor.UserName,
            Action = action,
            EntityType = entityType,
            EntityId = entityId,
            Details = Truncate(details),
        });

    internal static AuditEvent SystemEvent(DateTimeOffset at, string action, string entityType, string? entityId, string? details) => new()
    {
        At = at,
        UserName = Actor.System.UserName,
        Action = action,
        EntityType = entityType,
        EntityId = entityId,
        Details = details,
    };

    private static string? Truncate(string? s) => s is { Length: > 2000 } ? s[..2000] : s;
}

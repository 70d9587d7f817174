namespace Sdpm.Data.Entities;

/// <summary>One state-changing action: who did what to which entity, and when.</summary>
public class AuditEvent
{
    public long Id { get; set; }
    public DateTimeOffset At { get; set; }

    /// <summary>Null for actions without a signed-in user (failed logins, start-up seeding).</summary>
    public string? UserId { get; set; }
    public string UserName { get; set; } = "";
    public string Action { get; set; } = "";
    public string EntityType { get; set; } = "";
    public string? EntityId { get; set; }
    public string? Details { get; set; }
}

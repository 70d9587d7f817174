namespace Sdpm.Data.Entities;

/// <summary>Membership of a user in a site.</summary>
public class UserSite
{
    public string UserId { get; set; } = "";
    public PortalUser? User { get; set; }
    public int SiteId { get; set; }
    public Site? Site { get; set; }
    public DateTimeOffset AddedAt { get; set; }
}

using Microsoft.AspNetCore.Identity;

namespace Sdpm.Data.Entities;

/// <summary>A person who signs in to the portal.</summary>
public class PortalUser : IdentityUser
{
    public string DisplayName { get; set; } = "";

    /// <summary>Set when an admin issues a one-time password; cleared when the user picks their own.</summary>
    public bool MustChangePassword { get; set; }

    /// <summary>False for self-registered accounts until an admin approves them.</summary>
    public bool IsApproved { get; set; } = true;

    public DateTimeOffset CreatedAt { get; set; }

    public List<UserSite> Sites { get; set; } = [];
}

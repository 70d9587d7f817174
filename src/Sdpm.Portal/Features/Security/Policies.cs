using Sdpm.Data.Entities;

namespace Sdpm.Portal.Features.Security;

/// <summary>Authorization policy names used by pages and endpoints.</summary>
public static class Policies
{
    public const string Admin = Roles.Admin;
    public const string Coordinator = Roles.Coordinator;
    public const string Annotator = Roles.Annotator;
    public const string Investigator = Roles.Investigator;

    /// <summary>Member of the active site that owns the route's resource (<c>siteId</c>, <c>cohortId</c> or <c>caseId</c>).</summary>
    public const string SiteMember = "SiteMember";

    /// <summary>A coordinator who is a member of the active site that owns the route's resource.</summary>
    public const string SiteCoordinator = "SiteCoordinator";

    /// <summary>An annotator who is a member of the active site that owns the route's resource.</summary>
    public const string SiteAnnotator = "SiteAnnotator";

    /// <summary>A coordinator or investigator of the active site that owns the route's resource: they review annotations.</summary>
    public const string SiteReviewer = "SiteReviewer";

    /// <summary>A coordinator or investigator of the active site that owns the route's resource: they may take a whole cohort
    /// out of the portal (export.zip). Kept apart from <see cref="SiteReviewer"/> although the roles are the same today, so
    /// that who reviews and who exports can change independently.</summary>
    public const string SiteExporter = "SiteExporter";
    /// <summary>An investigator who is a member of the active site that owns the route's resource (<c>caseId</c>).</summary>
    public const string SiteInvestigator = "SiteInvestigator";

    /// <summary>An investigator who is an active member of every site a dataset split covers (route value <c>splitId</c>:
    /// the sites of its cohorts), or of the site given as the resource.</summary>
    public const string SplitInvestigator = "SplitInvestigator";

    /// <summary>An investigator who is an active member of every site a job or model version covers (route values
    /// <c>jobId</c>, <c>modelId</c>: the sites of the split it was trained on), or of the site given as the resource.</summary>
    public const string JobInvestigator = "JobInvestigator";
}

/// <summary>Claim types the portal adds to the sign-in cookie.</summary>
public static class PortalClaims
{
    public const string DisplayName = "sdpm:display_name";
    public const string MustChangePassword = "sdpm:must_change_password";
}

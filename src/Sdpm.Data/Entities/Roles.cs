namespace Sdpm.Data.Entities;

/// <summary>The portal's roles; names are stored in the Identity role table.</summary>
public static class Roles
{
    public const string Admin = "Admin";
    public const string Coordinator = "Coordinator";
    public const string Annotator = "Annotator";
    public const string Investigator = "Investigator";

    public static readonly IReadOnlyList<string> All = [Admin, Coordinator, Annotator, Investigator];
}

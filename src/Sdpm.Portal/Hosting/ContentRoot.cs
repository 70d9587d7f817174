namespace Sdpm.Portal.Hosting;

/// <summary>
/// The repository root is the portal's content root (appsettings.json and wwwroot live there),
/// whether it is started with `dotnet run`, from its bin folder or by a test host.
/// </summary>
public static class ContentRoot
{
    public const string Marker = "Sdpm.Portal.sln";

    /// <summary>Null when the caller gave a content root explicitly, so the host's own rules apply.</summary>
    public static string? Resolve(string[] args)
    {
        if (args.Any(a => a.StartsWith("--contentRoot", StringComparison.OrdinalIgnoreCase))
            || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ASPNETCORE_CONTENTROOT")))
        {
            return null;
        }
        return FindUpwards(Directory.GetCurrentDirectory()) ?? FindUpwards(AppContext.BaseDirectory);
    }

    public static string? FindUpwards(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, Marker)) && File.Exists(Path.Combine(dir.FullName, "appsettings.json")))
            {
                return dir.FullName;
            }
        }
        return null;
    }
}

namespace Sdpm.Portal.Features.Account;

/// <summary>Keeps post-sign-in redirects on this site (no open redirects to other hosts).</summary>
public static class ReturnUrl
{
    public static string LocalOrHome(string? url) =>
        !string.IsNullOrEmpty(url) && url.StartsWith('/') && !url.StartsWith("//") && !url.StartsWith("/\\") ? url : "/";
}

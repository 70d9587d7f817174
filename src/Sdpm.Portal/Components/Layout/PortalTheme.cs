using MudBlazor;

namespace Sdpm.Portal.Components.Layout;

/// <summary>The portal's colours: calm clinical blues, a dark palette for reading rooms.</summary>
public static class PortalTheme
{
    public static readonly MudTheme Theme = new()
    {
        PaletteLight = new PaletteLight
        {
            Primary = "#1f5f8b",
            Secondary = "#2a9d8f",
            AppbarBackground = "#17425f",
        },
        PaletteDark = new PaletteDark
        {
            Primary = "#6cb4e4",
            Secondary = "#4fd1c5",
            AppbarBackground = "#0f1c26",
        },
        Typography = new Typography
        {
            Default = new DefaultTypography { FontFamily = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"] },
        },
    };
}

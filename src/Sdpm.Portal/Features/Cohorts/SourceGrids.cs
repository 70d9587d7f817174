using System.Text.Json;
using Sdpm.Imaging;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Portal.Features.Cohorts;

/// <summary>The grid of a case's uploaded file, kept on the case row (<see cref="Data.Entities.Case.SourceGrid"/>) so that
/// downloads and exports write the image and its masks back in the file's own voxel order and geometry. The stored volume
/// is in the canonical orientation (docs/decisions/001-canonical-orientation.md), which differs from the source only by
/// axis permutations and flips.</summary>
public static class SourceGrids
{
    private sealed record Stored(int[] Dims, double[] Affine);

    /// <summary>The column's text: <c>{"dims":[x,y,z],"affine":[12 values, top three rows, row-major]}</c>.</summary>
    public static string Format(VolumeGeometry grid)
    {
        var affine = new double[12];
        for (var i = 0; i < 12; i++) affine[i] = grid.Affine[i / 4, i % 4];
        return JsonSerializer.Serialize(new Stored([grid.Dims.X, grid.Dims.Y, grid.Dims.Z], affine), JsonSerializerOptions.Web);
    }

    /// <summary>The grid, or null for a case imported before the source grid was kept.</summary>
    /// <exception cref="ImagingException">The text is not a grid this class wrote.</exception>
    public static VolumeGeometry? Parse(string? text)
    {
        if (text is null) return null;
        Stored? stored;
        try
        {
            stored = JsonSerializer.Deserialize<Stored>(text, JsonSerializerOptions.Web);
        }
        catch (JsonException)
        {
            stored = null;
        }
        if (stored is not { Dims: [> 0, > 0, > 0], Affine.Length: 12 })
        {
            throw new ImagingException(ImagingError.Inconsistent, $"The case's source grid is malformed: {text}");
        }
        return new VolumeGeometry(new Dims(stored.Dims[0], stored.Dims[1], stored.Dims[2]), Affine.FromRows(stored.Affine));
    }

    /// <summary>A stored (canonical) volume or mask reordered onto the case's source grid; the stored one itself when the
    /// case has no source grid or the source was canonical already.</summary>
    public static Volume<T> Restore<T>(Volume<T> stored, string? sourceGrid) where T : unmanaged =>
        Parse(sourceGrid) is { } grid ? Orientation.ReorientTo(stored, grid) : stored;
}

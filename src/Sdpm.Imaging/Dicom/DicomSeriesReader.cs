using System.Buffers.Binary;
using System.Globalization;
using Sdpm.Imaging.Deid;
using Sdpm.Imaging.Import;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Dicom;

/// <summary>One DICOM file to read: a name for messages and a way to get its bytes.</summary>
public sealed record DicomInput(string Name, Func<byte[]> ReadBytes);

/// <summary>A DICOM CT series assembled into a volume (stored orientation: rows, columns, slices sorted along the normal).</summary>
/// <param name="Hu">Hounsfield units after RescaleSlope/Intercept, rounded and clamped to int16.</param>
/// <param name="Statistics">Statistics of the HU values before rounding.</param>
/// <param name="Datatype">Stored pixel type, e.g. "int16" or "uint16".</param>
/// <param name="Notes">Things the user should know (assumed pixel spacing).</param>
public sealed record DicomSeries(Volume<short> Hu, VolumeStatistics Statistics, IReadOnlyList<DeidFinding> Findings,
    string TransferSyntaxUid, string Modality, string Datatype, int FileCount, IReadOnlyList<string> Notes);

/// <summary>Reads DICOM series in the native transfer syntaxes and validates their geometry.</summary>
/// <remarks>Slices are sorted by ImagePositionPatient projected on the slice normal; the slice spacing comes from
/// those positions, never from SliceThickness. Mixed series, duplicate or uneven positions and gantry tilt
/// (positions not along the normal) are refused. Pixels equal to PixelPaddingValue (or inside the padding range)
/// become air, -1024 HU. Every limit is checked before the bytes or voxels it guards are allocated: the byte budget
/// counts inflated bytes of deflated files, and the voxel limit is checked from the first image's rows x columns
/// x number of files before any slice is decoded.</remarks>
public static class DicomSeriesReader
{
    /// <summary>Result of a first pass over the files: either slices ready to assemble, or the reason they need conversion.</summary>
    internal sealed record Scan(List<Slice> Slices, IReadOnlyList<DeidFinding> Findings, string? NonNativeSyntax, string? NonNativeReason, int NonImages);

    internal sealed record Slice(string Name, string? SeriesUid, double[]? Position, double[]? Orientation, int Rows, int Columns,
        double[]? PixelSpacing, double? SliceThickness, int? InstanceNumber, short[] Hu, VolumeStatistics Stats,
        string Modality, string Datatype, string TransferSyntax);

    /// <summary>Reads a whole series held in native transfer syntaxes.</summary>
    public static DicomSeries Read(IReadOnlyList<DicomInput> files, ImportLimits? limits = null, CancellationToken ct = default)
    {
        limits ??= ImportLimits.Default;
        var scan = ScanFiles(files, limits, ct);
        if (scan.NonNativeSyntax is not null)
            throw new ImagingException(ImagingError.Unsupported, scan.NonNativeReason!);
        return Assemble(scan, limits);
    }

    internal static Scan ScanFiles(IReadOnlyList<DicomInput> files, ImportLimits limits, CancellationToken ct)
    {
        if (files.Count > limits.MaxFiles)
            throw new ImagingException(ImagingError.TooLarge, $"{files.Count} files exceed the limit of {limits.MaxFiles}.");
        var slices = new List<Slice>();
        var perFile = new List<IReadOnlyList<DeidFinding>>();
        string? nonNative = null, reason = null;
        var nonImages = 0;
        long total = 0;
        var seriesUids = new HashSet<string>(StringComparer.Ordinal);
        long voxels = 0;
        var tooLarge = $"The DICOM files exceed the limit of {IO.Bytes.Format(limits.MaxBytes)}.";
        foreach (var file in files)
        {
            ct.ThrowIfCancellationRequested();
            var bytes = file.ReadBytes();
            total += bytes.Length;
            if (total > limits.MaxBytes) throw new ImagingException(ImagingError.TooLarge, tooLarge);
            DicomDataset ds;
            try
            {
                ds = DicomParser.Parse(bytes, file.Name, limits, limits.MaxBytes - total);
            }
            catch (ImagingException e) when (e.Error == ImagingError.TooLarge)
            {
                throw new ImagingException(ImagingError.TooLarge, $"{file.Name}: {tooLarge}", e);
            }
            total += ds.InflatedBytes;
            if (total > limits.MaxBytes) throw new ImagingException(ImagingError.TooLarge, tooLarge);
            perFile.Add(DicomDeidCheck.Check(ds));
            var series = ds.GetString(DicomTag.SeriesInstanceUid);
            if (!ds.Contains(DicomTag.PixelData) || ds.GetUInt16(DicomTag.Rows) is null)
            {
                nonImages++;
                continue;
            }
            if (series is not null) seriesUids.Add(series);
            var frames = ds.GetIntString(DicomTag.NumberOfFrames) ?? 1;
            if (!TransferSyntax.IsNative(ds.TransferSyntaxUid) || ds.Get(DicomTag.PixelData)!.IsEncapsulated)
            {
                nonNative ??= ds.TransferSyntaxUid;
                reason ??= $"{file.Name}: {TransferSyntax.Describe(ds.TransferSyntaxUid)} is not read directly";
                continue;
            }
            if (frames > 1)
            {
                nonNative ??= ds.TransferSyntaxUid;
                reason ??= $"{file.Name}: multi-frame DICOM ({frames} frames) is not read directly";
                continue;
            }
            var rows = ds.GetUInt16(DicomTag.Rows) ?? 0;
            var cols = ds.GetUInt16(DicomTag.Columns) ?? 0;
            // Before decoding anything: the whole series at this slice size, then the running total.
            if (slices.Count == 0) limits.CheckDims(cols, rows, files.Count, "DICOM series");
            voxels += (long)rows * cols;
            if (voxels > limits.MaxVoxels)
                throw new ImagingException(ImagingError.TooLarge, $"DICOM series: more than {limits.MaxVoxels} voxels (at {file.Name}).");
            slices.Add(DecodeSlice(ds, file.Name, limits));
        }
        if (seriesUids.Count > 1)
            throw new ImagingException(ImagingError.Inconsistent,
                $"The input mixes {seriesUids.Count} DICOM series (SeriesInstanceUID differs); upload one series at a time.");
        return new Scan(slices, DicomDeidCheck.Merge(perFile), nonNative, reason, nonImages);
    }

    private static Slice DecodeSlice(DicomDataset ds, string name, ImportLimits limits)
    {
        var rows = ds.GetUInt16(DicomTag.Rows) ?? 0;
        var cols = ds.GetUInt16(DicomTag.Columns) ?? 0;
        limits.CheckDims(cols, rows, 1, name);
        var samples = ds.GetUInt16(DicomTag.SamplesPerPixel) ?? 1;
        if (samples != 1)
            throw new ImagingException(ImagingError.Unsupported, $"{name}: colour DICOM ({samples} samples per pixel) is not a CT image.");
        var bitsAllocated = ds.GetUInt16(DicomTag.BitsAllocated) ?? 16;
        var bitsStored = ds.GetUInt16(DicomTag.BitsStored) ?? bitsAllocated;
        var signed = (ds.GetUInt16(DicomTag.PixelRepresentation) ?? 0) == 1;
        if (bitsAllocated is not (8 or 16 or 32) || bitsStored < 1 || bitsStored > bitsAllocated)
            throw new ImagingException(ImagingError.Unsupported, $"{name}: {bitsAllocated}-bit pixels ({bitsStored} stored) are not supported.");
        var slope = ds.GetDecimal(DicomTag.RescaleSlope) ?? 1;
        var intercept = ds.GetDecimal(DicomTag.RescaleIntercept) ?? 0;
        if (slope == 0) slope = 1;
        var invert = ds.GetString(DicomTag.PhotometricInterpretation)?.Trim() == "MONOCHROME1";
        var (padLow, padHigh) = PaddingRange(ds, signed, bitsStored);

        var pixels = ds.Get(DicomTag.PixelData)!.Value.Span;
        var bpp = bitsAllocated / 8;
        var n = rows * cols;
        if (pixels.Length < (long)n * bpp)
            throw new ImagingException(ImagingError.Truncated, $"{name}: pixel data holds {pixels.Length} bytes, {rows}x{cols} pixels need {n * bpp}.");
        var hu = new short[n];
        double min = double.MaxValue, max = double.MinValue, sum = 0;
        var mask = bitsStored >= 32 ? uint.MaxValue : (1u << bitsStored) - 1;
        var signBit = bitsStored >= 32 ? 0u : 1u << (bitsStored - 1);
        var maxStored = signed ? (double)(signBit - 1) : mask;
        for (var i = 0; i < n; i++)
        {
            uint raw = bpp switch
            {
                1 => pixels[i],
                2 => ds.BigEndian ? BinaryPrimitives.ReadUInt16BigEndian(pixels[(2 * i)..]) : BinaryPrimitives.ReadUInt16LittleEndian(pixels[(2 * i)..]),
                _ => ds.BigEndian ? BinaryPrimitives.ReadUInt32BigEndian(pixels[(4 * i)..]) : BinaryPrimitives.ReadUInt32LittleEndian(pixels[(4 * i)..]),
            };
            raw &= mask;
            double stored = signed && bitsStored < 32 && (raw & signBit) != 0 ? (long)raw - ((long)mask + 1) : signed && bitsStored == 32 ? (int)raw : raw;
            if (stored >= padLow && stored <= padHigh)
            {
                // Outside the reconstructed field of view: air, and left out of the statistics of the source values.
                hu[i] = Air;
                if (Air < min) min = Air;
                if (Air > max) max = Air;
                sum += Air;
                continue;
            }
            if (invert) stored = maxStored - stored;
            var v = stored * slope + intercept;
            if (v < min) min = v;
            if (v > max) max = v;
            sum += v;
            hu[i] = (short)Math.Clamp(Math.Round(v, MidpointRounding.AwayFromZero), short.MinValue, short.MaxValue);
        }
        var spacing = ds.GetDecimals(DicomTag.PixelSpacing);
        return new Slice(name, ds.GetString(DicomTag.SeriesInstanceUid), ds.GetDecimals(DicomTag.ImagePositionPatient),
            ds.GetDecimals(DicomTag.ImageOrientationPatient), rows, cols, spacing is { Length: >= 2 } ? spacing : null,
            ds.GetDecimal(DicomTag.SliceThickness), ds.GetIntString(DicomTag.InstanceNumber), hu, new VolumeStatistics(min, max, sum / n, sum, n),
            ds.GetString(DicomTag.Modality) ?? "", $"{(signed ? "int" : "uint")}{bitsAllocated}", ds.TransferSyntaxUid);
    }

    private const short Air = -1024;

    // PixelPaddingValue alone pads one stored value; with PixelPaddingRangeLimit it pads the range between them.
    private static (double Low, double High) PaddingRange(DicomDataset ds, bool signed, int bitsStored)
    {
        var pad = StoredValue(ds, DicomTag.PixelPaddingValue, signed);
        if (pad is null) return (double.PositiveInfinity, double.NegativeInfinity);
        var limit = StoredValue(ds, DicomTag.PixelPaddingRangeLimit, signed) ?? pad.Value;
        return (Math.Min(pad.Value, limit), Math.Max(pad.Value, limit));
    }

    private static double? StoredValue(DicomDataset ds, DicomTag tag, bool signed)
    {
        var raw = ds.GetUInt16(tag);
        if (raw is null) return null;
        return signed ? (short)(ushort)raw.Value : raw.Value;
    }

    internal static DicomSeries Assemble(Scan scan, ImportLimits limits)
    {
        var slices = scan.Slices;
        if (slices.Count == 0)
            throw new ImagingException(ImagingError.NoImage, scan.NonImages > 0
                ? $"Not an image: {(scan.NonImages == 1 ? "the DICOM object has" : $"the {scan.NonImages} DICOM objects have")} no pixel data (for example a report or a DICOMDIR)."
                : "No DICOM images found.");
        var first = slices[0];
        foreach (var s in slices)
            if (s.Rows != first.Rows || s.Columns != first.Columns)
                throw new ImagingException(ImagingError.Inconsistent,
                    $"Slices differ in size ({first.Columns}x{first.Rows} in {first.Name}, {s.Columns}x{s.Rows} in {s.Name}): mixed series?");
        limits.CheckDims(first.Columns, first.Rows, slices.Count, "DICOM series");

        var row = new[] { 1.0, 0, 0 };
        var col = new[] { 0.0, 1, 0 };
        if (first.Orientation is { Length: 6 } o)
        {
            row = Normalize([o[0], o[1], o[2]]);
            col = Normalize([o[3], o[4], o[5]]);
        }
        else if (slices.Count > 1)
            throw new ImagingException(ImagingError.Inconsistent, $"{first.Name}: ImageOrientationPatient is missing; the slices cannot be ordered.");
        var normal = Cross(row, col);
        foreach (var s in slices)
        {
            if (slices.Count > 1 && s.Position is not { Length: 3 })
                throw new ImagingException(ImagingError.Inconsistent, $"{s.Name}: ImagePositionPatient is missing; the slices cannot be ordered.");
            if (s.Orientation is { Length: 6 } so && (Math.Abs(Dot(Normalize([so[0], so[1], so[2]]), row) - 1) > 1e-3 || Math.Abs(Dot(Normalize([so[3], so[4], so[5]]), col) - 1) > 1e-3))
                throw new ImagingException(ImagingError.Inconsistent, $"Slices have different orientations ({first.Name}, {s.Name}): mixed series?");
        }

        foreach (var s in slices)
            if (s.PixelSpacing is { } sp && first.PixelSpacing is { } fp && (Math.Abs(sp[0] - fp[0]) > 1e-3 * fp[0] + 1e-4 || Math.Abs(sp[1] - fp[1]) > 1e-3 * fp[1] + 1e-4))
                throw new ImagingException(ImagingError.Inconsistent,
                    $"Slices have different pixel spacing ({F(fp[0])}\\{F(fp[1])} mm in {first.Name}, {F(sp[0])}\\{F(sp[1])} mm in {s.Name}): mixed series?");
        var notes = new List<string>();
        if (first.PixelSpacing is null)
            notes.Add("PixelSpacing is missing: assumed 1 x 1 mm pixels, so sizes and volumes in mL may be wrong.");

        var sorted = slices.OrderBy(s => s.Position is { Length: 3 } p ? Dot(p, normal) : 0).ToList();
        var dz = sorted.Count == 1 ? first.SliceThickness is > 0 ? first.SliceThickness.Value : 1.0 : CheckPositions(sorted, normal);
        var ps = first.PixelSpacing ?? [1, 1];
        var origin = sorted[0].Position is { Length: 3 } p0 ? p0 : [0, 0, 0];
        // Affine in LPS (DICOM patient coordinates), then to RAS by negating the first two rows.
        double[] lps =
        [
            row[0] * ps[1], col[0] * ps[0], normal[0] * dz, origin[0],
            row[1] * ps[1], col[1] * ps[0], normal[1] * dz, origin[1],
            row[2] * ps[1], col[2] * ps[0], normal[2] * dz, origin[2],
        ];
        for (var i = 0; i < 8; i++) lps[i] = -lps[i];
        var dims = new Dims(first.Columns, first.Rows, sorted.Count);
        var volume = new Volume<short>(dims, Affine.FromRows(lps));
        var stats = new VolumeStatistics(0, 0, 0, 0, 0);
        for (var k = 0; k < sorted.Count; k++)
        {
            sorted[k].Hu.CopyTo(volume.Slice(k));
            stats = stats.Merge(sorted[k].Stats);
        }
        return new DicomSeries(volume, stats, scan.Findings, first.TransferSyntax, first.Modality, first.Datatype, slices.Count + scan.NonImages, notes);
    }

    private static double CheckPositions(List<Slice> sorted, double[] normal)
    {
        var d = sorted.Select(s => Dot(s.Position!, normal)).ToArray();
        var gaps = new double[d.Length - 1];
        for (var i = 0; i < gaps.Length; i++) gaps[i] = d[i + 1] - d[i];
        var mean = (d[^1] - d[0]) / gaps.Length;
        if (gaps.Min() < 1e-3)
            throw new ImagingException(ImagingError.Inconsistent,
                $"Two slices share the position {F(d[Array.FindIndex(gaps, g => g < 1e-3)])} mm ({sorted[Array.FindIndex(gaps, g => g < 1e-3)].Name}): a repeated acquisition or two series in one folder.");
        if (gaps.Any(g => Math.Abs(g - mean) > 0.05 * mean + 0.01))
            throw new ImagingException(ImagingError.Inconsistent,
                $"Uneven slice spacing: gaps from {F(gaps.Min())} to {F(gaps.Max())} mm (missing slices or a variable-thickness series); resample it first.");
        var axis = Normalize(Sub(sorted[^1].Position!, sorted[0].Position!));
        var angle = Math.Acos(Math.Min(1, Math.Abs(Dot(axis, normal)))) * 180 / Math.PI;
        if (angle > 0.5)
            throw new ImagingException(ImagingError.Unsupported,
                $"Gantry tilt of {F(angle)} degrees: slice positions do not run along the slice normal; correct the tilt (for example with dcm2niix) first.");
        return mean;
    }

    private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
    private static double Dot(double[] a, double[] b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    private static double[] Sub(double[] a, double[] b) => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    private static double[] Cross(double[] a, double[] b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

    private static double[] Normalize(double[] v)
    {
        var n = Math.Sqrt(Dot(v, v));
        return n == 0 ? v : [v[0] / n, v[1] / n, v[2] / n];
    }
}

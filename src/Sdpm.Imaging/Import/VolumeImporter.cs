using Sdpm.Imaging.Deid;
using Sdpm.Imaging.Dicom;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.PngStack;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Import;

/// <summary>The one entry point for imports: detects the format of a path, reads it within limits, checks
/// de-identification and returns a canonical-orientation volume. Bad input throws <see cref="ImagingException"/>.</summary>
/// <remarks>Accepted: a .nii / .nii.gz file (NIfTI-1 or -2); a DICOM file, folder or .zip of one series; a folder of
/// slice PNGs (AISD layout, see <see cref="PngStackReader"/>). Detection looks at the bytes, not the extension.</remarks>
public static class VolumeImporter
{
    private static readonly TimeSpan ConversionTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Imports a path (file or folder).</summary>
    public static ImportedVolume Open(string path, ImportLimits? limits = null, ImportOptions? options = null, CancellationToken ct = default)
    {
        limits ??= ImportLimits.Default;
        options ??= ImportOptions.Default;
        if (Directory.Exists(path)) return OpenFolder(path, limits, options, ct);
        if (!File.Exists(path)) throw new ImagingException(ImagingError.NotFound, $"{path}: no such file or folder.");

        var head = ReadHead(path, 132);
        if (head.Length == 0) throw new ImagingException(ImagingError.Truncated, $"{Path.GetFileName(path)}: the file is empty.");
        if (IO.Bytes.IsGzip(head) || LooksLikeNifti(head)) return OpenNifti(path, limits);
        if (head.Length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] is 3 or 5) return OpenZip(path, limits, options, ct);
        if (DicomParser.LooksLikeDicom(head))
            return OpenDicom([FileInput(path, limits)], () => SingleFileFolder(path), limits, options, ct);
        if (head.Length >= 8 && head[..8].SequenceEqual((ReadOnlySpan<byte>)[137, 80, 78, 71, 13, 10, 26, 10]))
            throw new ImagingException(ImagingError.Unsupported, $"{Path.GetFileName(path)} is a single PNG; import the folder of slice PNGs instead.");
        if (head.Length < 4) throw new ImagingException(ImagingError.Truncated, $"{Path.GetFileName(path)}: the file is too short ({head.Length} bytes) for any supported format.");
        throw new ImagingException(ImagingError.UnknownFormat, $"{Path.GetFileName(path)}: not a NIfTI, DICOM, zip or PNG input (unrecognised file signature).");
    }

    /// <summary>Imports an upload given as a stream and its original file name (used for format messages and the
    /// file-name de-identification check). The bytes are spooled to a private temporary folder within
    /// <see cref="ImportLimits.MaxBytes"/>, imported like a path, and deleted.</summary>
    public static ImportedVolume Open(Stream content, string fileName, ImportLimits? limits = null, ImportOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        limits ??= ImportLimits.Default;
        var name = Path.GetFileName(fileName);
        if (string.IsNullOrWhiteSpace(name) || name is "." or "..") name = "upload";
        var dir = Directory.CreateTempSubdirectory("sdpm-upload-").FullName;
        try
        {
            var path = Path.Combine(dir, name);
            using (var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                var buffer = new byte[1 << 16];
                long total = 0;
                int n;
                while ((n = content.Read(buffer)) > 0)
                {
                    ct.ThrowIfCancellationRequested();
                    total += n;
                    if (total > limits.MaxBytes)
                        throw new ImagingException(ImagingError.TooLarge, $"{name} is larger than the limit of {IO.Bytes.Format(limits.MaxBytes)}.");
                    fs.Write(buffer, 0, n);
                }
            }
            return Open(path, limits, options, ct);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static ImportedVolume OpenNifti(string path, ImportLimits limits)
    {
        var image = NiftiReader.Read(path, limits);
        return FromNifti(image, $"nifti-{image.Header.Version}", NiftiDeidCheck.Check(image.Header, image.FileName), []);
    }

    private static ImportedVolume FromNifti(NiftiImage image, string format, IReadOnlyList<DeidFinding> findings, IReadOnlyList<string> notes)
    {
        var stored = image.ToInt16();
        return new ImportedVolume(format, NiftiHeader.NameOf(image.Header.DataType), Orientation.ToCanonical(stored), image.Statistics(),
            findings, Orientation.AxisCodes(stored.Affine), stored.Geometry, null, notes);
    }

    private static ImportedVolume OpenFolder(string dir, ImportLimits limits, ImportOptions options, CancellationToken ct)
    {
        var (imageDir, maskDir) = PngStackReader.Locate(dir);
        var files = new List<string>();
        foreach (var f in Directory.EnumerateFiles(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true }))
        {
            if (Path.GetFileName(f).StartsWith('.')) continue;
            files.Add(f);
            if (files.Count > limits.MaxFiles)
                throw new ImagingException(ImagingError.TooLarge, $"{Path.GetFileName(dir)}: more than {limits.MaxFiles} files.");
        }
        if (files.Count == 0) throw new ImagingException(ImagingError.NoImage, $"{Path.GetFileName(Path.GetFullPath(dir).TrimEnd('/'))}: the folder is empty.");

        var dicom = files.Where(f => !f.EndsWith(".png", StringComparison.OrdinalIgnoreCase) && DicomParser.LooksLikeDicom(ReadHead(f, 132))).ToList();
        if (dicom.Count > 0)
        {
            dicom.Sort(StringComparer.Ordinal);
            return OpenDicom(dicom.Select(f => FileInput(f, limits)).ToList(), () => (dir, null), limits, options, ct);
        }
        if (PngStackReader.SliceFiles(imageDir).Count > 0)
        {
            var window = options.PngWindow ?? ImportOptions.DefaultPngWindow;
            var spacing = options.PngSpacing ?? ImportOptions.DefaultPngSpacing;
            var notes = new List<string>();
            if (options.PngWindow is null) notes.Add($"PNG window not stated: assumed {window}.");
            if (options.PngSpacing is null) notes.Add($"PNG spacing not stated: assumed {spacing}.");
            if (maskDir is not null) notes.Add($"mask read from {maskDir}.");
            var stack = PngStackReader.Read(imageDir, maskDir, window, spacing, limits, ct);
            var findings = new List<DeidFinding>();
            foreach (var kind in IdentifyingText.Find(Path.GetFileName(imageDir)))
                findings.Add(new("filename", kind, $"the folder name contains text that looks like a {kind} (redacted)"));
            return new ImportedVolume("png-stack", "uint8", stack.Hu, stack.Statistics, findings, Orientation.Canonical,
                stack.Hu.Geometry, stack.Mask, notes);
        }
        throw new ImagingException(ImagingError.NoImage, $"{Path.GetFileName(Path.GetFullPath(dir).TrimEnd('/'))}: the folder holds no DICOM files or PNG slices.");
    }

    private static ImportedVolume OpenZip(string path, ImportLimits limits, ImportOptions options, CancellationToken ct)
    {
        var items = SafeZip.ReadAll(path, limits);
        var dicom = items.Where(i => DicomParser.LooksLikeDicom(i.Bytes)).OrderBy(i => i.Name, StringComparer.Ordinal).ToList();
        if (dicom.Count > 0)
        {
            return OpenDicom(dicom.Select(i => new DicomInput(i.Name, () => i.Bytes)).ToList(), () =>
            {
                var tmp = Directory.CreateTempSubdirectory("sdpm-zip-").FullName;
                for (var n = 0; n < dicom.Count; n++) File.WriteAllBytes(Path.Combine(tmp, $"{n:D5}.dcm"), dicom[n].Bytes);
                return (tmp, tmp);
            }, limits, options, ct);
        }
        var nifti = items.Where(i => i.Name.EndsWith(".nii", StringComparison.OrdinalIgnoreCase) || i.Name.EndsWith(".nii.gz", StringComparison.OrdinalIgnoreCase)).ToList();
        if (nifti.Count == 1)
        {
            using var ms = new MemoryStream(nifti[0].Bytes, writable: false);
            var image = NiftiReader.Read(ms, Path.GetFileName(nifti[0].Name), limits);
            return FromNifti(image, $"nifti-{image.Header.Version}", NiftiDeidCheck.Check(image.Header, image.FileName), []);
        }
        throw new ImagingException(ImagingError.NoImage, items.Count == 0
            ? $"{Path.GetFileName(path)}: the zip is empty."
            : $"{Path.GetFileName(path)}: the zip holds no DICOM files (or more than one NIfTI file).");
    }

    // materialize returns (folder holding the DICOM files, temporary folder to delete afterwards or null).
    private static ImportedVolume OpenDicom(IReadOnlyList<DicomInput> inputs, Func<(string Folder, string? Temp)> materialize,
        ImportLimits limits, ImportOptions options, CancellationToken ct)
    {
        var scan = DicomSeriesReader.ScanFiles(inputs, limits, ct);
        if (scan.NonNativeSyntax is null)
        {
            var series = DicomSeriesReader.Assemble(scan, limits);
            var notes = series.Notes.ToList();
            if (series.Modality is not ("" or "CT")) notes.Add($"modality is {series.Modality}, not CT: values are not HU.");
            return new ImportedVolume("dicom", series.Datatype, Orientation.ToCanonical(series.Hu), series.Statistics, series.Findings,
                Orientation.AxisCodes(series.Hu.Affine), series.Hu.Geometry, null, notes);
        }
        var exe = Dcm2Niix.Locate(options.Dcm2NiixPath)
            ?? throw new ImagingException(ImagingError.Unsupported, $"{scan.NonNativeReason}, and dcm2niix is not installed to convert it.");
        var (folder, temp) = materialize();
        var output = Directory.CreateTempSubdirectory("sdpm-dcm2niix-").FullName;
        try
        {
            var nii = Dcm2Niix.Convert(exe, folder, output, ConversionTimeout, ct);
            var image = NiftiReader.Read(nii, limits);
            return FromNifti(image, "dicom", scan.Findings, [$"{TransferSyntax.Describe(scan.NonNativeSyntax)}: converted with dcm2niix."]);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
            if (temp is not null) Directory.Delete(temp, recursive: true);
        }
    }

    private static (string, string?) SingleFileFolder(string path)
    {
        var tmp = Directory.CreateTempSubdirectory("sdpm-dcm-").FullName;
        File.Copy(path, Path.Combine(tmp, "00000.dcm"));
        return (tmp, tmp);
    }

    private static DicomInput FileInput(string path, ImportLimits limits) => new(Path.GetFileName(path), () =>
    {
        var length = new FileInfo(path).Length;
        if (length > limits.MaxBytes)
            throw new ImagingException(ImagingError.TooLarge, $"{Path.GetFileName(path)} is larger than the limit of {IO.Bytes.Format(limits.MaxBytes)}.");
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImagingException(ImagingError.NotFound, $"{Path.GetFileName(path)}: cannot be read ({e.Message}).");
        }
    });

    private static bool LooksLikeNifti(ReadOnlySpan<byte> head)
    {
        if (head.Length < 4) return false;
        var size = BitConverter.ToInt32(head);
        return size is 348 or 540 || System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(size) is 348 or 540;
    }

    private static byte[] ReadHead(string path, int count)
    {
        try
        {
            using var fs = File.OpenRead(path);
            var buf = new byte[count];
            var n = IO.Bytes.ReadFully(fs, buf);
            return buf[..n];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImagingException(ImagingError.NotFound, $"{Path.GetFileName(path)}: cannot be read ({e.Message}).");
        }
    }
}

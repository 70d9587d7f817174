namespace Sdpm.Imaging;

/// <summary>A bad or unsupported input, with a message meant for the person who supplied it.</summary>
/// <remarks>Every reader in Sdpm.Imaging throws only this type for bad input, so callers (the portal upload,
/// the CLI) can show <see cref="Exception.Message"/> as is: one line, no stack trace, no internal detail.</remarks>
public sealed class ImagingException : Exception
{
    public ImagingException(ImagingError error, string message, Exception? inner = null)
        : base(message, inner)
    {
        Error = error;
    }

    /// <summary>What kind of problem it is, for callers that map errors to codes.</summary>
    public ImagingError Error { get; }
}

/// <summary>The kinds of bad input an import can meet.</summary>
public enum ImagingError
{
    /// <summary>The file ends before the data it announces.</summary>
    Truncated,
    /// <summary>The bytes are not in any format we read, or a header magic is wrong.</summary>
    UnknownFormat,
    /// <summary>A readable format, but a variant we do not support (4D, compressed without dcm2niix, ...).</summary>
    Unsupported,
    /// <summary>The header disagrees with itself or with the file (dims vs. size, mixed series, uneven spacing).</summary>
    Inconsistent,
    /// <summary>Dimensions, voxel count or decompressed size exceed <see cref="Import.ImportLimits"/>.</summary>
    TooLarge,
    /// <summary>NaN or infinite values where numbers are required.</summary>
    InvalidValues,
    /// <summary>An archive entry tries to leave its target folder.</summary>
    UnsafePath,
    /// <summary>Nothing to import (empty folder, DICOM object without pixels).</summary>
    NoImage,
    /// <summary>The file or folder does not exist or cannot be read.</summary>
    NotFound,
}

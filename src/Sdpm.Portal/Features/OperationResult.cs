namespace Sdpm.Portal.Features;

/// <summary>The outcome of a user action: success, or a message that says what was wrong and how to fix it.</summary>
public sealed record OperationResult(bool Succeeded, string? Error = null)
{
    public static readonly OperationResult Ok = new(true);

    public static OperationResult Fail(string error) => new(false, error);
}

/// <summary>An outcome that carries a value on success.</summary>
public sealed record OperationResult<T>(bool Succeeded, T? Value, string? Error = null)
{
    public static OperationResult<T> Ok(T value) => new(true, value);

    public static OperationResult<T> Fail(string error) => new(false, default, error);
}

using System.Globalization;

namespace Sdpm.Engine.Contracts.Splits;

/// <summary>The shares of each stratum's patients that go to train, validation and test; they add up to 1.</summary>
public sealed record SplitFractions(double Train, double Validation, double Test)
{
    /// <summary>How far the sum may be from 1 (typed decimals such as 0.7 + 0.15 + 0.15 are not exact in binary).</summary>
    public const double Tolerance = 1e-6;

    /// <summary>A train/test split with the given test share.</summary>
    public static SplitFractions TrainTest(double test) => new(1 - test, 0, test);

    /// <summary>What is wrong with these fractions, in words a person can act on; null when they are usable.</summary>
    public string? Problem()
    {
        var named = new[] { ("train", Train), ("validation", Validation), ("test", Test) };
        foreach (var (name, value) in named)
        {
            if (!double.IsFinite(value)) return $"The {name} fraction must be a number between 0 and 1.";
        }
        foreach (var (name, value) in named)
        {
            if (value < 0) return $"Fractions cannot be negative: {name} is {Format(value)}.";
        }
        foreach (var (name, value) in named)
        {
            if (value > 1) return $"A fraction cannot exceed 1: {name} is {Format(value)}.";
        }
        var sum = Train + Validation + Test;
        return Math.Abs(sum - 1) > Tolerance
            ? $"The fractions must add up to 1: train {Format(Train)} + validation {Format(Validation)} + test {Format(Test)} = {Format(sum)}."
            : null;
    }

    private static string Format(double value) => value.ToString("0.######", CultureInfo.InvariantCulture);
}

namespace Sdpm.Engine.Contracts.Predictions;

/// <summary>Where an inference run writes its predictions: a folder of NIfTI files (the CLI), the blob store and the
/// database (a worker).</summary>
/// <remarks>The engine calls <see cref="Write"/> once per case, in case order, and <see cref="Complete"/> once after the
/// last case; a cancelled run never calls <see cref="Complete"/>.</remarks>
public interface IPredictionSink
{
    /// <summary>Names the destination in messages (a folder path, a model version).</summary>
    string Description { get; }

    /// <summary>Stores every mode of one case.</summary>
    void Write(CasePrediction prediction, CancellationToken ct = default);

    /// <summary>Finishes the run's output (a summary table, a commit).</summary>
    void Complete(CancellationToken ct = default);
}

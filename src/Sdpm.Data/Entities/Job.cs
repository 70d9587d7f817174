namespace Sdpm.Data.Entities;

/// <summary>What an engine job does.</summary>
public enum JobKind
{
    Train = 1,
    Infer = 2,
    Evaluate = 3,
}

/// <summary>Where a job stands. The Job row is the source of truth for every page and API answer; the job engine only
/// decides which worker runs it when.</summary>
public enum JobState
{
    Queued = 1,
    Running = 2,
    Succeeded = 3,
    Failed = 4,
    Cancelled = 5,
}

/// <summary>One engine job (training, inference, evaluation) submitted by an investigator and run by a worker with the
/// device it asks for, in an engine process of its own.</summary>
public class Job
{
    public const int ErrorMaxLength = 4000;
    public const int LogTailMaxLength = 16000;

    public int Id { get; set; }
    public JobKind Kind { get; set; }
    public JobState State { get; set; } = JobState.Queued;

    /// <summary>"cpu" or "cuda": only a worker with that device takes the job.</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>What the job was asked to do, as JSON: the engine's settings map and the job's own fields (model, preset,
    /// recipe, steps, seed, subset, modes, protocol).</summary>
    public string RequestJson { get; set; } = "{}";

    public int? SplitId { get; set; }

    /// <summary>The model version an inference or evaluation job reads, or a training job fine-tunes.</summary>
    public int? InputModelVersionId { get; set; }

    /// <summary>The model version a successful training job produced.</summary>
    public int? ResultModelVersionId { get; set; }

    /// <summary>What a successful inference or evaluation job found, as JSON: per mode the number of cases and the
    /// Dice / VC / VDP statistics against the references (Sdpm.Jobs.JobOutcome).</summary>
    public string? ResultJson { get; set; }

    /// <summary>The sites whose data the job reads (from its split), as ",1,2," for access checks without a join.</summary>
    public string SiteKey { get; set; } = ",";

    public int Step { get; set; }
    public int Total { get; set; }

    /// <summary>The last progress message (device, phase, ETA).</summary>
    public string? Message { get; set; }
    public string? Error { get; set; }

    /// <summary>The last lines the engine process wrote (stderr and non-progress stdout), newest last.</summary>
    public string LogTail { get; set; } = "";

    public bool CancelRequested { get; set; }

    /// <summary>The job engine's id of the delivery that carries this job to a worker's queue; null while none is
    /// (a job given back by a stopping worker, or one whose hand-over failed, is delivered again by the workers).</summary>
    public string? DispatchId { get; set; }

    /// <summary>How many times an engine process was started for the job (a resume after a worker died counts).</summary>
    public int Attempts { get; set; }

    /// <summary>The worker running the job, and when it last said so: a running job whose worker is silent past the
    /// lease is taken over or failed.</summary>
    public string? WorkerName { get; set; }
    public DateTimeOffset? HeartbeatAt { get; set; }

    /// <summary>Why a queued job is still waiting (no worker with its device), refreshed by the workers.</summary>
    public string? WaitingReason { get; set; }

    public string? CreatedById { get; set; }
    public string CreatedByName { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>Peak resident memory of the engine process (bytes), as the worker sampled it.</summary>
    public long? PeakMemoryBytes { get; set; }

    public List<JobPoint> Points { get; set; } = [];

    public bool Finished => State is JobState.Succeeded or JobState.Failed or JobState.Cancelled;
}

/// <summary>One progress report of a job's engine: a point of its loss curves.</summary>
public class JobPoint
{
    public long Id { get; set; }
    public int JobId { get; set; }
    public Job? Job { get; set; }
    public int Step { get; set; }
    public double? Loss { get; set; }

    /// <summary>The loss terms by name, as JSON (e.g. {"dice":0.4,"bce":0.1}).</summary>
    public string TermsJson { get; set; } = "{}";
    public double? SamplesPerSecond { get; set; }
    public DateTimeOffset At { get; set; }
}

/// <summary>A trained model: what it is, every option it was trained with, its checkpoint blob and where it came from.</summary>
public class ModelVersion
{
    public const int NameMaxLength = 120;

    public int Id { get; set; }
    public string Name { get; set; } = "";

    /// <summary>"sdpm", "sdpm-no-noise" or "unet".</summary>
    public string Model { get; set; } = "";
    public string Preset { get; set; } = "";
    public string Recipe { get; set; } = "";

    /// <summary>Every resolved training option, as JSON.</summary>
    public string OptionsJson { get; set; } = "{}";

    /// <summary>SHA-256 of the checkpoint file: its blob name, verified before use.</summary>
    public string CheckpointBlob { get; set; } = "";
    public long CheckpointBytes { get; set; }
    public int Steps { get; set; }
    public int? SplitId { get; set; }
    public int? ParentId { get; set; }
    public int? JobId { get; set; }
    public string SiteKey { get; set; } = ",";
    public string? CreatedById { get; set; }
    public string CreatedByName { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>A worker process that takes engine jobs: its devices and when it last checked in.</summary>
public class WorkerNode
{
    public const int NameMaxLength = 200;

    public int Id { get; set; }

    /// <summary>Unique per process: host name, process id and start time.</summary>
    public string Name { get; set; } = "";
    public string Host { get; set; } = "";

    /// <summary>The devices it runs jobs on, comma separated ("cpu", "cpu,cuda").</summary>
    public string Devices { get; set; } = "cpu";
    public DateTimeOffset StartedAt { get; set; }
    public DateTimeOffset HeartbeatAt { get; set; }
    public int? CurrentJobId { get; set; }
}

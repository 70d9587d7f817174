using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Sdpm.Engine.Contracts.Training;
using static TorchSharp.torch;

namespace Sdpm.Engine.Training;

/// <summary>A training checkpoint: weights, EMA weights, optimizer state, step, options and data fingerprint.</summary>
/// <remarks>File layout: "SDPMCKPT", int32 header length, UTF-8 JSON header (metadata and a table of tensors), then the
/// tensors as float32 little-endian. Tensors are held on the CPU; written atomically (temporary file, then rename).</remarks>
public sealed class Checkpoint : IDisposable
{
    private static readonly byte[] Magic = "SDPMCKPT"u8.ToArray();

    public static JsonSerializerOptions Json { get; } = new()
    {
        WriteIndented = false,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    public required TrainingOptions Options { get; init; }
    public required int Step { get; init; }
    public required string Fingerprint { get; init; }
    public required long OptimizerSteps { get; init; }
    public string Device { get; init; } = "";
    public long ParameterCount { get; init; }

    /// <summary>Tensor groups: "weights", "ema", "adam_m", "adam_v"; name -> CPU float tensor.</summary>
    public required Dictionary<string, Dictionary<string, Tensor>> Tensors { get; init; }

    public void Save(string path)
    {
        var table = new List<TensorEntry>();
        long offset = 0;
        foreach (var (group, dict) in Tensors.OrderBy(g => g.Key, StringComparer.Ordinal))
            foreach (var (name, t) in dict.OrderBy(t => t.Key, StringComparer.Ordinal))
            {
                table.Add(new TensorEntry(group, name, t.shape, offset));
                offset += t.numel() * 4;
            }
        var header = new Header(Options, Step, Fingerprint, OptimizerSteps, Device, ParameterCount, table);
        var json = JsonSerializer.SerializeToUtf8Bytes(header, Json);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = path + ".tmp";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write))
        {
            fs.Write(Magic);
            Span<byte> len = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(len, json.Length);
            fs.Write(len);
            fs.Write(json);
            foreach (var e in table)
            {
                float[] data;
                using (NewDisposeScope()) data = Torch.Tensors.ToArray(Tensors[e.Group][e.Name].detach().contiguous().to_type(ScalarType.Float32));
                var bytes = new byte[data.Length * 4];
                for (var i = 0; i < data.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), data[i]);
                fs.Write(bytes);
            }
        }
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Reads a checkpoint; tensors land on the CPU.</summary>
    /// <exception cref="InvalidDataException">Not a checkpoint, or truncated.</exception>
    public static Checkpoint Load(string path)
    {
        using var fs = File.OpenRead(path);
        var header = ReadHeader(fs, path);
        var start = fs.Position;
        var groups = new Dictionary<string, Dictionary<string, Tensor>>(StringComparer.Ordinal);
        using var scope = NewDisposeScope(); // From's intermediates; the tensors themselves are detached from it
        foreach (var e in header.Tensors)
        {
            var count = e.Shape.Aggregate(1L, (a, b) => a * b);
            var bytes = new byte[count * 4];
            fs.Position = start + e.Offset;
            try { fs.ReadExactly(bytes); }
            catch (EndOfStreamException) { throw new InvalidDataException($"{path}: truncated at tensor '{e.Name}'."); }
            var data = new float[count];
            for (var i = 0; i < count; i++) data[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4));
            if (!groups.TryGetValue(e.Group, out var dict)) groups[e.Group] = dict = new(StringComparer.Ordinal);
            dict[e.Name] = Torch.Tensors.From(data, e.Shape, CPU).DetachFromDisposeScope();
        }
        return new Checkpoint
        {
            Options = header.Options, Step = header.Step, Fingerprint = header.Fingerprint, OptimizerSteps = header.OptimizerSteps,
            Device = header.Device, ParameterCount = header.ParameterCount, Tensors = groups,
        };
    }

    /// <summary>Reads only the options and step (no tensors).</summary>
    public static (TrainingOptions Options, int Step, string Fingerprint) Peek(string path)
    {
        using var fs = File.OpenRead(path);
        var h = ReadHeader(fs, path);
        return (h.Options, h.Step, h.Fingerprint);
    }

    /// <summary>Magic, header length and JSON header; leaves the stream at the start of the tensor data.</summary>
    private static Header ReadHeader(Stream fs, string path)
    {
        var magic = new byte[8];
        if (fs.Read(magic) != 8 || !magic.SequenceEqual(Magic)) throw new InvalidDataException($"{path}: not an SDPM checkpoint.");
        try
        {
            var len = new byte[4];
            fs.ReadExactly(len);
            var json = new byte[BinaryPrimitives.ReadInt32LittleEndian(len)];
            fs.ReadExactly(json);
            return JsonSerializer.Deserialize<Header>(json, Json) ?? throw new InvalidDataException($"{path}: empty header.");
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"{path}: truncated header.");
        }
    }

    public IReadOnlyDictionary<string, Tensor> Group(string name) =>
        Tensors.TryGetValue(name, out var g) ? g : throw new InvalidDataException($"checkpoint has no '{name}' tensors.");

    public void Dispose()
    {
        foreach (var t in Tensors.Values.SelectMany(d => d.Values)) t.Dispose();
    }

    private sealed record TensorEntry(string Group, string Name, long[] Shape, long Offset);

    private sealed record Header(TrainingOptions Options, int Step, string Fingerprint, long OptimizerSteps, string Device, long ParameterCount, List<TensorEntry> Tensors);
}

using System.Reflection;
using System.Reflection.Emit;
using TorchSharp;
using static TorchSharp.torch;

namespace Sdpm.Engine.Tests;

/// <summary>
/// TorchSharp 0.107 passes a Scalar's native handle to libtorch without keeping the managed object alive, so a Scalar
/// created as a temporary (by an implicit conversion, or inside TorchSharp, e.g. alpha = 1 in <c>a + b</c>) can be
/// finalised by a GC on another thread while libtorch still reads it: runs crashed with "toFloat ... Expected false to be
/// true" after some hundred steps, and a portal full of threads would do so more often. These tests read the IL of the
/// engine and of TorchSharp and fail on any engine call that hands libtorch such a temporary.
/// </summary>
public sealed class ScalarLifetimeTests
{
    [Fact]
    public void TheEngineNeverHandsLibtorchATemporaryScalar()
    {
        var findings = ScalarHazards.Find(typeof(Sdpm.Engine.Schedule.SigmoidSchedule).Assembly);
        Assert.True(findings.Count == 0, "temporary scalars:\n" + string.Join("\n", findings));
    }

    [Fact]
    public void TheScanFindsEachKindOfTemporary()
    {
        var findings = ScalarHazards.Find(typeof(ScalarLifetimeTests).Assembly).Where(f => f.StartsWith(nameof(Hazards), StringComparison.Ordinal)).ToList();
        Assert.Contains(findings, f => f.Contains("op_Addition(Tensor,Tensor)", StringComparison.Ordinal));
        Assert.Contains(findings, f => f.Contains("square()", StringComparison.Ordinal));
        Assert.Contains(findings, f => f.Contains("add_(Scalar)", StringComparison.Ordinal));
        Assert.Contains(findings, f => f.Contains("op_Multiply(Tensor,Double)", StringComparison.Ordinal));
        Assert.Contains(findings, f => f.Contains("Scalar.op_Implicit", StringComparison.Ordinal));
        Assert.Contains(findings, f => f.Contains("ToScalar(Double) not kept", StringComparison.Ordinal));
        Assert.DoesNotContain(findings, f => f.Contains(nameof(Hazards.Safe), StringComparison.Ordinal));
    }

    /// <summary>Never run: the scan reads their IL.</summary>
    private static class Hazards
    {
        public static Tensor Sum(Tensor a, Tensor b) => a + b;
        public static Tensor Square(Tensor a) => a.square();
        public static Tensor AddInPlace(Tensor a) => a.add_(1.0.ToScalar());
        public static Tensor Times(Tensor a) => a * 2.0;
        public static Tensor Implicit(Tensor a) => a.mul((Scalar)2.0);

        public static Tensor Safe(Tensor a, Tensor b)
        {
            using var two = 2.0.ToScalar();
            return a.add(b, two).mul(two);
        }
    }
}

/// <summary>Reads method IL: which TorchSharp methods make temporary scalars (directly or through other TorchSharp methods),
/// and which methods of an assembly call them or make such temporaries themselves.</summary>
internal static class ScalarHazards
{
    private static readonly Dictionary<short, OpCode> OneByte = [];
    private static readonly Dictionary<short, OpCode> TwoByte = [];
    private static readonly Lazy<HashSet<MethodBase>> TorchSharpHazards = new(FindTorchSharpHazards);
    private const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    static ScalarHazards()
    {
        foreach (var f in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var op = (OpCode)f.GetValue(null)!;
            (op.Size == 1 ? OneByte : TwoByte)[op.Value] = op;
        }
    }

    public static List<string> Find(Assembly assembly)
    {
        var hazards = TorchSharpHazards.Value;
        var findings = new List<string>();
        foreach (var method in Methods(assembly))
        {
            var calls = Calls(method).ToList();
            for (var i = 0; i < calls.Count; i++)
            {
                var (callee, next) = calls[i];
                var where = $"{method.DeclaringType?.Name}.{method.Name}";
                if (hazards.Contains(callee)) findings.Add($"{where} -> {Describe(callee)}");
                else if (IsScalarConversion(callee) && callee.Name == "op_Implicit") findings.Add($"{where} -> Scalar.op_Implicit");
                else if (IsScalarConversion(callee) && !IsStore(next)) findings.Add($"{where} -> ToScalar({callee.GetParameters()[0].ParameterType.Name}) not kept in a variable or field");
            }
        }
        return findings.Distinct().ToList();
    }

    private static bool IsScalarConversion(MethodBase m) =>
        (m.DeclaringType == typeof(Scalar) && m.Name == "op_Implicit") ||
        (m.Name == "ToScalar" && m.IsStatic && m.GetParameters() is [{ ParameterType.IsPrimitive: true }]);

    private static bool IsStore(OpCode? op) =>
        op is { } o && (o == OpCodes.Stloc || o == OpCodes.Stloc_S || o == OpCodes.Stloc_0 || o == OpCodes.Stloc_1 || o == OpCodes.Stloc_2 ||
                        o == OpCodes.Stloc_3 || o == OpCodes.Stfld || o == OpCodes.Stsfld);

    private static string Describe(MethodBase m) => $"{m.DeclaringType?.Name}.{m.Name}({string.Join(",", m.GetParameters().Select(p => p.ParameterType.Name))})";

    private static IEnumerable<MethodBase> Methods(Assembly assembly) =>
        assembly.GetTypes().SelectMany(t => t.GetMethods(All).Cast<MethodBase>().Concat(t.GetConstructors(All)));

    /// <summary>TorchSharp methods that convert a number to a Scalar and pass it on, or call one that does.</summary>
    private static HashSet<MethodBase> FindTorchSharpHazards()
    {
        var asm = typeof(Scalar).Assembly;
        var methods = Methods(asm).ToList();
        var calls = methods.ToDictionary(m => m, m => Calls(m).Select(c => c.Callee).Where(c => c.Module == asm.ManifestModule).Distinct().ToList());
        var hazards = methods.Where(m => m.DeclaringType != typeof(Scalar) && m.Name != "ToScalar" && calls[m].Any(IsScalarConversion)).ToHashSet();
        for (var changed = true; changed;)
        {
            changed = false;
            foreach (var m in methods)
                if (!hazards.Contains(m) && m.Name != "ToScalar" && calls[m].Any(hazards.Contains)) changed = hazards.Add(m) || changed;
        }
        return hazards;
    }

    /// <summary>Every call/callvirt/newobj in the method's IL with the opcode that follows it.</summary>
    private static IEnumerable<(MethodBase Callee, OpCode? Next)> Calls(MethodBase method)
    {
        byte[]? il;
        try { il = method.GetMethodBody()?.GetILAsByteArray(); }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException or BadImageFormatException) { yield break; }
        if (il is null) yield break;
        var typeArgs = method.DeclaringType is { IsGenericType: true } dt ? dt.GetGenericArguments() : null;
        var methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        MethodBase? pending = null;
        for (var i = 0; i < il.Length;)
        {
            var op = il[i] == 0xFE ? TwoByte[(short)(0xFE00 | il[i + 1])] : OneByte[il[i]];
            if (pending is not null) { yield return (pending, op); pending = null; }
            i += op.Size;
            if (op == OpCodes.Call || op == OpCodes.Callvirt || op == OpCodes.Newobj)
            {
                try { pending = method.Module.ResolveMethod(BitConverter.ToInt32(il, i), typeArgs, methodArgs); }
                catch (Exception e) when (e is ArgumentException or BadImageFormatException or TypeLoadException or MissingMethodException) { }
            }
            i += op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + (4 * BitConverter.ToInt32(il, i)),
                _ => 4,
            };
        }
        if (pending is not null) yield return (pending, null);
    }
}

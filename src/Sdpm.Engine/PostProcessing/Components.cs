using Sdpm.Engine.Torch;
using static TorchSharp.torch;

namespace Sdpm.Engine.PostProcessing;

/// <summary>3-D connected components of a slice-stack mask [S,1,H,W] (6-connectivity: in-plane neighbours and the same
/// pixel on the adjacent slices of the stack).</summary>
public static class Components
{
    /// <summary>The mask without its components of fewer than minVoxels voxels.</summary>
    public static Tensor RemoveSmall(Tensor mask, int minVoxels)
    {
        var shape = mask.shape;
        var (s, h, w) = ((int)shape[0], (int)shape[2], (int)shape[3]);
        using var scope = NewDisposeScope();
        var data = Tensors.ToArray(mask);
        var labels = Label(data, s, h, w, out var sizes);
        var kept = new float[data.Length];
        for (var i = 0; i < data.Length; i++) kept[i] = labels[i] > 0 && sizes[labels[i]] >= minVoxels ? 1f : 0f;
        return Tensors.From(kept, shape, mask.device).MoveToOuterDisposeScope();
    }

    /// <summary>Labels foreground voxels (&gt; 0.5) 1..K by flood fill; sizes[k] is the voxel count of component k.</summary>
    public static int[] Label(float[] data, int s, int h, int w, out int[] sizes)
    {
        var labels = new int[data.Length];
        var counts = new List<int> { 0 };
        var stack = new Stack<int>();
        var plane = h * w;
        for (var i = 0; i < data.Length; i++)
        {
            if (data[i] <= 0.5f || labels[i] != 0) continue;
            var label = counts.Count;
            var n = 0;
            labels[i] = label;
            stack.Push(i);
            while (stack.Count > 0)
            {
                var v = stack.Pop();
                n++;
                var z = v / plane;
                var y = v % plane / w;
                var x = v % w;
                void Visit(int u)
                {
                    if (data[u] > 0.5f && labels[u] == 0)
                    {
                        labels[u] = label;
                        stack.Push(u);
                    }
                }
                if (x > 0) Visit(v - 1);
                if (x < w - 1) Visit(v + 1);
                if (y > 0) Visit(v - w);
                if (y < h - 1) Visit(v + w);
                if (z > 0) Visit(v - plane);
                if (z < s - 1) Visit(v + plane);
            }
            counts.Add(n);
        }
        sizes = counts.ToArray();
        return labels;
    }
}

using System.Text.Json;
using Sdpm.Portal.Components.Shared;

namespace Sdpm.Portal.Tests.Components;

/// <summary>The viewer's OnViewerState payload (js/viewer/core.js getState) as Blazor deserialises it (web defaults).</summary>
public class ViewerStateJsonTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    [Fact]
    public void AStateWithoutAnnotationHasNone()
    {
        var json = """{"slice":10,"sliceCount":20,"position":10,"level":40,"width":80,"preset":"brain","zoom":1.24,"tool":"windowLevel","smooth":false,"loading":false,"error":null,"overlays":[],"annotation":null}""";
        var state = JsonSerializer.Deserialize<SliceViewer.ViewerState>(json, Web)!;
        Assert.Equal(10, state.Slice);
        Assert.Null(state.Annotation);
    }

    [Fact]
    public void TheAnnotationFiguresArriveInTheStateMessage()
    {
        var json = """{"slice":10,"sliceCount":20,"position":10,"level":40,"width":80,"preset":null,"zoom":1.24,"tool":"brush","smooth":false,"loading":false,"error":null,"overlays":[{"id":"annotation","name":"Annotation","visible":true,"opacity":0.5,"color":"#30c8ff","outline":false,"status":"ready"}],"annotation":{"tool":"brush","brushSize":12,"huRange":[50,90],"huPreset":"haemorrhage","invert":false,"volumeMl":1.234,"voxels":1148,"lesionSlices":[9,10,11],"canUndo":true,"canRedo":false,"dirtyCount":3}}""";
        var a = JsonSerializer.Deserialize<SliceViewer.ViewerState>(json, Web)!.Annotation!;
        Assert.Equal("brush", a.Tool);
        Assert.Equal(12, a.BrushSize);
        Assert.Equal("haemorrhage", a.HuPreset);
        Assert.Equal(1148, a.Voxels);
        Assert.Equal(1.234, a.VolumeMl);
        Assert.Equal([9, 10, 11], a.LesionSlices);
        Assert.True(a.CanUndo);
        Assert.False(a.CanRedo);
        Assert.Equal(3, a.DirtyCount);
    }

    [Fact]
    public void ALinkedViewerSaysSoAndAViewerOutsideAGroupSaysNothing()
    {
        var linked = """{"slice":3,"sliceCount":20,"position":15,"level":40,"width":80,"preset":"brain","zoom":1.2,"tool":"windowLevel","smooth":false,"loading":false,"error":null,"overlays":[],"annotation":null,"linked":false}""";
        var alone = """{"slice":3,"sliceCount":20,"position":15,"level":40,"width":80,"preset":"brain","zoom":1.2,"tool":"windowLevel","smooth":false,"loading":false,"error":null,"overlays":[],"annotation":null,"linked":null}""";
        Assert.False(JsonSerializer.Deserialize<SliceViewer.ViewerState>(linked, Web)!.Linked);
        Assert.Null(JsonSerializer.Deserialize<SliceViewer.ViewerState>(alone, Web)!.Linked);
    }
}

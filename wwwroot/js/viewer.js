// CT slice viewer for the portal (plain ES modules, no dependencies).
//
//   const mod = await JS.InvokeAsync<IJSObjectReference>("import", "./js/viewer.js");
//   const viewer = await mod.InvokeAsync<IJSObjectReference>("createViewer", element, new { dotNet });
//   await viewer.InvokeAsync<ViewerState>("load", new { baseUrl, dims, spacing, origin, window, overlays });
//
// createViewer(element, { dotNet?, labels?, cacheBytes?, prefetch? }) -> viewer
//   element: an empty container div with a size; the viewer fills it (styles: css/viewer.css).
// viewer.load({ baseUrl, dims: [X,Y,Z], spacing: [sx,sy,sz], origin?, initialSlice?, window?: {level,width},
//               overlays?: [{ id, name, url, color, opacity, visible, outline }], caseName? }) -> Promise<state>
// viewer.setSlice(z) -> Promise<bool drawn>     viewer.getState() -> state
// viewer.setWindow(level, width)                viewer.setPreset('brain'|'stroke'|'subdural'|'bone')
// viewer.setOverlay(id, { visible?, opacity?, color?, outline? })
// viewer.addOverlay(def) -> Promise<overlay state>   viewer.removeOverlay(id) -> bool
// viewer.fit()  viewer.reset()  viewer.setTool('windowLevel'|'pan'|'zoom'|'none')  viewer.dispose()
// For later tools: registerTool, getOverlayMask, getOverlayVolume, redraw, voxelToClient, clientToVoxel,
// zoomAt, panBy, setSmooth, toggleHelp, whenDrawn, stats.
// state = { slice, sliceCount, position, level, width, preset, zoom, tool, smooth, loading, error,
//           overlays: [{ id, name, visible, opacity, color, outline, status }] }
// With options.dotNet the viewer calls dotNet.invokeMethodAsync('OnViewerState', state) at most
// five times a second, and once more after changes settle.
//
// The pieces live in ./viewer/: core (state, input, frames), slices (fetch + LRU cache),
// renderer (canvas), overlays + srle (masks), tools (drag interactions), ui (DOM).

export { createViewer, PRESETS } from "./viewer/core.js";
export { decodeSrle, MaskVolume, SrleError } from "./viewer/srle.js";

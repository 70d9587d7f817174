// CT slice viewer for the portal (plain ES modules, no dependencies).
//
//   const mod = await JS.InvokeAsync<IJSObjectReference>("import", "./js/viewer.js");
//   const viewer = await mod.InvokeAsync<IJSObjectReference>("createViewer", element, new { dotNet });
//   await viewer.InvokeAsync<ViewerState>("load", new { baseUrl, dims, spacing, origin, window, overlays });
//
// createViewer(element, { dotNet?, labels?, cacheBytes?, prefetch?, sync? }) -> viewer
//   element: an empty container div with a size; the viewer fills it (styles: css/viewer.css).
//   sync: a group name; viewers of one group (side-by-side review of one case) follow each other's slice, window,
//   zoom/pan and tool in the browser, and show a crosshair at the pointer's voxel (viewer/sync.js).
//   viewer.setLinked(bool) (key L) links / unlinks the group; findSyncGroup(name) -> group | null.
// viewer.load({ baseUrl, dims: [X,Y,Z], spacing: [sx,sy,sz], origin?, initialSlice?, window?: {level,width},
//               overlays?: [{ id, name, url, color, opacity, visible, outline }], caseName? }) -> Promise<state>
// viewer.setSlice(z) -> Promise<bool drawn>     viewer.getState() -> state
// viewer.setWindow(level, width)                viewer.setPreset('brain'|'stroke'|'subdural'|'bone')
// viewer.setOverlay(id, { visible?, opacity?, color?, outline? })   viewer.setOverlays([{ id, props }]) (several, one frame)
// viewer.addOverlay(def) -> Promise<overlay state>   viewer.removeOverlay(id) -> bool
// viewer.fit()  viewer.reset()  viewer.setTool('windowLevel'|'pan'|'zoom'|'none')  viewer.dispose()
// For later tools: registerTool, getOverlayMask, getOverlayVolume, redraw, voxelToClient, clientToVoxel,
// zoomAt, panBy, setSmooth, toggleHelp, whenDrawn, stats.
// state = { slice, sliceCount, position, level, width, preset, zoom, tool, smooth, loading, error,
//           overlays: [{ id, name, visible, opacity, color, outline, status }], linked: true|false|null (in a sync group or not),
//           annotation: null | { tool, brushSize, huRange: [lo,hi]|null, huPreset, invert, huLimitsErase, volumeMl, voxels,
//                                 lesionSlices: [z...], canUndo, canRedo, dirtyCount } }
//
// Annotation (viewer/annotate.js; everything runs on per-slice masks in the browser):
// viewer.startAnnotation({ overlayId = 'annotation', name?, color?, opacity?, brushSize? = 10, huRange?: [lo,hi],
//     huPreset?: 'haemorrhage'|'infarct', invert?, huLimitsErase?, fillCap? = 20000, onChange? }) -> annotator
//   (creates an empty overlay `overlayId` when there is none; a second call returns the running annotator
//   with the given settings applied). viewer.stopAnnotation()  viewer.getAnnotator() -> annotator | null
// annotator.setTool('brush'|'eraser'|'freehand'|'polygon'|'fill')  .setBrushSize(n) (1..200 voxels)
//   .setHuRange(lo, hi) / .setHuRange(null)  .setHuPreset('haemorrhage' (50..90)|'infarct' (10..30)|null)
//   .setInvert(bool) (paint outside the range)  .setHuLimitsErase(bool)  .setFillCap(n)
//   .undo() -> bool  .redo() -> bool  .canUndo  .canRedo  (200 steps; a step = the flipped voxels per slice)
//   .getVolumeMl()  .getVoxelCount()  .getLesionSlices() -> [z]  .getSliceMask(z) -> Uint8Array (live)
//   .takeDirtySlices() -> [z] (changed since the last call, then cleared)  .loadMask(srleBytes | MaskVolume)
//   .floodFill(x, y, { z?, erase?, cap? }) -> { filled, reached, capped, x, y, z }
//   .fillPolygon([{x,y}...], { z?, erase? }) -> voxels changed  .addPolygonPoint(x, y)  .closePolygon()  .cancelPolygon()
//   .interpolate(a?, b?) -> [filled z]  (no arguments: every gap between labelled slices; one undo step)
//   .onChange(fn) -> unsubscribe; fn({ ...annotator.state(), dirtySlices: [z], reason })
//   .state()  .stats -> { segments, latency: {n, median, p95, max}, paint: {...}, lastFill, historySteps, redoSteps }
//   .resetStats()  .dispose()
// Keys while annotating: B brush, E eraser on/off, [ / ] brush size, Ctrl+drag erase, C freehand contour,
// N polygon (click points; double-click or Enter closes, Esc cancels), G flood fill, I fill between slices,
// U HU range off/haemorrhage/infarct, Ctrl+Z undo, Ctrl+Shift+Z or Ctrl+Y redo.
// With options.dotNet the viewer calls dotNet.invokeMethodAsync('OnViewerState', state) at most
// five times a second, and once more after changes settle.
//
// The pieces live in ./viewer/: core (state, input, frames), slices (fetch + LRU cache),
// renderer (canvas), overlays + srle (masks), tools (drag interactions), ui (DOM), annotate (annotation tools),
// sync (linked viewers).

export { createViewer, PRESETS } from "./viewer/core.js";
export { decodeSrle, MaskVolume, SrleError } from "./viewer/srle.js";
export { findSyncGroup } from "./viewer/sync.js";

// CT slice viewer for the portal. Import from Blazor with
//   await JS.InvokeAsync<IJSObjectReference>("import", "./js/viewer.js")
// and call createViewer(element, { dotNet }) on an empty container div that has a height.
// The pieces live in ./viewer/: core (state, input, frames), slices (fetch + LRU cache),
// renderer (canvas), overlays + srle (masks), tools (drag interactions), ui (DOM).
// Styles: wwwroot/css/viewer.css.

export { createViewer, PRESETS } from "./viewer/core.js";
export { decodeSrle, MaskVolume, SrleError } from "./viewer/srle.js";

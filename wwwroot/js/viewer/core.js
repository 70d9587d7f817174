// Viewer core: state, frame scheduling, input handling, .NET notifications.
// Collaborators: SliceStore (data), Renderer (pixels), OverlayLayer (masks), tools, ViewerUi (DOM).

import { SliceStore } from "./slices.js";
import { Renderer } from "./renderer.js";
import { OverlayLayer, HeatLayer, differenceVolume } from "./overlays.js";
import { MaskVolume, maskToRuns } from "./srle.js";
import { defaultTools } from "./tools.js";
import { ViewerUi, DEFAULT_LABELS, format } from "./ui.js";
import { Annotator } from "./annotate.js";
import { joinSyncGroup } from "./sync.js";

export const PRESETS = Object.freeze({
    brain: Object.freeze({ level: 40, width: 80, label: "Brain" }),
    stroke: Object.freeze({ level: 32, width: 8, label: "Stroke" }),
    subdural: Object.freeze({ level: 75, width: 215, label: "Subdural" }),
    bone: Object.freeze({ level: 600, width: 2800, label: "Bone" }),
});

const PRESET_KEYS = { 1: "brain", 2: "stroke", 3: "subdural", 4: "bone" };
const TOOL_KEYS = { w: "windowLevel", p: "pan", z: "zoom" };
const STALE_MS = 80; // an uncached slice dims the previous image after this long
const NOTIFY_MS = 200; // at most 5 state messages a second to .NET
const WHEEL_STEP = 50; // wheel delta (px) per slice for trackpads; a mouse notch is one slice

/**
 * Creates a viewer inside `element` (an empty container div; give it a height).
 * @param {HTMLElement} element
 * @param {{ dotNet?: any, labels?: object, cacheBytes?: number, prefetch?: number, sync?: string }} [options]
 *   sync: the name of a group of linked viewers to join (see sync.js)
 */
export function createViewer(element, options = {}) {
    if (!(element instanceof HTMLElement)) {
        throw new TypeError("createViewer needs a container element");
    }
    return new Viewer(element, options ?? {});
}

class Viewer {
    constructor(element, options) {
        this.labels = { ...DEFAULT_LABELS, ...given(options.labels) };
        this.labels.tools = { ...DEFAULT_LABELS.tools, ...given(options.labels?.tools) };
        this.dotNet = options.dotNet ?? null;
        this.prefetchRadius = Math.max(0, options.prefetch ?? 3);
        this.ui = new ViewerUi(element, this.labels);
        this.renderer = new Renderer(this.ui.canvas);
        this.store = new SliceStore({
            budgetBytes: options.cacheBytes,
            onLoaded: (z) => this.onSliceLoaded(z),
            onError: (z) => this.onSliceError(z),
        });
        this.tools = defaultTools();
        this.tool = "windowLevel";
        this.overlays = [];
        this.hiddenByToggle = null;
        this.annotator = null; // set by startAnnotation()
        this.frameHooks = new Set(); // called after every frame (annotation cursor, latency marks)
        this.pendingSwitches = []; // overlay changes (performance marks) awaiting the frame that draws them
        this.switchCount = 0;
        this.volume = null;
        this.slice = 0;
        this.direction = 1;
        this.displayed = null; // the slice entry drawn last
        this.defaultWindow = { level: PRESETS.brain.level, width: PRESETS.brain.width };
        this.pointer = null; // { x, y } on the stage while hovering
        this.drag = null;
        this.wheelAccum = 0;
        this.raf = 0;
        this.needsDraw = true;
        this.staleTimer = 0;
        this.waiters = [];
        this.loadToken = 0;
        this.disposed = false;
        this.notifier = { lastSent: 0, lastJson: "", timer: 0, busy: false, again: false };
        this.events = new AbortController();
        this.peerCursor = null; // where the pointer is in a linked viewer (voxel coordinates)
        this.muteSync = false;
        this.sync = typeof options.sync === "string" && options.sync !== "" ? joinSyncGroup(options.sync, this) : null;
        this.bindEvents();
        this.observeSize();
        this.updateTexts();
        this.updateCursor();
    }

    // ---------------------------------------------------------------- public API

    /**
     * Loads a volume; resolves with the state once the first slice is drawn, rejects with a
     * readable Error when that slice cannot be loaded.
     */
    async load(def) {
        this.ensureAlive();
        const dims = checkVector(def?.dims, "dims", true);
        const spacing = def.spacing ? checkVector(def.spacing, "spacing", false) : [1, 1, 1];
        const origin = Array.isArray(def.origin) && def.origin.length === 3 ? def.origin.map(Number) : null;
        if (typeof def.baseUrl !== "string") {
            throw new TypeError("load() needs a baseUrl");
        }
        const token = ++this.loadToken;
        this.settleWaiters(false);
        if (this.annotator) this.stopAnnotation(); // its mask belongs to the previous volume
        for (const o of this.overlays) o.dispose();
        this.overlays = [];
        this.pendingSwitches = [];
        this.hiddenByToggle = null;
        this.store.configure(def.baseUrl, dims);
        this.volume = { baseUrl: def.baseUrl, dims, spacing, origin, caseName: def.caseName ?? def.name ?? this.labels.caseName ?? "" };
        this.renderer.setVolume(dims, spacing);
        this.displayed = null;
        const level = Number(def.window?.level);
        const width = Number(def.window?.width);
        this.defaultWindow = Number.isFinite(level) && Number.isFinite(width) && width > 0
            ? { level, width }
            : { level: PRESETS.brain.level, width: PRESETS.brain.width };
        this.renderer.setWindow(this.defaultWindow.level, this.defaultWindow.width);
        // A viewer joining linked ones that are already in use opens where they are, not at its own first slice.
        const leader = this.sync?.leaderFor(this, dims) ?? null;
        if (leader) {
            const w = leader.getWindow();
            this.renderer.setWindow(w.level, w.width);
            if (this.tools.has(leader.tool)) this.tool = leader.tool;
            this.updateCursor();
        }
        const drawn = this.whenDrawn();
        for (const o of def.overlays ?? []) {
            this.addOverlay(o).catch(() => {}); // shown in the viewer's notice line
        }
        const initial = leader ? leader.slice : def.initialSlice ?? Math.floor(dims[2] / 2);
        this.slice = -1;
        this.muteSync = true;
        try {
            this.showSlice(initial);
        } finally {
            this.muteSync = false;
        }
        const ok = await drawn;
        if (token !== this.loadToken || this.disposed) {
            throw new Error("The load was superseded by another load() or dispose()");
        }
        if (!ok) {
            throw new Error(this.sliceErrorText(this.slice) ?? "The first slice could not be drawn");
        }
        if (leader && !leader.disposed && leader.volume && this.sync?.linked) this.follow(leader, ["slice", "window", "view"]);
        return this.getState();
    }

    /** Shows slice z (0-based, clamped). Resolves true once it is drawn, false if it failed. */
    setSlice(z) {
        this.ensureAlive();
        this.showSlice(z);
        return this.whenDrawn();
    }

    /** setSlice without the promise, for the viewer's own input handlers. */
    showSlice(z) {
        if (!this.volume) return;
        const Z = this.volume.dims[2];
        z = Math.min(Z - 1, Math.max(0, Math.round(Number(z) || 0)));
        if (z !== this.slice) {
            if (this.slice >= 0) this.direction = z > this.slice ? 1 : -1;
            this.slice = z;
            this.store.want(z, this.direction, this.prefetchRadius);
            clearTimeout(this.staleTimer);
            this.staleTimer = 0;
            if (!this.store.get(z) && !this.store.errorFor(z)) {
                this.staleTimer = setTimeout(() => {
                    this.staleTimer = 0;
                    this.invalidate(false);
                }, STALE_MS);
            }
            this.invalidate(true);
            this.scheduleNotify();
            this.publish(["slice"]);
        }
    }

    getState() {
        const v = this.volume;
        const { level, width } = this.renderer;
        return {
            slice: v ? this.slice : 0,
            sliceCount: v ? v.dims[2] : 0,
            position: v ? round(this.slicePosition(this.slice), 3) : 0,
            level: round(level, 2),
            width: round(width, 2),
            preset: this.presetName(),
            zoom: round(this.renderer.zoom, 4),
            tool: this.tool,
            smooth: this.renderer.smooth,
            loading: !!v && this.currentEntry() === null && !this.store.errorFor(this.slice),
            error: v ? this.sliceErrorText(this.slice) : null,
            overlays: this.overlays.map((o) => o.state()),
            annotation: this.annotator ? this.annotator.state() : null,
            linked: this.sync ? this.sync.linked : null,
        };
    }

    getWindow() {
        return { level: this.renderer.level, width: this.renderer.width };
    }

    setWindow(level, width) {
        this.ensureAlive();
        level = Number(level);
        width = Number(width);
        if (!Number.isFinite(level) || !Number.isFinite(width)) return;
        width = Math.max(1, width);
        if (level === this.renderer.level && width === this.renderer.width) return;
        this.renderer.setWindow(level, width);
        this.invalidate(true);
        this.scheduleNotify();
        this.publish(["window"]);
    }

    setPreset(name) {
        const p = PRESETS[String(name).toLowerCase()];
        if (!p) throw new Error(`Unknown window preset "${name}" (known: ${Object.keys(PRESETS).join(", ")})`);
        this.setWindow(p.level, p.width);
    }

    /** Adds (or replaces, by id) an overlay. Resolves with its state once its mask is loaded. */
    async addOverlay(def) {
        this.ensureAlive();
        if (!this.volume) throw new Error("addOverlay() needs a loaded volume; call load() first");
        const layer = def?.kind === "heat" ? new HeatLayer(def, this.volume.dims) : new OverlayLayer(def, this.volume.dims);
        const i = this.overlays.findIndex((o) => o.id === layer.id);
        if (i >= 0) {
            this.overlays[i].dispose();
            this.overlays[i] = layer;
        } else {
            this.overlays.push(layer);
        }
        this.markSwitch(layer, "add");
        this.overlaysChanged();
        try {
            await layer.load();
        } catch (e) {
            if (e?.name === "AbortError") throw new Error(`Overlay "${layer.name}" was removed before it loaded`);
            throw e;
        } finally {
            if (!this.disposed && this.overlays.includes(layer)) this.overlaysChanged();
        }
        return layer.state();
    }

    /**
     * Adds an overlay of the voxels in overlay `a` but not in overlay `b` (both loaded): with a prediction and the
     * reference, its false positives (a = prediction) or false negatives (a = reference).
     * @param {object} def { id, name, color, a, b, opacity?, visible?, outline? }
     */
    async addDifference(def) {
        this.ensureAlive();
        const a = this.overlay(def.a);
        const b = this.overlay(def.b);
        if (a.status !== "ready" || b.status !== "ready") throw new Error(`"${def.a}" and "${def.b}" must be loaded first`);
        const mask = differenceVolume(a.volume, b.volume, MaskVolume, maskToRuns);
        return this.addOverlay({ id: def.id, name: def.name, color: def.color, opacity: def.opacity, visible: def.visible, outline: def.outline, mask });
    }

    setOverlay(id, props) {
        this.ensureAlive();
        const layer = this.overlay(id);
        layer.apply(props ?? {});
        if (props?.visible != null) this.hiddenByToggle = null;
        this.markSwitch(layer, "set");
        this.overlaysChanged();
    }

    /** Several setOverlay changes at once, drawn in one frame: [{ id, props }] (one call from .NET, e.g. one layer hidden and another shown). */
    setOverlays(changes) {
        this.ensureAlive();
        const layers = (changes ?? []).map((c) => [this.overlay(c.id), c.props ?? {}]); // an unknown id throws before anything changes
        for (const [layer, props] of layers) {
            layer.apply(props);
            if (props.visible != null) this.hiddenByToggle = null;
            this.markSwitch(layer, "set");
        }
        this.overlaysChanged();
    }

    removeOverlay(id) {
        this.ensureAlive();
        const i = this.overlays.findIndex((o) => o.id === id);
        if (i < 0) return false;
        this.overlays[i].dispose();
        this.overlays.splice(i, 1);
        this.markSwitch(null, "remove", id);
        this.overlaysChanged();
        return true;
    }

    /** The 0/1 mask of overlay `id` at slice z, for painting tools (call redraw(id, z) after writing). */
    getOverlayMask(id, z = this.slice) {
        const layer = this.overlay(id);
        if (layer.status !== "ready") throw new Error(`Overlay "${id}" is not loaded`);
        return layer.volume.getSlice(z);
    }

    /** The MaskVolume of overlay `id` (encode() gives SRLE bytes). */
    getOverlayVolume(id) {
        return this.overlay(id).volume;
    }

    /** Redraws after a mask was changed in place. */
    redraw(id, z) {
        if (id !== undefined) this.overlay(id).volume?.touch(z ?? this.slice);
        this.invalidate(true);
    }

    fit() {
        this.ensureAlive();
        this.renderer.fit();
        this.invalidate(true);
        this.scheduleNotify();
        this.publish(["view"]);
    }

    reset() {
        this.ensureAlive();
        this.renderer.fit();
        this.renderer.setWindow(this.defaultWindow.level, this.defaultWindow.width);
        this.invalidate(true);
        this.scheduleNotify();
        this.publish(["window", "view"]);
    }

    getZoom() {
        return this.renderer.zoom;
    }

    /** Zoom = CSS pixels per voxel along x; (x, y) in CSS pixels on the viewport stays put (default: centre). */
    zoomAt(zoom, x = this.renderer.cssWidth / 2, y = this.renderer.cssHeight / 2) {
        this.ensureAlive();
        if (!Number.isFinite(zoom) || zoom <= 0) return;
        this.renderer.zoomAt(zoom, x, y);
        this.invalidate(true);
        this.scheduleNotify();
        this.publish(["view"]);
    }

    /**
     * Where the centre of voxel (x, y) is: CSS pixels relative to the viewport (stage) and to the
     * page viewport (clientX/clientY), for tools and tests.
     */
    voxelToClient(x, y) {
        const [sx, sy] = this.renderer.voxelToCss(x + 0.5, y + 0.5);
        const r = this.ui.canvas.getBoundingClientRect();
        return { x: sx, y: sy, clientX: r.left + sx, clientY: r.top + sy };
    }

    /** The voxel (x, y, z) under a page point, or null outside the image. */
    clientToVoxel(clientX, clientY) {
        if (!this.volume) return null;
        const r = this.ui.canvas.getBoundingClientRect();
        const [fx, fy] = this.renderer.cssToVoxel(clientX - r.left, clientY - r.top);
        const x = Math.floor(fx);
        const y = Math.floor(fy);
        const [X, Y] = this.volume.dims;
        return x >= 0 && y >= 0 && x < X && y < Y ? { x, y, z: this.slice } : null;
    }

    panBy(dx, dy) {
        this.ensureAlive();
        this.renderer.panBy(dx, dy);
        this.invalidate(true);
        this.scheduleNotify();
        this.publish(["view"]);
    }

    setTool(name) {
        this.ensureAlive();
        if (!this.tools.has(name)) throw new Error(`Unknown tool "${name}" (known: ${[...this.tools.keys()].join(", ")})`);
        this.tool = name;
        this.updateCursor();
        this.invalidate(false);
        this.scheduleNotify();
        this.publish(["tool"]);
    }

    // ---------------------------------------------------------------- linked viewers (sync.js)

    /** Links or unlinks this viewer's group (no-op outside a group); linking aligns the others to this viewer. */
    setLinked(linked) {
        this.ensureAlive();
        this.sync?.setLinked(linked, this);
    }

    /** Tells the linked viewers what changed here (not while this viewer is itself following one, or loading). */
    publish(kinds) {
        if (this.sync && this.volume && !this.muteSync && !this.disposed) this.sync.publish(this, kinds);
    }

    /** Takes over what `source` (a linked viewer showing the same grid) changed. */
    follow(source, kinds) {
        if (this.disposed || !this.volume) return;
        for (const kind of kinds) {
            if (kind === "slice") {
                this.showSlice(source.slice);
            } else if (kind === "window") {
                const w = source.getWindow();
                this.setWindow(w.level, w.width);
            } else if (kind === "view") {
                this.renderer.setViewState(source.renderer.viewState());
                this.invalidate(true);
                this.scheduleNotify();
            } else if (kind === "tool" && this.tool !== source.tool && this.tools.has(source.tool)) {
                this.setTool(source.tool);
            }
        }
    }

    setPeerCursor(source, point) {
        this.peerCursor = point;
        this.invalidate(false);
    }

    clearPeerCursor() {
        if (this.peerCursor) this.setPeerCursor(null, null);
    }

    linkChanged() {
        if (this.disposed) return;
        if (!this.sync?.linked) this.peerCursor = null;
        this.invalidate(false);
        this.scheduleNotify();
    }

    /** Shows linked viewers where the pointer is (voxel coordinates), or that it left the image. */
    publishPointer() {
        if (!this.sync || !this.volume) return;
        let point = null;
        if (this.pointer) {
            const [fx, fy] = this.renderer.cssToVoxel(this.pointer.x, this.pointer.y);
            const [X, Y] = this.volume.dims;
            if (fx >= 0 && fy >= 0 && fx < X && fy < Y) point = { x: fx, y: fy };
        }
        this.sync.pointer(this, point);
    }

    /**
     * Starts annotating into overlay opts.overlayId (created empty when missing) and returns the
     * Annotator (see annotate.js). A second call returns the running one with the new settings applied.
     */
    startAnnotation(opts = {}) {
        this.ensureAlive();
        if (this.annotator && !this.annotator.disposed && (opts.overlayId ?? "annotation") === this.annotator.overlayId) {
            const a = this.annotator;
            if (opts.huPreset !== undefined) a.setHuPreset(opts.huPreset);
            else if (opts.huRange !== undefined) a.setHuRange(opts.huRange?.[0] ?? null, opts.huRange?.[1]);
            if (opts.brushSize != null) a.setBrushSize(opts.brushSize);
            if (opts.invert != null) a.setInvert(opts.invert);
            if (opts.huLimitsErase != null) a.setHuLimitsErase(opts.huLimitsErase);
            if (typeof opts.onChange === "function") a.onChange(opts.onChange);
            return a;
        }
        this.annotator?.dispose();
        this.annotator = new Annotator(this, opts ?? {});
        this.invalidate(true);
        this.scheduleNotify();
        return this.annotator;
    }

    /** Stops annotating (the mask stays as an overlay); the tool goes back to window/level. */
    stopAnnotation() {
        if (!this.annotator) return;
        const annotationTool = !this.tools.has(this.tool) || ["brush", "eraser", "freehand", "polygon", "fill"].includes(this.tool);
        this.annotator.dispose(); // unregisters its tools
        this.annotator = null;
        if (annotationTool) this.setTool("windowLevel");
        this.invalidate(true);
        this.scheduleNotify();
    }

    getAnnotator() {
        return this.annotator;
    }

    /** Registers an interaction tool (see tools.js for the shape). */
    registerTool(name, tool) {
        this.tools.set(name, { ...tool, name });
    }

    setSmooth(smooth) {
        this.renderer.smooth = !!smooth;
        this.invalidate(true);
        this.scheduleNotify();
    }

    toggleHelp(open) {
        return this.ui.toggleHelp(open);
    }

    /** Resolves true once the current slice is on the canvas, false if it failed or the viewer went away. */
    whenDrawn() {
        if (this.disposed || !this.volume) return Promise.resolve(false);
        if (!this.raf) {
            if (this.displayed && this.displayed.z === this.slice) return Promise.resolve(true);
            if (this.store.errorFor(this.slice)) return Promise.resolve(false);
        }
        return new Promise((resolve) => this.waiters.push(resolve));
    }

    /** Timings of the last frame (ms) and cache figures, for diagnostics. */
    get stats() {
        return {
            ...this.renderer.stats, cacheBytes: this.store.bytes, cachedSlices: this.store.entries.size, ...this.store.stats,
            annotation: this.annotator ? this.annotator.stats : null,
        };
    }

    dispose() {
        if (this.disposed) return;
        this.disposed = true;
        this.events.abort();
        this.annotator?.dispose();
        this.annotator = null;
        this.sync?.leave(this);
        this.resizeObserver?.disconnect();
        cancelAnimationFrame(this.raf);
        clearTimeout(this.staleTimer);
        clearTimeout(this.notifier.timer);
        this.store.dispose();
        for (const o of this.overlays) o.dispose();
        this.overlays = [];
        this.pendingSwitches = [];
        this.settleWaiters(false);
        this.ui.destroy();
        this.volume = null;
        this.dotNet = null;
    }

    // ---------------------------------------------------------------- frames

    invalidate(draw) {
        if (this.disposed) return;
        if (draw) this.needsDraw = true;
        if (!this.raf) this.raf = requestAnimationFrame(() => this.frame());
    }

    frame() {
        cancelAnimationFrame(this.raf);
        this.raf = 0;
        if (this.disposed) return;
        const current = this.currentEntry();
        if (current) {
            this.displayed = current;
            clearTimeout(this.staleTimer);
            this.staleTimer = 0;
        }
        if (this.needsDraw) {
            this.needsDraw = false;
            const error = this.volume ? this.store.errorFor(this.slice) : null;
            // A failed slice leaves the canvas empty (the error text says why); a loading one keeps
            // the previous image, dimmed after STALE_MS, never a slice that arrives out of order.
            const entry = current ?? (error ? null : this.displayed);
            const layers = [];
            if (entry) {
                for (const o of this.overlays) {
                    const image = o.imageFor(entry.z);
                    if (image) layers.push({ image, opacity: o.opacity });
                }
            }
            this.renderer.render(entry, layers);
            if (entry) this.measureSwitches();
        }
        this.updateTexts();
        for (const hook of this.frameHooks) hook();
        if (current || (this.volume && this.store.errorFor(this.slice))) {
            this.settleWaiters(!!current);
        }
    }

    currentEntry() {
        if (!this.volume) return null;
        return this.store.entries.get(this.slice) ?? null;
    }

    onSliceLoaded(z) {
        if (z === this.slice) {
            this.invalidate(true);
            this.scheduleNotify();
        }
    }

    onSliceError(z) {
        if (z === this.slice) {
            this.invalidate(true);
            this.scheduleNotify();
        }
    }

    settleWaiters(ok) {
        const waiters = this.waiters;
        this.waiters = [];
        for (const resolve of waiters) resolve(ok);
    }

    // ---------------------------------------------------------------- texts

    updateTexts() {
        const ui = this.ui;
        const v = this.volume;
        if (!v) {
            ui.setText(ui.sliceInfo, "");
            ui.setText(ui.windowInfo, "");
            ui.setText(ui.zoomInfo, "");
            ui.setHidden(ui.huInfo, true);
            ui.showStatus(null);
            return;
        }
        const Z = v.dims[2];
        const n = this.slice + 1;
        const unlinked = this.sync && !this.sync.linked ? `\n${this.labels.unlinked}` : "";
        ui.setText(ui.sliceInfo, `${this.labels.slice} ${n} / ${Z}\n${this.labels.position} ${formatMm(this.slicePosition(this.slice))}${unlinked}`);
        const { level, width } = this.renderer;
        const preset = this.presetName();
        ui.setText(ui.windowInfo, `W ${fmtNum(width)} L ${fmtNum(level)}${preset ? `\n${PRESETS[preset].label}` : ""}`);
        const tool = this.labels.tools[this.tool] ?? this.tool;
        ui.setText(ui.zoomInfo, this.annotator
            ? `${this.labels.zoom} ${Math.round(this.renderer.zoom * 100)} %\n${this.annotator.cornerText()}`
            : `${this.labels.zoom} ${Math.round(this.renderer.zoom * 100)} %  ·  ${tool}`);
        ui.setSlider(Z, this.slice);

        const current = this.currentEntry();
        const errorText = this.sliceErrorText(this.slice);
        if (errorText) {
            ui.showStatus("error", errorText, true);
        } else if (!current && (!this.displayed || !this.staleTimer)) {
            ui.showStatus("loading", this.displayed ? format(this.labels.loadingSlice, { n }) : this.labels.loading);
        } else {
            ui.showStatus(null);
        }
        ui.setStale(!current && !errorText && !!this.displayed && !this.staleTimer);

        // HU under the cursor, only from the slice that is actually shown and current.
        let hu = null;
        if (this.pointer && current) {
            const [fx, fy] = this.renderer.cssToVoxel(this.pointer.x, this.pointer.y);
            const x = Math.floor(fx);
            const y = Math.floor(fy);
            const [X, Y] = v.dims;
            if (x >= 0 && y >= 0 && x < X && y < Y) {
                hu = `HU ${current.hu[y * X + x]}\n(${x}, ${y}, ${this.slice})`;
            }
        }
        ui.setHidden(ui.huInfo, hu === null);
        if (hu !== null) ui.setText(ui.huInfo, hu);

        // Where the pointer is in a linked viewer, at the same voxel here.
        const pc = this.peerCursor;
        if (pc && this.displayed && !this.pointer) {
            const [cx, cy] = this.renderer.voxelToCss(pc.x, pc.y);
            ui.setCrosshair(cx, cy);
        } else {
            ui.setCrosshair(null);
        }

        ui.setLegend(this.overlays.map((o) => o.state()));
        ui.setNotice(this.overlays.filter((o) => o.status === "error").map((o) => o.error));
        const caseName = v.caseName ? `${v.caseName}, ` : "";
        const label = format(this.labels.canvas, { case: caseName, n, count: Z, width: fmtNum(width), level: fmtNum(level) });
        if (ui.canvas.getAttribute("aria-label") !== label) ui.canvas.setAttribute("aria-label", label);
    }

    sliceErrorText(z) {
        const err = this.store.errorFor(z);
        if (!err) return null;
        const n = z + 1;
        if (err.kind === "http") return format(this.labels.sliceError, { n, status: err.status });
        if (err.kind === "size") return format(this.labels.sliceSizeError, { n, detail: err.message });
        return format(this.labels.sliceNetworkError, { n });
    }

    slicePosition(z) {
        const v = this.volume;
        return (v.origin ? v.origin[2] : 0) + z * v.spacing[2];
    }

    presetName() {
        const { level, width } = this.renderer;
        for (const [name, p] of Object.entries(PRESETS)) {
            if (p.level === level && p.width === width) return name;
        }
        return null;
    }

    overlay(id) {
        const layer = this.overlays.find((o) => o.id === id);
        if (!layer) throw new Error(`No overlay "${id}"`);
        return layer;
    }

    overlaysChanged() {
        this.invalidate(true);
        this.scheduleNotify();
    }

    /** Marks the start of an overlay change (a layer added, changed or removed) for measureSwitches(). */
    markSwitch(layer, action, id = layer?.id) {
        const mark = `sdpm-overlay-switch-${++this.switchCount}`;
        performance.mark(mark);
        this.pendingSwitches.push({ mark, layer, action, id });
    }

    /**
     * After a frame drew the slice: measures each pending overlay change from its call to the end of this frame
     * (performance.measure "sdpm-overlay-switch", detail { id, action }). An added layer counts once its data is loaded
     * and drawn; one that failed or was removed before it loaded is dropped.
     */
    measureSwitches() {
        if (this.pendingSwitches.length === 0) return;
        const now = performance.now();
        const waiting = [];
        for (const s of this.pendingSwitches) {
            if (s.layer && s.layer.status === "loading" && this.overlays.includes(s.layer)) {
                waiting.push(s);
                continue;
            }
            if (!s.layer || s.layer.status === "ready") {
                try {
                    performance.measure("sdpm-overlay-switch", { start: s.mark, end: now, detail: { id: s.id, action: s.action } });
                } catch {}
            }
            performance.clearMarks(s.mark);
        }
        this.pendingSwitches = waiting;
        performance.clearMeasures("sdpm-overlay-switch");
    }

    toggleOverlays() {
        if (this.overlays.length === 0) return;
        if (this.hiddenByToggle) {
            for (const o of this.overlays) {
                if (this.hiddenByToggle.has(o.id)) o.visible = true;
            }
            this.hiddenByToggle = null;
        } else {
            const visible = this.overlays.filter((o) => o.visible);
            if (visible.length === 0) {
                for (const o of this.overlays) o.visible = true;
            } else {
                for (const o of visible) o.visible = false;
                this.hiddenByToggle = new Set(visible.map((o) => o.id));
            }
        }
        this.overlaysChanged();
    }

    // ---------------------------------------------------------------- .NET state messages

    scheduleNotify() {
        const n = this.notifier;
        if (!this.dotNet || this.disposed || n.timer) return;
        const wait = NOTIFY_MS - (performance.now() - n.lastSent);
        if (wait <= 0 && !n.busy) {
            this.sendState();
        } else {
            n.timer = setTimeout(() => {
                n.timer = 0;
                if (n.busy) n.again = true;
                else this.sendState();
            }, Math.max(wait, 16));
        }
    }

    sendState() {
        const n = this.notifier;
        if (!this.dotNet || this.disposed) return;
        const state = this.getState();
        const json = JSON.stringify(state);
        if (json === n.lastJson) return;
        n.lastJson = json;
        n.lastSent = performance.now();
        n.busy = true;
        Promise.resolve()
            .then(() => this.dotNet.invokeMethodAsync("OnViewerState", state))
            .catch((e) => console.debug("viewer: OnViewerState failed", e))
            .finally(() => {
                n.busy = false;
                if (n.again) {
                    n.again = false;
                    this.scheduleNotify();
                }
            });
    }

    // ---------------------------------------------------------------- input

    bindEvents() {
        const { root, canvas, slider, helpButton, helpClose, retryButton } = this.ui;
        const opts = { signal: this.events.signal };
        canvas.addEventListener("pointerdown", (e) => this.onPointerDown(e), opts);
        canvas.addEventListener("pointermove", (e) => this.onPointerMove(e), opts);
        canvas.addEventListener("pointerup", (e) => this.endDrag(e), opts);
        canvas.addEventListener("pointercancel", (e) => this.endDrag(e), opts);
        canvas.addEventListener("lostpointercapture", (e) => this.endDrag(e), opts);
        canvas.addEventListener("pointerleave", () => {
            if (!this.drag) {
                this.pointer = null;
                this.invalidate(false);
                this.publishPointer();
            }
        }, opts);
        canvas.addEventListener("contextmenu", (e) => e.preventDefault(), opts);
        // Keyboard shortcuts follow focus: clicking the image focuses the viewer.
        canvas.addEventListener("pointerdown", () => root.focus({ preventScroll: true }), opts);
        root.addEventListener("wheel", (e) => this.onWheel(e), { ...opts, passive: false });
        root.addEventListener("keydown", (e) => this.onKeyDown(e), opts);
        slider.addEventListener("input", () => this.showSlice(Number(slider.value)), opts);
        helpButton.addEventListener("click", () => this.ui.toggleHelp(), opts);
        helpClose.addEventListener("click", () => {
            this.ui.toggleHelp(false);
            root.focus({ preventScroll: true });
        }, opts);
        retryButton.addEventListener("click", () => {
            if (!this.volume) return;
            this.store.retry(this.slice);
            this.invalidate(true);
        }, opts);
    }

    stagePoint(e) {
        const r = this.ui.canvas.getBoundingClientRect();
        return { x: e.clientX - r.left, y: e.clientY - r.top };
    }

    onPointerDown(e) {
        if (!this.volume || this.drag) return;
        const name = e.button === 0 ? this.tool : e.button === 1 ? "pan" : e.button === 2 ? "windowLevel" : null;
        const tool = name && this.tools.get(name);
        if (!tool) return;
        if (e.button === 1) e.preventDefault(); // no autoscroll
        const p = this.stagePoint(e);
        const session = tool.start(this, { ...p, dx: 0, dy: 0, event: e });
        if (!session) return;
        e.preventDefault();
        this.drag = { session, tool, pointerId: e.pointerId, x0: p.x, y0: p.y };
        this.ui.canvas.setPointerCapture(e.pointerId);
        this.updateCursor();
    }

    onPointerMove(e) {
        const p = this.stagePoint(e);
        this.pointer = p;
        if (this.drag && e.pointerId === this.drag.pointerId) {
            this.drag.session.move({ ...p, dx: p.x - this.drag.x0, dy: p.y - this.drag.y0, event: e });
        }
        this.invalidate(false);
        this.publishPointer();
    }

    endDrag(e) {
        const drag = this.drag;
        if (!drag || e.pointerId !== drag.pointerId) return;
        this.drag = null;
        const p = this.stagePoint(e);
        drag.session.end?.({ ...p, dx: p.x - drag.x0, dy: p.y - drag.y0, event: e });
        if (this.ui.canvas.hasPointerCapture(e.pointerId)) this.ui.canvas.releasePointerCapture(e.pointerId);
        const inside = p.x >= 0 && p.y >= 0 && p.x < this.renderer.cssWidth && p.y < this.renderer.cssHeight;
        this.pointer = inside ? p : null;
        this.invalidate(false);
        this.publishPointer();
        this.updateCursor();
        this.scheduleNotify();
    }

    updateCursor() {
        const tool = this.tools.get(this.tool);
        const active = this.drag?.tool;
        this.ui.setCursor((active && (active.dragCursor ?? active.cursor)) || tool?.cursor || "default");
    }

    onWheel(e) {
        if (!this.volume || this.ui.helpPanel.contains(e.target)) return;
        e.preventDefault();
        const unit = e.deltaMode === 1 ? 33 : e.deltaMode === 2 ? this.renderer.cssHeight : 1;
        const delta = e.deltaY * unit;
        if (e.ctrlKey || e.metaKey) {
            const p = this.stagePoint(e);
            this.zoomAt(this.renderer.zoom * Math.exp(-delta * 0.002), p.x, p.y);
            return;
        }
        let step = 0;
        if (Math.abs(delta) >= WHEEL_STEP) {
            step = Math.sign(delta);
            this.wheelAccum = 0;
        } else {
            this.wheelAccum += delta;
            if (Math.abs(this.wheelAccum) >= WHEEL_STEP) {
                step = Math.sign(this.wheelAccum);
                this.wheelAccum = 0;
            }
        }
        if (step) this.showSlice(this.slice + step);
    }

    onKeyDown(e) {
        if (e.defaultPrevented) return;
        const t = e.target;
        if (t !== this.ui.root && t !== this.ui.slider && t !== this.ui.canvas && isTextEntry(t)) return;
        if (this.annotator && this.volume && this.annotator.onKeyDown(e)) {
            e.preventDefault();
            return;
        }
        if (e.ctrlKey || e.metaKey || e.altKey) return;
        if (e.key === "Escape" && this.ui.helpOpen) {
            this.ui.toggleHelp(false);
            this.ui.root.focus({ preventScroll: true });
            e.preventDefault();
            return;
        }
        if (e.key === "?" || e.key === "h" || e.key === "H") {
            this.ui.toggleHelp();
            e.preventDefault();
            return;
        }
        if (!this.volume) return;
        const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
        let handled = true;
        switch (key) {
            case "ArrowUp": this.showSlice(this.slice - 1); break;
            case "ArrowDown": this.showSlice(this.slice + 1); break;
            case "PageUp": this.showSlice(this.slice - 5); break;
            case "PageDown": this.showSlice(this.slice + 5); break;
            case "Home": this.showSlice(0); break;
            case "End": this.showSlice(this.volume.dims[2] - 1); break;
            case "f": this.fit(); break;
            case "r": this.reset(); break;
            case "o": this.toggleOverlays(); break;
            case "s": this.setSmooth(!this.renderer.smooth); break;
            case "l":
                if (this.sync) this.setLinked(!this.sync.linked);
                else handled = false;
                break;
            default:
                if (PRESET_KEYS[key]) this.setPreset(PRESET_KEYS[key]);
                else if (TOOL_KEYS[key] && this.tools.has(TOOL_KEYS[key])) this.setTool(TOOL_KEYS[key]);
                else handled = false;
        }
        if (handled) e.preventDefault();
    }

    // ---------------------------------------------------------------- size

    observeSize() {
        const canvas = this.ui.canvas;
        this.resizeObserver = new ResizeObserver((entries) => {
            const entry = entries[entries.length - 1];
            const box = entry.devicePixelContentBoxSize?.[0];
            this.applySize(entry.contentRect.width, entry.contentRect.height, box?.inlineSize, box?.blockSize);
        });
        try {
            this.resizeObserver.observe(canvas, { box: "device-pixel-content-box" });
        } catch {
            this.resizeObserver.observe(canvas);
        }
        this.watchPixelRatio();
    }

    /** Re-measures when devicePixelRatio changes (browser zoom, another monitor). */
    watchPixelRatio() {
        if (this.disposed) return;
        const mq = window.matchMedia(`(resolution: ${window.devicePixelRatio || 1}dppx)`);
        mq.addEventListener("change", () => {
            const r = this.ui.canvas.getBoundingClientRect();
            this.applySize(r.width, r.height);
            this.watchPixelRatio();
        }, { once: true, signal: this.events.signal });
    }

    applySize(cssW, cssH, devW, devH) {
        const dpr = window.devicePixelRatio || 1;
        // Exact device pixels when the browser reports them; otherwise (or when they disagree with
        // devicePixelRatio, as under some emulations) the rounded CSS size times the ratio.
        if (!(devW > 0 && devH > 0) || Math.abs(devW - cssW * dpr) > 2 || Math.abs(devH - cssH * dpr) > 2) {
            devW = Math.round(cssW * dpr);
            devH = Math.round(cssH * dpr);
        }
        if (this.renderer.resize(cssW, cssH, devW, devH)) {
            // The canvas was cleared by the size change: draw now, before the browser paints.
            this.needsDraw = true;
            this.frame();
            this.scheduleNotify();
        }
    }

    ensureAlive() {
        if (this.disposed) throw new Error("The viewer was disposed");
    }
}

/** The entries of `obj` that are not null or undefined (.NET sends unset properties as null). */
function given(obj) {
    return Object.fromEntries(Object.entries(obj ?? {}).filter(([, v]) => v != null));
}

function isTextEntry(node) {
    if (!(node instanceof HTMLElement)) return false;
    if (node.isContentEditable) return true;
    const tag = node.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag === "INPUT") return !["range", "checkbox", "radio", "button"].includes(node.type);
    return false;
}

function checkVector(v, what, integers) {
    if (!Array.isArray(v) || v.length !== 3) throw new TypeError(`${what} must be an array of 3 numbers`);
    const out = v.map(Number);
    if (out.some((x) => !Number.isFinite(x) || x <= 0 || (integers && !Number.isInteger(x)))) {
        throw new TypeError(`${what} must hold 3 positive ${integers ? "integers" : "numbers"}, got [${v.join(", ")}]`);
    }
    return out;
}

function round(x, digits) {
    const k = 10 ** digits;
    return Math.round(x * k) / k;
}

function fmtNum(x) {
    return Number.isInteger(x) ? String(x) : x.toFixed(1);
}

function formatMm(mm) {
    return `${(Math.round(mm * 100) / 100).toFixed(Math.abs(mm) < 1000 ? 1 : 0)} mm`;
}

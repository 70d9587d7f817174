// Annotation tools on per-slice masks, all in the browser (a pointer event never waits on the server).
//
//   const a = viewer.startAnnotation({ overlayId: "annotation", name?, color?, huRange?: [lo, hi] | null,
//                                      huPreset?, invert?, huLimitsErase?, brushSize?, fillCap?, onChange? });
//
// Tools (registered on the viewer): brush, eraser, freehand, polygon, fill. They paint into the
// overlay's MaskVolume (an overlay with url null is created when missing). Every change is one
// history step holding, per changed slice, the indices that flipped (masks are 0/1, so undo and redo
// both flip the same indices).
//
// annotator.onChange(fn) -> unsubscribe; fn({ dirtySlices, volumeMl, voxels, lesionSlices, canUndo,
//   canRedo, tool, brushSize, huRange, invert, reason })
// See state(), and the API summary in ../viewer.js.

import { decodeSrle, MaskVolume } from "./srle.js";

export const HU_PRESETS = Object.freeze({
    haemorrhage: Object.freeze([50, 90]),
    infarct: Object.freeze([10, 30]),
});

export const ANNOTATION_TOOLS = ["brush", "eraser", "freehand", "polygon", "fill"];
const MAX_HISTORY = 200;
const DEFAULT_FILL_CAP = 20000;
const LATENCY_SAMPLES = 1000;

export class Annotator {
    constructor(viewer, opts = {}) {
        if (!viewer.volume) throw new Error("startAnnotation() needs a loaded volume; call load() first");
        this.viewer = viewer;
        this.overlayId = opts.overlayId ?? "annotation";
        if (!viewer.overlays.some((o) => o.id === this.overlayId)) {
            viewer.addOverlay({
                id: this.overlayId, name: opts.name ?? "Annotation", url: null,
                color: opts.color ?? "#30c8ff", opacity: opts.opacity ?? 0.5, visible: true,
            }).catch(() => {});
        }
        const [X, Y, Z] = viewer.volume.dims;
        this.X = X;
        this.Y = Y;
        this.Z = Z;
        this.spacing = viewer.volume.spacing;
        this.voxelMl = this.spacing[0] * this.spacing[1] * this.spacing[2] / 1000;
        this.brushSize = clampSize(opts.brushSize ?? 10);
        this.huRange = null;
        this.huPreset = null;
        if (opts.huPreset) this.setHuPreset(opts.huPreset, true);
        else if (Array.isArray(opts.huRange)) this.setHuRange(opts.huRange[0], opts.huRange[1], true);
        this.invert = !!opts.invert;
        this.huLimitsErase = !!opts.huLimitsErase;
        this.fillCap = Math.max(1, Math.floor(opts.fillCap ?? DEFAULT_FILL_CAP));
        this.undoStack = [];
        this.redoStack = [];
        this.dirty = new Set();
        this.listeners = new Set();
        if (typeof opts.onChange === "function") this.listeners.add(opts.onChange);
        this.counts = new Int32Array(Z);
        this.recount();
        this.stroke = null; // the brush/freehand stroke in progress
        this.polygon = null; // [{x, y}] voxel-centre points of the polygon being drawn
        this.pendingSegments = []; // performance marks awaiting the frame that draws them
        this.latencies = [];
        this.paintTimes = [];
        this.lastFill = null;
        this.lastMessage = "";
        this.changePending = false;
        this.disposed = false;
        this.lastTool = "brush";
        this.buildUi();
        this.registerTools();
        this.frameHook = () => this.afterFrame();
        viewer.frameHooks.add(this.frameHook);
        viewer.setTool("brush");
    }

    // ------------------------------------------------------------ settings

    setBrushSize(size) {
        const s = clampSize(size);
        if (s === this.brushSize) return this.brushSize;
        this.brushSize = s;
        this.changed("brushSize", false);
        return s;
    }

    /** Limits painting to HU in [lo, hi]; setHuRange(null) removes the limit. */
    setHuRange(lo, hi, quiet = false) {
        if (lo === null || lo === undefined) {
            this.huRange = null;
        } else {
            lo = Number(lo);
            hi = Number(hi);
            if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new TypeError("setHuRange needs two numbers (or null)");
            this.huRange = lo <= hi ? [lo, hi] : [hi, lo];
        }
        this.huPreset = null;
        if (!quiet) this.changed("huRange", false);
        return this.huRange;
    }

    setHuPreset(name, quiet = false) {
        if (name === null || name === undefined || name === "") {
            this.setHuRange(null, null, true);
        } else {
            const p = HU_PRESETS[String(name).toLowerCase()];
            if (!p) throw new Error(`Unknown HU preset "${name}" (known: ${Object.keys(HU_PRESETS).join(", ")})`);
            this.setHuRange(p[0], p[1], true);
            this.huPreset = String(name).toLowerCase();
        }
        if (!quiet) this.changed("huRange", false);
        return this.huRange;
    }

    setInvert(invert) {
        this.invert = !!invert;
        this.changed("huRange", false);
    }

    setHuLimitsErase(on) {
        this.huLimitsErase = !!on;
        this.changed("huRange", false);
    }

    setFillCap(cap) {
        this.fillCap = Math.max(1, Math.floor(Number(cap) || DEFAULT_FILL_CAP));
    }

    setTool(name) {
        this.viewer.setTool(name);
        if (ANNOTATION_TOOLS.includes(name)) this.lastTool = name;
        this.lastMessage = "";
        this.changed("tool", false);
    }

    get tool() {
        return this.viewer.tool;
    }

    // ------------------------------------------------------------ masks and figures

    get volume() {
        return this.viewer.getOverlayVolume(this.overlayId);
    }

    getSliceMask(z = this.viewer.slice) {
        return this.viewer.getOverlayMask(this.overlayId, z);
    }

    getVoxelCount() {
        let n = 0;
        for (let z = 0; z < this.Z; z++) n += this.counts[z];
        return n;
    }

    getVolumeMl() {
        return this.getVoxelCount() * this.voxelMl;
    }

    getLesionSlices() {
        const out = [];
        for (let z = 0; z < this.Z; z++) if (this.counts[z] > 0) out.push(z);
        return out;
    }

    /** The slices changed since the last call (sorted), and forgets them. */
    takeDirtySlices() {
        const out = [...this.dirty].sort((a, b) => a - b);
        this.dirty.clear();
        this.changed("take", false);
        return out;
    }

    get canUndo() {
        return this.undoStack.length > 0;
    }

    get canRedo() {
        return this.redoStack.length > 0;
    }

    /** Starts from a given mask (SRLE bytes or a MaskVolume); clears history and the dirty set. */
    loadMask(source) {
        let volume = source;
        if (!(source instanceof MaskVolume)) {
            volume = decodeSrle(source instanceof ArrayBuffer || ArrayBuffer.isView(source) ? source : new Uint8Array(source));
        }
        this.cancelPolygon();
        this.stroke = null;
        const layer = this.viewer.overlay(this.overlayId);
        if (layer.status === "loading") layer.abort.abort(); // the given mask wins over the overlay's own url
        layer.setVolume(volume);
        this.undoStack = [];
        this.redoStack = [];
        this.dirty.clear();
        this.recount();
        this.viewer.redraw();
        this.changed("load", true);
    }

    recount() {
        const vol = this.viewer.overlays.find((o) => o.id === this.overlayId)?.volume ?? null;
        this.volumeRef = vol;
        for (let z = 0; z < this.Z; z++) this.counts[z] = vol ? vol.countForeground(z) : 0;
    }

    /**
     * True when the overlay's mask is ready. When it was replaced underneath (an overlay with a url
     * that finished loading after startAnnotation, or addOverlay with the same id), the figures are
     * recounted and the history, which described the old mask, is dropped.
     */
    syncVolume() {
        const layer = this.viewer.overlays.find((o) => o.id === this.overlayId);
        const vol = layer && layer.status === "ready" ? layer.volume : null;
        if (vol !== this.volumeRef) {
            this.stroke = null;
            this.polygon = null;
            this.undoStack = [];
            this.redoStack = [];
            this.dirty.clear();
            this.recount();
            this.changed("load", true);
        }
        return vol !== null;
    }

    state() {
        return {
            tool: this.viewer.tool,
            brushSize: this.brushSize,
            huRange: this.huRange ? this.huRange.slice() : null,
            huPreset: this.huPreset,
            invert: this.invert,
            huLimitsErase: this.huLimitsErase,
            volumeMl: round(this.getVolumeMl(), 3),
            voxels: this.getVoxelCount(),
            lesionSlices: this.getLesionSlices(),
            canUndo: this.canUndo,
            canRedo: this.canRedo,
            dirtyCount: this.dirty.size,
        };
    }

    onChange(fn) {
        this.listeners.add(fn);
        return () => this.listeners.delete(fn);
    }

    /** Latency of brush segments: paint start to the end of the frame that drew it (ms). */
    get stats() {
        return {
            segments: this.latencies.length,
            latency: summary(this.latencies),
            paint: summary(this.paintTimes),
            lastFill: this.lastFill,
            historySteps: this.undoStack.length,
            redoSteps: this.redoStack.length,
        };
    }

    resetStats() {
        this.latencies = [];
        this.paintTimes = [];
    }

    // ------------------------------------------------------------ history

    undo() {
        if (this.stroke || !this.syncVolume() || this.undoStack.length === 0) return false;
        const step = this.undoStack.pop();
        this.applyStep(step);
        this.redoStack.push(step);
        this.changed("undo", true);
        return true;
    }

    redo() {
        if (this.stroke || !this.syncVolume() || this.redoStack.length === 0) return false;
        const step = this.redoStack.pop();
        this.applyStep(step);
        this.undoStack.push(step);
        this.changed("redo", true);
        return true;
    }

    /** Flips the recorded indices (the same operation undoes and redoes a step). */
    applyStep(step) {
        for (const { z, idx } of step.slices) {
            const mask = this.getSliceMask(z);
            let delta = 0;
            for (let i = 0; i < idx.length; i++) {
                const k = idx[i];
                const v = mask[k] ^ 1;
                mask[k] = v;
                delta += v ? 1 : -1;
            }
            this.counts[z] += delta;
            this.dirty.add(z);
            this.viewer.redraw(this.overlayId, z);
        }
        if (step.slices.some((s) => s.z === this.viewer.slice)) this.viewer.redraw(this.overlayId, this.viewer.slice);
    }

    /** Records the change between `before` copies and the live masks as one step. */
    commit(befores, kind) {
        const slices = [];
        for (const [z, before] of befores) {
            const mask = this.getSliceMask(z);
            let n = 0;
            for (let i = 0; i < mask.length; i++) if (mask[i] !== before[i]) n++;
            if (n === 0) continue;
            const idx = new Uint32Array(n);
            for (let i = 0, j = 0; i < mask.length; i++) if (mask[i] !== before[i]) idx[j++] = i;
            slices.push({ z, idx });
            this.dirty.add(z);
        }
        if (slices.length === 0) return null;
        const step = { kind, slices };
        this.lastMessage = "";
        this.undoStack.push(step);
        if (this.undoStack.length > MAX_HISTORY) this.undoStack.shift();
        this.redoStack = [];
        this.changed(kind, true);
        return step;
    }

    // ------------------------------------------------------------ painting primitives

    /** The current slice's HU (Int16Array), or null when it is not loaded. */
    huOf(z) {
        return this.viewer.store.entries.get(z)?.hu ?? null;
    }

    /** A predicate k -> may this voxel change, for painting (erase=false) or erasing. */
    gate(z, erase) {
        const range = this.huRange;
        if (!range || (erase && !this.huLimitsErase)) return null;
        const hu = this.huOf(z);
        if (!hu) return () => false;
        const [lo, hi] = range;
        return this.invert ? (k) => hu[k] < lo || hu[k] > hi : (k) => hu[k] >= lo && hu[k] <= hi;
    }

    /** Stamps the brush disk centred on voxel (cx, cy). Returns the number of voxels changed. */
    stamp(mask, z, cx, cy, value, gate) {
        const { X, Y } = this;
        const offs = diskOffsets(this.brushSize);
        let delta = 0;
        for (let i = 0; i < offs.length; i += 2) {
            const x = cx + offs[i];
            const y = cy + offs[i + 1];
            if (x < 0 || y < 0 || x >= X || y >= Y) continue;
            const k = y * X + x;
            if (mask[k] === value || (gate && !gate(k))) continue;
            mask[k] = value;
            delta += value ? 1 : -1;
        }
        this.counts[z] += delta;
        return delta;
    }

    /** Stamps along the segment from (x0, y0) to (x1, y1), one voxel apart. */
    stampLine(mask, z, x0, y0, x1, y1, value, gate) {
        const n = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0));
        let delta = 0;
        for (let i = n === 0 ? 0 : 1; i <= n; i++) {
            const t = n === 0 ? 0 : i / n;
            delta += this.stamp(mask, z, Math.round(x0 + (x1 - x0) * t), Math.round(y0 + (y1 - y0) * t), value, gate);
        }
        return delta;
    }

    /** Paints (or erases) a closed polygon of voxel-centre points, scanline filled plus its outline. */
    fillPolygon(points, { z = this.viewer.slice, erase = false } = {}) {
        if (!Array.isArray(points) || points.length < 3 || !this.syncVolume()) return 0;
        const pts = points.map((p) => ({ x: Math.floor(Number(p.x)) + 0.5, y: Math.floor(Number(p.y)) + 0.5 }));
        const mask = this.getSliceMask(z);
        const before = mask.slice();
        const region = polygonMask(pts, this.X, this.Y);
        const gate = this.gate(z, erase);
        const value = erase ? 0 : 1;
        let delta = 0;
        for (let k = 0; k < region.length; k++) {
            if (!region[k] || mask[k] === value || (gate && !gate(k))) continue;
            mask[k] = value;
            delta += value ? 1 : -1;
        }
        this.counts[z] += delta;
        this.viewer.redraw(this.overlayId, z);
        this.commit(new Map([[z, before]]), erase ? "erase-contour" : "contour");
        return Math.abs(delta);
    }

    /**
     * 2D flood fill (4-connected) from voxel (x, y) of slice z. With an HU range: the connected
     * voxels within it (outside it with invert); without: the connected voxels with the seed's mask
     * value. Nothing changes when more than fillCap voxels would be reached.
     * Returns { filled, reached, capped }.
     */
    floodFill(x, y, { z = this.viewer.slice, erase = false, cap = this.fillCap } = {}) {
        const { X, Y } = this;
        x = Math.floor(x);
        y = Math.floor(y);
        const result = { filled: 0, reached: 0, capped: false, z, x, y };
        if (x < 0 || y < 0 || x >= X || y >= Y || !this.syncVolume()) return result;
        const mask = this.getSliceMask(z);
        let inside;
        if (this.huRange) {
            const hu = this.huOf(z);
            if (!hu) {
                this.lastFill = { ...result, reason: "slice not loaded" };
                return this.lastFill;
            }
            const [lo, hi] = this.huRange;
            inside = this.invert ? (k) => hu[k] < lo || hu[k] > hi : (k) => hu[k] >= lo && hu[k] <= hi;
        } else {
            const seedValue = mask[y * X + x];
            inside = (k) => mask[k] === seedValue;
        }
        const seed = y * X + x;
        if (!inside(seed)) {
            this.lastFill = result;
            this.changed("fill", false);
            return result;
        }
        const seen = new Uint8Array(X * Y);
        const queue = new Int32Array(cap + 1);
        let head = 0;
        let tail = 0;
        queue[tail++] = seed;
        seen[seed] = 1;
        while (head < tail) {
            const k = queue[head++];
            const kx = k % X;
            const n0 = kx > 0 ? k - 1 : -1;
            const n1 = kx < X - 1 ? k + 1 : -1;
            const n2 = k >= X ? k - X : -1;
            const n3 = k + X < X * Y ? k + X : -1;
            for (const nk of [n0, n1, n2, n3]) {
                if (nk < 0 || seen[nk] || !inside(nk)) continue;
                seen[nk] = 1;
                if (tail > cap - 1) {
                    result.capped = true;
                    break;
                }
                queue[tail++] = nk;
            }
            if (result.capped) break;
        }
        result.reached = tail;
        if (result.capped) {
            this.lastFill = result;
            this.lastMessage = `Fill stopped: more than ${cap} voxels`;
            this.viewer.invalidate(false);
            this.changed("fill", false);
            return result;
        }
        const before = mask.slice();
        const value = erase ? 0 : 1;
        let delta = 0;
        for (let i = 0; i < tail; i++) {
            const k = queue[i];
            if (mask[k] === value) continue;
            mask[k] = value;
            delta += value ? 1 : -1;
        }
        this.counts[z] += delta;
        result.filled = Math.abs(delta);
        this.lastFill = result;
        this.lastMessage = "";
        this.viewer.redraw(this.overlayId, z);
        this.commit(new Map([[z, before]]), "fill");
        return result;
    }

    /**
     * Shape-based interpolation: fills the empty slices strictly between labelled slices a and b
     * from the linear blend of their signed distance maps (in mm). Without arguments it fills
     * every gap between consecutive labelled slices. One undoable step. Returns the filled slices.
     */
    interpolate(a, b) {
        if (!this.syncVolume()) return [];
        let pairs;
        if (a === undefined || a === null) {
            const labelled = this.getLesionSlices();
            pairs = [];
            for (let i = 1; i < labelled.length; i++) {
                if (labelled[i] - labelled[i - 1] > 1) pairs.push([labelled[i - 1], labelled[i]]);
            }
        } else {
            a = Math.floor(a);
            b = Math.floor(b);
            if (a > b) [a, b] = [b, a];
            if (a < 0 || b >= this.Z) throw new RangeError(`Slices ${a}..${b} are outside 0..${this.Z - 1}`);
            if (this.counts[a] === 0 || this.counts[b] === 0) throw new Error(`Slices ${a} and ${b} must both hold lesion`);
            pairs = [[a, b]];
        }
        const befores = new Map();
        const filled = [];
        const [sx, sy] = this.spacing;
        for (const [za, zb] of pairs) {
            if (zb - za < 2) continue;
            const da = signedDistance(this.getSliceMask(za), this.X, this.Y, sx, sy);
            const db = signedDistance(this.getSliceMask(zb), this.X, this.Y, sx, sy);
            for (let z = za + 1; z < zb; z++) {
                if (this.counts[z] > 0) continue; // only the empty slices between
                const t = (z - za) / (zb - za);
                const mask = this.getSliceMask(z);
                befores.set(z, mask.slice());
                let n = 0;
                for (let k = 0; k < mask.length; k++) {
                    const v = (1 - t) * da[k] + t * db[k] < 0 ? 1 : 0;
                    mask[k] = v;
                    n += v;
                }
                this.counts[z] = n;
                this.viewer.redraw(this.overlayId, z);
                filled.push(z);
            }
        }
        this.viewer.redraw(this.overlayId, this.viewer.slice);
        this.commit(befores, "interpolate");
        return filled;
    }

    /**
     * The I key: on an empty slice between labelled ones, fills that gap only; otherwise every gap.
     * Returns the filled slices.
     */
    interpolateAt(z) {
        if (this.counts[z] === 0) {
            let a = z - 1;
            let b = z + 1;
            while (a >= 0 && this.counts[a] === 0) a--;
            while (b < this.Z && this.counts[b] === 0) b++;
            if (a >= 0 && b < this.Z) return this.interpolate(a, b);
        }
        return this.interpolate();
    }

    // ------------------------------------------------------------ tools

    voxelAt(p) {
        const [fx, fy] = this.viewer.renderer.cssToVoxel(p.x, p.y);
        return { x: Math.floor(fx), y: Math.floor(fy), fx, fy };
    }

    registerTools() {
        const self = this;
        const strokeTool = (name, eraseTool) => ({
            cursor: "none",
            dragCursor: "none",
            start(viewer, p) {
                return self.startStroke(p, eraseTool || !!p.event?.ctrlKey);
            },
        });
        this.viewer.registerTool("brush", strokeTool("brush", false));
        this.viewer.registerTool("eraser", strokeTool("eraser", true));
        this.viewer.registerTool("freehand", {
            cursor: "crosshair",
            start(viewer, p) {
                return self.startFreehand(p, !!p.event?.ctrlKey);
            },
        });
        this.viewer.registerTool("polygon", {
            cursor: "crosshair",
            start(viewer, p) {
                self.polygonClick(p);
                return null;
            },
        });
        this.viewer.registerTool("fill", {
            cursor: "cell",
            start(viewer, p) {
                const v = self.voxelAt(p);
                self.floodFill(v.x, v.y, { erase: !!p.event?.ctrlKey });
                return null;
            },
        });
    }

    startStroke(p, erase) {
        const z = this.viewer.slice;
        if (!this.syncVolume()) return null; // the mask is still loading
        if (!this.viewer.store.entries.get(z)) return null; // paint on what is shown only
        const mask = this.getSliceMask(z);
        const before = mask.slice();
        const gate = this.gate(z, erase);
        const v = this.voxelAt(p);
        const stroke = { z, mask, before, gate, value: erase ? 0 : 1, erase, x: v.x, y: v.y };
        this.stroke = stroke;
        this.paintSegment(stroke, v.x, v.y);
        return {
            move: (q) => {
                const events = q.event?.getCoalescedEvents?.() ?? [];
                if (events.length > 1) {
                    const r = this.viewer.ui.canvas.getBoundingClientRect();
                    for (const e of events) {
                        const w = this.voxelAt({ x: e.clientX - r.left, y: e.clientY - r.top });
                        this.paintSegment(stroke, w.x, w.y);
                    }
                } else {
                    const w = this.voxelAt(q);
                    this.paintSegment(stroke, w.x, w.y);
                }
            },
            end: () => {
                this.stroke = null;
                this.commit(new Map([[z, before]]), erase ? "erase" : "brush");
            },
        };
    }

    paintSegment(stroke, x, y) {
        const t0 = performance.now();
        const first = stroke.painted !== true;
        stroke.painted = true;
        if (first) this.stamp(stroke.mask, stroke.z, x, y, stroke.value, stroke.gate);
        else if (x !== stroke.x || y !== stroke.y) this.stampLine(stroke.mask, stroke.z, stroke.x, stroke.y, x, y, stroke.value, stroke.gate);
        else return;
        stroke.x = x;
        stroke.y = y;
        this.viewer.redraw(this.overlayId, stroke.z);
        const t1 = performance.now();
        this.paintTimes.push(t1 - t0);
        if (this.paintTimes.length > LATENCY_SAMPLES) this.paintTimes.shift();
        const mark = `sdpm-annot-seg-${this.latencies.length + this.pendingSegments.length}-${t0}`;
        performance.mark(mark, { startTime: t0 });
        this.pendingSegments.push({ t0, mark });
        this.changePending = true;
    }

    startFreehand(p, erase) {
        const v = this.voxelAt(p);
        const points = [{ x: v.fx, y: v.fy }];
        this.freehand = points;
        this.viewer.invalidate(false);
        return {
            move: (q) => {
                const w = this.voxelAt(q);
                const last = points[points.length - 1];
                if (Math.abs(w.fx - last.x) + Math.abs(w.fy - last.y) >= 0.5) points.push({ x: w.fx, y: w.fy });
                this.viewer.invalidate(false);
            },
            end: () => {
                this.freehand = null;
                this.fillPolygon(points, { erase });
                this.viewer.invalidate(false);
            },
        };
    }

    polygonClick(p) {
        const v = this.voxelAt(p);
        if (!this.polygon) this.polygon = { z: this.viewer.slice, points: [], erase: !!p.event?.ctrlKey };
        const pts = this.polygon.points;
        const last = pts[pts.length - 1];
        // the second click of a double-click lands on the same voxel: no new vertex (dblclick closes)
        if (!last || last.x !== v.x + 0.5 || last.y !== v.y + 0.5) pts.push({ x: v.x + 0.5, y: v.y + 0.5 });
        this.viewer.invalidate(false);
    }

    /** Adds a polygon vertex at voxel (x, y) (for scripts; clicking does the same). */
    addPolygonPoint(x, y) {
        if (!this.polygon) this.polygon = { z: this.viewer.slice, points: [], erase: false };
        this.polygon.points.push({ x: Math.floor(x) + 0.5, y: Math.floor(y) + 0.5 });
        this.viewer.invalidate(false);
    }

    closePolygon() {
        const poly = this.polygon;
        this.polygon = null;
        this.viewer.invalidate(false);
        if (!poly || poly.points.length < 3) return 0;
        return this.fillPolygon(poly.points, { z: poly.z, erase: poly.erase });
    }

    cancelPolygon() {
        this.polygon = null;
        this.viewer.invalidate(false);
    }

    // ------------------------------------------------------------ keys

    /** Handles an annotation shortcut; true when the key was used. */
    onKeyDown(e) {
        const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
        const mod = e.ctrlKey || e.metaKey;
        if (mod && !e.altKey) {
            if (key === "z" && !e.shiftKey) return this.undo(), true;
            if ((key === "z" && e.shiftKey) || key === "y") return this.redo(), true;
            return false;
        }
        if (e.altKey) return false;
        switch (key) {
            case "[": this.setBrushSize(this.brushSize - 1); return true;
            case "]": this.setBrushSize(this.brushSize + 1); return true;
            case "b": this.setTool("brush"); return true;
            case "e": this.setTool(this.viewer.tool === "eraser" ? "brush" : "eraser"); return true;
            case "c": this.setTool("freehand"); return true;
            case "n": this.setTool("polygon"); return true;
            case "g": this.setTool("fill"); return true;
            case "i": this.interpolateAt(this.viewer.slice); return true;
            case "u": {
                const order = [null, "haemorrhage", "infarct"];
                const next = order[(order.indexOf(this.huPreset) + 1) % order.length];
                this.setHuPreset(next);
                return true;
            }
            case "Enter":
                if (this.polygon) { this.closePolygon(); return true; }
                return false;
            case "Escape":
                if (this.polygon && !this.viewer.ui.helpOpen) { this.cancelPolygon(); return true; }
                return false;
            default:
                return false;
        }
    }

    // ------------------------------------------------------------ display

    cornerText() {
        const tool = this.viewer.tool;
        const label = this.viewer.labels.tools[tool] ?? tool;
        const parts = [];
        if (tool === "brush" || tool === "eraser") parts.push(`${label} ${this.brushSize} vx`);
        else parts.push(`${label} · brush ${this.brushSize} vx`);
        if (this.huRange) parts.push(`HU ${this.invert ? "∉" : ""}${this.huRange[0]}–${this.huRange[1]}`);
        parts.push(`${this.getVolumeMl().toFixed(2)} mL`);
        if (this.lastMessage) parts.push(this.lastMessage);
        return parts.join("  ·  ");
    }

    buildUi() {
        const stage = this.viewer.ui.stage;
        this.cursorEl = document.createElement("div");
        this.cursorEl.className = "sdpm-viewer__brush";
        this.cursorEl.setAttribute("data-testid", "viewer-brush-cursor");
        this.cursorEl.hidden = true;
        const ns = "http://www.w3.org/2000/svg";
        this.svg = document.createElementNS(ns, "svg");
        this.svg.setAttribute("class", "sdpm-viewer__contour");
        this.svg.setAttribute("data-testid", "viewer-contour");
        this.path = document.createElementNS(ns, "polyline");
        this.svg.append(this.path);
        stage.insertBefore(this.svg, this.viewer.ui.canvas.nextSibling);
        stage.insertBefore(this.cursorEl, this.svg.nextSibling);
        this.events = new AbortController();
        // pointerdown carries no click count, so a double-click closes the polygon here
        this.viewer.ui.canvas.addEventListener("dblclick", (e) => {
            if (this.viewer.tool === "polygon" && this.polygon) {
                e.preventDefault();
                this.closePolygon();
            }
        }, { signal: this.events.signal });
    }

    /** Runs after every viewer frame: latency marks, brush cursor, contour preview, change events. */
    afterFrame() {
        if (this.disposed) return;
        if (!this.stroke) this.syncVolume();
        const now = performance.now();
        if (this.pendingSegments.length) {
            for (const { t0, mark } of this.pendingSegments) {
                this.latencies.push(now - t0);
                try {
                    performance.measure("sdpm-annot-stroke-segment", { start: mark, end: now });
                } catch {}
                performance.clearMarks(mark);
            }
            this.pendingSegments = [];
            if (this.latencies.length > LATENCY_SAMPLES) this.latencies.splice(0, this.latencies.length - LATENCY_SAMPLES);
            performance.clearMeasures("sdpm-annot-stroke-segment");
        }
        const v = this.viewer;
        const r = v.renderer;
        // Brush cursor: an ellipse of brushSize voxels at the current zoom and pixel spacing.
        const tool = v.tool;
        const p = v.pointer;
        const showCursor = (tool === "brush" || tool === "eraser") && p && r.dims;
        this.cursorEl.hidden = !showCursor;
        if (showCursor) {
            const [fx, fy] = r.cssToVoxel(p.x, p.y);
            const [cx, cy] = r.voxelToCss(Math.floor(fx) + 0.5, Math.floor(fy) + 0.5);
            const w = this.brushSize * r.view.scale * r.spacing[0];
            const h = this.brushSize * r.view.scale * r.spacing[1];
            const s = this.cursorEl.style;
            s.width = `${w}px`;
            s.height = `${h}px`;
            s.transform = `translate(${cx - w / 2}px, ${cy - h / 2}px)`;
            this.cursorEl.classList.toggle("is-erase", tool === "eraser");
        }
        const pts = this.freehand ?? this.polygon?.points ?? null;
        if (pts && pts.length) {
            const list = pts.map((q) => r.voxelToCss(q.x, q.y).map((c) => c.toFixed(1)).join(",")).join(" ");
            this.path.setAttribute("points", this.polygon && p ? `${list} ${p.x},${p.y}` : list);
            this.svg.style.display = "";
        } else {
            this.svg.style.display = "none";
        }
        if (this.changePending) {
            this.changePending = false;
            this.emit("paint");
        }
    }

    changed(reason, maskChanged) {
        if (this.disposed) return;
        this.lastReason = reason;
        this.viewer.invalidate(false);
        this.viewer.scheduleNotify();
        this.emit(reason, maskChanged);
    }

    emit(reason) {
        if (this.listeners.size === 0) return;
        const s = this.state();
        const event = { ...s, dirtySlices: [...this.dirty].sort((a, b) => a - b), reason };
        for (const fn of this.listeners) {
            try {
                fn(event);
            } catch (e) {
                console.error("annotation onChange listener failed", e);
            }
        }
    }

    dispose() {
        if (this.disposed) return;
        this.disposed = true;
        this.viewer.frameHooks.delete(this.frameHook);
        this.events?.abort();
        for (const name of ANNOTATION_TOOLS) this.viewer.tools.delete(name);
        this.cursorEl.remove();
        this.svg.remove();
        this.listeners.clear();
    }
}

// ---------------------------------------------------------------- helpers

function clampSize(s) {
    const n = Math.round(Number(s));
    return Math.min(200, Math.max(1, Number.isFinite(n) ? n : 10));
}

const diskCache = new Map();

/** Integer offsets (dx, dy pairs) of a disk of `size` voxels across, centred on a voxel. */
export function diskOffsets(size) {
    let offs = diskCache.get(size);
    if (offs) return offs;
    const r = size / 2;
    const r2 = r * r;
    const R = Math.ceil(r);
    const list = [];
    for (let dy = -R; dy <= R; dy++) {
        for (let dx = -R; dx <= R; dx++) {
            if (dx * dx + dy * dy <= r2) list.push(dx, dy);
        }
    }
    offs = Int32Array.from(list);
    diskCache.set(size, offs);
    return offs;
}

/**
 * The voxels of a closed polygon (points in continuous voxel coordinates): scanline even-odd fill of
 * the voxel centres inside, plus the voxels on its outline, so the clicked vertices are included.
 */
export function polygonMask(pts, X, Y) {
    const out = new Uint8Array(X * Y);
    const n = pts.length;
    let minY = Infinity;
    let maxY = -Infinity;
    for (const p of pts) {
        minY = Math.min(minY, p.y);
        maxY = Math.max(maxY, p.y);
    }
    const y0 = Math.max(0, Math.floor(minY));
    const y1 = Math.min(Y - 1, Math.ceil(maxY));
    const xs = [];
    for (let y = y0; y <= y1; y++) {
        const yc = y + 0.5;
        xs.length = 0;
        for (let i = 0, j = n - 1; i < n; j = i++) {
            const a = pts[j];
            const b = pts[i];
            if ((a.y <= yc && yc < b.y) || (b.y <= yc && yc < a.y)) {
                xs.push(a.x + (yc - a.y) * (b.x - a.x) / (b.y - a.y));
            }
        }
        xs.sort((p, q) => p - q);
        for (let i = 0; i + 1 < xs.length; i += 2) {
            // voxel centres x + 0.5 within [xs[i], xs[i+1]]
            const xa = Math.max(0, Math.ceil(xs[i] - 0.5));
            const xb = Math.min(X - 1, Math.floor(xs[i + 1] - 0.5));
            if (xb >= xa) out.fill(1, y * X + xa, y * X + xb + 1);
        }
    }
    for (let i = 0, j = n - 1; i < n; j = i++) {
        const ax = pts[j].x - 0.5;
        const ay = pts[j].y - 0.5;
        const bx = pts[i].x - 0.5;
        const by = pts[i].y - 0.5;
        const steps = Math.ceil(Math.max(Math.abs(bx - ax), Math.abs(by - ay)));
        for (let s = 0; s <= steps; s++) {
            const t = steps === 0 ? 0 : s / steps;
            const x = Math.round(ax + (bx - ax) * t);
            const y = Math.round(ay + (by - ay) * t);
            if (x >= 0 && y >= 0 && x < X && y < Y) out[y * X + x] = 1;
        }
    }
    return out;
}

const BIG = 1e10; // far above any squared distance in mm on a slice, small enough to keep precision

/** 1D squared Euclidean distance transform (Felzenszwalb & Huttenlocher), weight w per step. */
function edt1d(f, n, w2, d, v, z) {
    let k = 0;
    v[0] = 0;
    z[0] = -Infinity;
    z[1] = Infinity;
    for (let q = 1; q < n; q++) {
        let s;
        for (;;) {
            const p = v[k];
            s = ((f[q] + w2 * q * q) - (f[p] + w2 * p * p)) / (2 * w2 * (q - p));
            if (s <= z[k] && k > 0) k--;
            else break;
        }
        k++;
        v[k] = q;
        z[k] = s;
        z[k + 1] = Infinity;
    }
    k = 0;
    for (let q = 0; q < n; q++) {
        while (z[k + 1] < q) k++;
        const dq = q - v[k];
        d[q] = w2 * dq * dq + f[v[k]];
    }
}

/** Squared distance (mm²) from every voxel to the nearest voxel where target(mask[k]) holds. */
function squaredDistanceTo(mask, want, X, Y, sx, sy) {
    const g = new Float64Array(X * Y);
    for (let k = 0; k < g.length; k++) g[k] = mask[k] === want ? 0 : BIG;
    const n = Math.max(X, Y);
    const f = new Float64Array(n);
    const d = new Float64Array(n);
    const v = new Int32Array(n);
    const z = new Float64Array(n + 1);
    for (let y = 0; y < Y; y++) {
        const row = y * X;
        for (let x = 0; x < X; x++) f[x] = g[row + x];
        edt1d(f, X, sx * sx, d, v, z);
        for (let x = 0; x < X; x++) g[row + x] = d[x];
    }
    for (let x = 0; x < X; x++) {
        for (let y = 0; y < Y; y++) f[y] = g[y * X + x];
        edt1d(f, Y, sy * sy, d, v, z);
        for (let y = 0; y < Y; y++) g[y * X + x] = d[y];
    }
    return g;
}

/**
 * Signed distance in mm, negative inside: inside voxels get -(distance to the nearest outside
 * voxel - half a voxel), outside voxels +(distance to the nearest inside voxel - half a voxel).
 */
export function signedDistance(mask, X, Y, sx = 1, sy = 1) {
    const toIn = squaredDistanceTo(mask, 1, X, Y, sx, sy);
    const toOut = squaredDistanceTo(mask, 0, X, Y, sx, sy);
    const half = Math.min(sx, sy) / 2;
    const out = new Float32Array(X * Y);
    for (let k = 0; k < out.length; k++) {
        out[k] = mask[k] ? -(Math.sqrt(toOut[k]) - half) : Math.sqrt(toIn[k]) - half;
    }
    return out;
}

function summary(values) {
    if (values.length === 0) return { n: 0, median: 0, p95: 0, max: 0 };
    const s = Float64Array.from(values).sort();
    const at = (q) => s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))];
    return { n: s.length, median: round(at(0.5), 3), p95: round(at(0.95), 3), max: round(s[s.length - 1], 3) };
}

function round(x, digits) {
    const k = 10 ** digits;
    return Math.round(x * k) / k;
}

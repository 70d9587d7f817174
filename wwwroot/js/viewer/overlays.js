// Overlay layers: a MaskVolume per overlay plus a cached native-resolution RGBA image of the
// current slice (filled or outline). Opacity is applied when compositing, so changing it
// never rebuilds the image.

import { decodeSrle, MaskVolume } from "./srle.js";

export class OverlayLayer {
    /**
     * @param {object} def { id, name?, url?, color?, opacity?, visible?, outline?, mask? }
     * @param {number[]} dims volume dims [X, Y, Z]
     */
    constructor(def, dims) {
        if (!def || typeof def.id !== "string" || def.id === "") {
            throw new TypeError("An overlay needs a string id");
        }
        this.id = def.id;
        this.name = def.name ?? def.id;
        this.url = def.url ?? null;
        this.dims = dims;
        this.color = "#ff3030";
        this.rgba = parseColor(this.color);
        this.opacity = 0.4;
        this.visible = true;
        this.outline = false;
        this.apply(def);
        /** 'loading' | 'ready' | 'error' */
        this.status = "loading";
        this.error = null;
        this.volume = null;
        this.abort = new AbortController();
        this.image = null;
        this.imageCtx = null;
        this.imageData = null;
        this.imageKey = null;
        if (def.mask instanceof MaskVolume) {
            this.setVolume(def.mask);
        } else if (!this.url) {
            this.setVolume(MaskVolume.empty(dims));
        }
    }

    /** Applies { visible, opacity, color, outline, name } where given (null counts as not given, as .NET sends it). */
    apply(props) {
        if (props.name != null) this.name = String(props.name);
        if (props.visible != null) this.visible = !!props.visible;
        if (props.opacity != null) {
            const o = Number(props.opacity);
            if (Number.isFinite(o)) this.opacity = Math.min(1, Math.max(0, o));
        }
        if (props.outline != null) this.outline = !!props.outline;
        if (props.color != null && props.color !== this.color) {
            this.color = String(props.color);
            this.rgba = parseColor(this.color);
        }
    }

    setVolume(volume) {
        const [X, Y, Z] = volume.dims;
        const [x, y, z] = this.dims;
        if (X !== x || Y !== y || Z !== z) {
            throw new Error(`Overlay "${this.name}" is ${X}x${Y}x${Z} but the volume is ${x}x${y}x${z}`);
        }
        this.volume = volume;
        this.status = "ready";
        this.error = null;
        this.imageKey = null;
    }

    /** Fetches and decodes the SRLE mask. Resolves when ready; rejects with a readable Error. */
    async load() {
        if (!this.url || this.status === "ready") {
            return;
        }
        try {
            const res = await fetch(this.url, {
                credentials: "same-origin",
                signal: this.abort.signal,
                headers: { Accept: "application/octet-stream" },
            });
            if (!res.ok) {
                throw new Error(`Overlay "${this.name}" could not be loaded (${res.status})`);
            }
            const buf = await res.arrayBuffer();
            let volume;
            try {
                volume = decodeSrle(buf);
            } catch (e) {
                throw new Error(`Overlay "${this.name}" is not a valid mask: ${e.message}`);
            }
            this.setVolume(volume);
        } catch (e) {
            if (e?.name === "AbortError") {
                throw e;
            }
            this.status = "error";
            this.error = e instanceof Error && e.message.startsWith("Overlay") ? e.message : `Overlay "${this.name}" could not be loaded (${e?.message ?? e})`;
            throw new Error(this.error);
        }
    }

    dispose() {
        this.abort.abort();
        this.volume = null;
        this.image = null;
    }

    /** The native-resolution image of slice z, or null when there is nothing to draw. */
    imageFor(z) {
        if (!this.visible || this.opacity <= 0 || this.status !== "ready") {
            return null;
        }
        const mask = this.volume.peekSlice(z);
        if (!mask) {
            return null;
        }
        const key = `${z}|${this.rgba}|${this.outline}|${this.volume.versions[z]}`;
        if (key === this.imageKey) {
            return this.image;
        }
        const [X, Y] = this.dims;
        if (!this.image) {
            this.image = new OffscreenCanvas(X, Y);
            this.imageCtx = this.image.getContext("2d");
            this.imageData = this.imageCtx.createImageData(X, Y);
        }
        const out = new Uint32Array(this.imageData.data.buffer);
        const color = this.rgba;
        if (this.outline) {
            outlineInto(mask, X, Y, out, color);
        } else {
            for (let i = 0, n = mask.length; i < n; i++) {
                out[i] = mask[i] ? color : 0;
            }
        }
        this.imageCtx.putImageData(this.imageData, 0, 0);
        this.imageKey = key;
        return this.image;
    }

    state() {
        return {
            id: this.id,
            name: this.name,
            visible: this.visible,
            opacity: this.opacity,
            color: this.color,
            outline: this.outline,
            status: this.status,
        };
    }
}

/** Foreground voxels with a 4-neighbour outside the mask (or on the image border). */
function outlineInto(mask, X, Y, out, color) {
    for (let y = 0; y < Y; y++) {
        const row = y * X;
        for (let x = 0; x < X; x++) {
            const i = row + x;
            if (!mask[i]) {
                out[i] = 0;
                continue;
            }
            const edge = x === 0 || x === X - 1 || y === 0 || y === Y - 1
                || !mask[i - 1] || !mask[i + 1] || !mask[i - X] || !mask[i + X];
            out[i] = edge ? color : 0;
        }
    }
}

let colorCtx = null;

/** Any CSS colour to an opaque ABGR Uint32 (canvas byte order on little-endian). */
export function parseColor(css) {
    const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(css).trim());
    let r, g, b;
    if (m) {
        let hex = m[1];
        if (hex.length === 3) hex = hex.replace(/./g, "$&$&");
        r = parseInt(hex.slice(0, 2), 16);
        g = parseInt(hex.slice(2, 4), 16);
        b = parseInt(hex.slice(4, 6), 16);
    } else {
        colorCtx ??= new OffscreenCanvas(1, 1).getContext("2d", { willReadFrequently: true });
        colorCtx.clearRect(0, 0, 1, 1);
        colorCtx.fillStyle = "#ff3030";
        colorCtx.fillStyle = String(css);
        colorCtx.fillRect(0, 0, 1, 1);
        [r, g, b] = colorCtx.getImageData(0, 0, 1, 1).data;
    }
    return ((0xff << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

/**
 * A heat map over the slices: a whole uint8 volume (x fastest) fetched once, shown through a colour ramp
 * (transparent at 0, then dark red through orange to yellow at `max`). `scale` turns a stored byte into the
 * quantity shown (SD = byte / 510), so the legend can say what a colour means.
 * Same drawing interface as OverlayLayer: imageFor(z), opacity, visible, state(), apply(), load(), dispose().
 */
export class HeatLayer {
    /** @param {object} def { id, name?, url, opacity?, visible?, scale?, max? } */
    constructor(def, dims) {
        if (!def || typeof def.id !== "string" || def.id === "") throw new TypeError("A heat map needs a string id");
        this.id = def.id;
        this.kind = "heat";
        this.name = def.name ?? def.id;
        this.url = def.url;
        this.dims = dims;
        this.scale = Number(def.scale) > 0 ? Number(def.scale) : 255;
        this.max = Number(def.max) > 0 ? Number(def.max) : 1;
        this.opacity = 0.6;
        this.visible = true;
        this.color = "#ff8c00";
        this.outline = false;
        this.apply(def);
        this.status = "loading";
        this.error = null;
        this.data = null;
        this.abort = new AbortController();
        this.image = null;
        this.imageCtx = null;
        this.imageData = null;
        this.imageKey = null;
        this.ramp = heatRamp();
    }

    apply(props) {
        if (props.name != null) this.name = String(props.name);
        if (props.visible != null) this.visible = !!props.visible;
        if (props.opacity != null) {
            const o = Number(props.opacity);
            if (Number.isFinite(o)) this.opacity = Math.min(1, Math.max(0, o));
        }
        if (props.max != null && Number(props.max) > 0) {
            this.max = Number(props.max);
            this.imageKey = null;
        }
    }

    async load() {
        try {
            const res = await fetch(this.url, { credentials: "same-origin", signal: this.abort.signal, headers: { Accept: "application/octet-stream" } });
            if (!res.ok) throw new Error(`Heat map "${this.name}" could not be loaded (${res.status})`);
            const data = new Uint8Array(await res.arrayBuffer());
            const [X, Y, Z] = this.dims;
            if (data.length !== X * Y * Z) throw new Error(`Heat map "${this.name}" has ${data.length} voxels, the volume ${X * Y * Z}`);
            this.data = data;
            this.status = "ready";
            this.imageKey = null;
        } catch (e) {
            if (e?.name === "AbortError") throw e;
            this.status = "error";
            this.error = e instanceof Error ? e.message : String(e);
            throw new Error(this.error);
        }
    }

    dispose() {
        this.abort.abort();
        this.data = null;
        this.image = null;
    }

    imageFor(z) {
        if (!this.visible || this.opacity <= 0 || this.status !== "ready") return null;
        const [X, Y] = this.dims;
        const key = `${z}|${this.max}`;
        if (key === this.imageKey) return this.image;
        if (!this.image) {
            this.image = new OffscreenCanvas(X, Y);
            this.imageCtx = this.image.getContext("2d");
            this.imageData = this.imageCtx.createImageData(X, Y);
        }
        const out = new Uint32Array(this.imageData.data.buffer);
        const slice = this.data.subarray(z * X * Y, (z + 1) * X * Y);
        // byte -> quantity -> 0..255 along the ramp, saturating at max.
        const factor = 255 / (this.scale * this.max);
        for (let i = 0; i < slice.length; i++) {
            const v = slice[i];
            out[i] = v === 0 ? 0 : this.ramp[Math.min(255, Math.round(v * factor))];
        }
        this.imageCtx.putImageData(this.imageData, 0, 0);
        this.imageKey = key;
        return this.image;
    }

    state() {
        return { id: this.id, name: this.name, visible: this.visible, opacity: this.opacity, color: this.color, outline: false, status: this.status, kind: "heat" };
    }
}

/** 256 ABGR colours: transparent black at 0, dark red, red, orange, yellow at 255 (alpha rising with the value). */
function heatRamp() {
    const ramp = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
        const t = i / 255;
        const r = Math.round(255 * Math.min(1, 0.35 + t * 1.3));
        const g = Math.round(255 * Math.max(0, Math.min(1, (t - 0.35) * 1.6)));
        const b = Math.round(255 * Math.max(0, (t - 0.85) * 4));
        const a = Math.round(255 * Math.min(1, 0.25 + t));
        ramp[i] = ((a << 24) | (b << 16) | (g << 8) | r) >>> 0;
    }
    return ramp;
}

/** A 0/1 mask volume of `a AND NOT b` (false positives of a against b), slice by slice as runs. */
export function differenceVolume(a, b, MaskVolumeType, maskToRuns) {
    const [X, Y, Z] = a.dims;
    const runs = new Array(Z).fill(null);
    const empty = new Uint8Array(X * Y);
    for (let z = 0; z < Z; z++) {
        const ma = a.peekSlice(z);
        if (!ma) continue;
        const mb = b.peekSlice(z) ?? empty;
        const out = new Uint8Array(X * Y);
        let any = false;
        for (let i = 0; i < out.length; i++) {
            if (ma[i] && !mb[i]) {
                out[i] = 1;
                any = true;
            }
        }
        if (any) runs[z] = Uint32Array.from(maskToRuns(out));
    }
    return new MaskVolumeType([X, Y, Z], runs);
}

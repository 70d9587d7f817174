// Canvas renderer: window/level through a 65536-entry lookup table into a native-resolution
// ImageData, then one scaled drawImage (with the aspect ratio from the pixel spacing) plus one
// drawImage per visible overlay, all under the same transform.
//
// View model: `scale` is CSS pixels per millimetre; the image centre sits at the stage centre plus
// (panX, panY) CSS pixels. A voxel is scale*sx CSS pixels wide and scale*sy tall.

const OPAQUE_BLACK = 0xff000000;

export class Renderer {
    /** @param {HTMLCanvasElement} canvas */
    constructor(canvas) {
        this.canvas = canvas;
        this.ctx = canvas.getContext("2d", { alpha: false, desynchronized: false });
        this.lut = new Uint32Array(65536);
        this.lutVersion = 0;
        this.lutBuilt = -1;
        this.level = 40;
        this.width = 80;
        this.cssWidth = 0;
        this.cssHeight = 0;
        this.dpr = 1;
        this.dims = null;
        this.spacing = [1, 1, 1];
        this.view = { scale: 1, panX: 0, panY: 0, fitted: true };
        this.smooth = false;
        this.image = null; // OffscreenCanvas X x Y, the windowed slice
        this.imageCtx = null;
        this.imageData = null;
        this.pixels = null; // Uint32Array over imageData
        this.windowed = { entry: null, lutVersion: -1 };
        this.stats = { lutMs: 0, windowMs: 0, composeMs: 0, frameMs: 0, frames: 0 };
        this.setWindow(this.level, this.width);
    }

    setVolume(dims, spacing) {
        const [X, Y] = dims;
        this.dims = dims.slice();
        this.spacing = spacing.slice();
        this.image = new OffscreenCanvas(X, Y);
        this.imageCtx = this.image.getContext("2d");
        this.imageData = this.imageCtx.createImageData(X, Y);
        this.pixels = new Uint32Array(this.imageData.data.buffer);
        this.windowed = { entry: null, lutVersion: -1 };
        this.fit();
    }

    /** Sets the window; the lookup table is rebuilt once, in the next frame that needs it. */
    setWindow(level, width) {
        this.level = level;
        this.width = Math.max(1, width);
        this.lutVersion++;
    }

    /** Rebuilds the HU -> grey lookup table. Index is the int16 value read as uint16. */
    buildLut() {
        const t0 = performance.now();
        const lo = this.level - this.width / 2;
        const k = 255 / this.width;
        const lut = this.lut;
        for (let u = 0; u < 65536; u++) {
            const hu = u < 32768 ? u : u - 65536;
            let g = (hu - lo) * k;
            g = g <= 0 ? 0 : g >= 255 ? 255 : (g + 0.5) | 0;
            lut[u] = OPAQUE_BLACK | (g << 16) | (g << 8) | g;
        }
        this.lutBuilt = this.lutVersion;
        this.stats.lutMs = performance.now() - t0;
    }

    /** The stage size in CSS pixels and the canvas backing size in device pixels. */
    resize(cssWidth, cssHeight, deviceWidth, deviceHeight) {
        const changed = this.canvas.width !== deviceWidth || this.canvas.height !== deviceHeight
            || this.cssWidth !== cssWidth || this.cssHeight !== cssHeight;
        this.cssWidth = cssWidth;
        this.cssHeight = cssHeight;
        this.dpr = cssWidth > 0 ? deviceWidth / cssWidth : window.devicePixelRatio || 1;
        if (this.canvas.width !== deviceWidth) this.canvas.width = deviceWidth;
        if (this.canvas.height !== deviceHeight) this.canvas.height = deviceHeight;
        if (changed && this.view.fitted) {
            this.fit();
        }
        return changed;
    }

    fitScale() {
        if (!this.dims || this.cssWidth <= 0 || this.cssHeight <= 0) {
            return 1;
        }
        const w = this.dims[0] * this.spacing[0];
        const h = this.dims[1] * this.spacing[1];
        return Math.min(this.cssWidth / w, this.cssHeight / h);
    }

    fit() {
        this.view = { scale: this.fitScale(), panX: 0, panY: 0, fitted: true };
    }

    /** CSS pixels per voxel along x (what the zoom readout shows; 1 = 100 %). */
    get zoom() {
        return this.view.scale * this.spacing[0];
    }

    /** Sets the zoom keeping the image point under (cssX, cssY) fixed. */
    zoomAt(zoom, cssX, cssY) {
        const v = this.view;
        const newScale = Math.min(64, Math.max(0.02, zoom)) / this.spacing[0];
        const cx = this.cssWidth / 2 + v.panX;
        const cy = this.cssHeight / 2 + v.panY;
        const f = newScale / v.scale;
        v.panX = cssX - (cssX - cx) * f - this.cssWidth / 2;
        v.panY = cssY - (cssY - cy) * f - this.cssHeight / 2;
        v.scale = newScale;
        v.fitted = false;
    }

    panBy(dx, dy) {
        this.view.panX += dx;
        this.view.panY += dy;
        this.view.fitted = false;
    }

    /**
     * The view in terms that mean the same in a viewport of another size: fitted, or the zoom relative to "fit" and
     * the image point (continuous voxel coordinates) at the centre of the viewport. For linked viewers.
     */
    viewState() {
        const v = this.view;
        if (!this.dims || v.fitted) return { fitted: true };
        const [cx, cy] = this.cssToVoxel(this.cssWidth / 2, this.cssHeight / 2);
        return { fitted: false, relative: v.scale / this.fitScale(), cx, cy };
    }

    /** Applies a viewState() of another viewer showing the same grid. */
    setViewState(s) {
        if (!this.dims) return;
        if (!s || s.fitted) {
            this.fit();
            return;
        }
        const [X, Y] = this.dims;
        const scale = Math.min(64, Math.max(0.02, s.relative * this.fitScale() * this.spacing[0])) / this.spacing[0];
        this.view = {
            scale,
            panX: -(s.cx - X / 2) * scale * this.spacing[0],
            panY: -(s.cy - Y / 2) * scale * this.spacing[1],
            fitted: false,
        };
    }

    /** Continuous voxel coordinates (voxel i spans [i, i+1)) of a CSS point on the stage. */
    cssToVoxel(cssX, cssY) {
        const v = this.view;
        const [X, Y] = this.dims;
        return [
            (cssX - this.cssWidth / 2 - v.panX) / (v.scale * this.spacing[0]) + X / 2,
            (cssY - this.cssHeight / 2 - v.panY) / (v.scale * this.spacing[1]) + Y / 2,
        ];
    }

    /** CSS point on the stage of continuous voxel coordinates (the inverse of cssToVoxel). */
    voxelToCss(vx, vy) {
        const v = this.view;
        const [X, Y] = this.dims;
        return [
            (vx - X / 2) * v.scale * this.spacing[0] + this.cssWidth / 2 + v.panX,
            (vy - Y / 2) * v.scale * this.spacing[1] + this.cssHeight / 2 + v.panY,
        ];
    }

    /** Windows `entry` into the native-resolution image if it or the LUT changed. */
    prepare(entry) {
        if (this.windowed.entry === entry && this.windowed.lutVersion === this.lutVersion) {
            return;
        }
        if (this.lutBuilt !== this.lutVersion) {
            this.buildLut();
        }
        const t0 = performance.now();
        const src = entry.index;
        const out = this.pixels;
        const lut = this.lut;
        for (let i = 0, n = src.length; i < n; i++) {
            out[i] = lut[src[i]];
        }
        this.imageCtx.putImageData(this.imageData, 0, 0);
        this.windowed = { entry, lutVersion: this.lutVersion };
        this.stats.windowMs = performance.now() - t0;
    }

    /**
     * Draws one frame.
     * @param {object|null} entry the slice (from SliceStore) or null for an empty viewport
     * @param {{image: OffscreenCanvas, opacity: number}[]} layers overlay images at native resolution
     */
    render(entry, layers) {
        const t0 = performance.now();
        const ctx = this.ctx;
        ctx.setTransform(1, 0, 0, 1, 0, 0);
        ctx.globalAlpha = 1;
        ctx.fillStyle = "#000";
        ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
        if (entry && this.dims) {
            this.prepare(entry);
            const t1 = performance.now();
            const [X, Y] = this.dims;
            const v = this.view;
            const a = v.scale * this.spacing[0] * this.dpr;
            const d = v.scale * this.spacing[1] * this.dpr;
            const e = (this.cssWidth / 2 + v.panX) * this.dpr - (X / 2) * a;
            const f = (this.cssHeight / 2 + v.panY) * this.dpr - (Y / 2) * d;
            ctx.setTransform(a, 0, 0, d, e, f);
            ctx.imageSmoothingEnabled = this.smooth;
            ctx.imageSmoothingQuality = "high";
            ctx.drawImage(this.image, 0, 0);
            ctx.imageSmoothingEnabled = false;
            for (const layer of layers) {
                ctx.globalAlpha = layer.opacity;
                ctx.drawImage(layer.image, 0, 0);
            }
            ctx.globalAlpha = 1;
            ctx.setTransform(1, 0, 0, 1, 0, 0);
            this.stats.composeMs = performance.now() - t1;
        }
        this.stats.frameMs = performance.now() - t0;
        this.stats.frames++;
    }
}

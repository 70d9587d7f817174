// SRLE whole-volume run-length masks.
//
// Format: ASCII "SRLE", version byte 1, X, Y, Z as unsigned LEB128 varints, then for each slice
// z = 0..Z-1 the run count (varint) followed by that many run lengths (varints). Runs alternate
// background, foreground, background, ... in row-major x-fastest order, always starting with
// background (the first run may be 0), and the runs of a slice sum to X*Y.
//
// A MaskVolume keeps the decoded runs per slice and materialises a slice as a Uint8Array (0/1) only
// when it is first drawn or painted, so a 512x512x300 volume costs memory only for the slices that
// have been looked at. Painting tools take getSlice(z), write 0/1 into it, then call touch(z).

const MAGIC = [0x53, 0x52, 0x4c, 0x45]; // "SRLE"
const VERSION = 1;

export class SrleError extends Error {
    constructor(message) {
        super(message);
        this.name = "SrleError";
    }
}

export class MaskVolume {
    /**
     * @param {number[]} dims [X, Y, Z]
     * @param {(Uint32Array|null)[]} [sliceRuns] decoded runs per slice; null means an empty slice
     */
    constructor(dims, sliceRuns) {
        const [X, Y, Z] = dims;
        this.dims = [X, Y, Z];
        this.sliceSize = X * Y;
        this._runs = sliceRuns ?? new Array(Z).fill(null);
        this._masks = new Array(Z).fill(null);
        /** Bumped by touch(z); renderers key their caches on it. */
        this.versions = new Uint32Array(Z);
    }

    static empty(dims) {
        return new MaskVolume(dims);
    }

    /** True when slice z has at least one foreground voxel (without materialising it). */
    hasForeground(z) {
        const mask = this._masks[z];
        if (mask) {
            return mask.indexOf(1) !== -1;
        }
        return runsHaveForeground(this._runs[z]);
    }

    /** The slice mask for drawing: a Uint8Array, or null when the slice has no foreground and was never painted. */
    peekSlice(z) {
        if (z < 0 || z >= this.dims[2]) {
            return null;
        }
        if (this._masks[z]) {
            return this._masks[z];
        }
        return runsHaveForeground(this._runs[z]) ? this.getSlice(z) : null;
    }

    /** The slice mask for reading or painting (allocated on first use). Call touch(z) after writing into it. */
    getSlice(z) {
        if (z < 0 || z >= this.dims[2]) {
            throw new RangeError(`Slice ${z} is outside 0..${this.dims[2] - 1}`);
        }
        let mask = this._masks[z];
        if (!mask) {
            mask = new Uint8Array(this.sliceSize);
            const runs = this._runs[z];
            if (runs) {
                let pos = 0;
                for (let i = 0; i < runs.length; i++) {
                    const len = runs[i];
                    if (i & 1) {
                        mask.fill(1, pos, pos + len);
                    }
                    pos += len;
                }
            }
            this._masks[z] = mask;
            this._runs[z] = null; // the mask is now the truth for this slice
        }
        return mask;
    }

    /** Foreground voxels of slice z (from the runs when the slice was never materialised). */
    countForeground(z) {
        const mask = this._masks[z];
        let n = 0;
        if (mask) {
            for (let i = 0; i < mask.length; i++) n += mask[i];
            return n;
        }
        const runs = this._runs[z];
        if (runs) {
            for (let i = 1; i < runs.length; i += 2) n += runs[i];
        }
        return n;
    }

    /** Marks slice z as changed so that cached overlay images are rebuilt. */
    touch(z) {
        this.versions[z]++;
    }

    /** Encodes the volume back to SRLE bytes. */
    encode() {
        const [X, Y, Z] = this.dims;
        const out = new ByteWriter(64 + Z * 8);
        for (const b of MAGIC) {
            out.byte(b);
        }
        out.byte(VERSION);
        out.varint(X);
        out.varint(Y);
        out.varint(Z);
        for (let z = 0; z < Z; z++) {
            const runs = this._masks[z] ? maskToRuns(this._masks[z]) : (this._runs[z] ?? [this.sliceSize]);
            out.varint(runs.length);
            for (let i = 0; i < runs.length; i++) {
                out.varint(runs[i]);
            }
        }
        return out.bytes();
    }
}

function runsHaveForeground(runs) {
    if (!runs) {
        return false;
    }
    for (let i = 1; i < runs.length; i += 2) {
        if (runs[i] > 0) {
            return true;
        }
    }
    return false;
}

/** Runs (background first) of a 0/1 mask. */
export function maskToRuns(mask) {
    const runs = [];
    let current = 0;
    let len = 0;
    for (let i = 0; i < mask.length; i++) {
        const v = mask[i] ? 1 : 0;
        if (v === current) {
            len++;
        } else {
            runs.push(len);
            current = v;
            len = 1;
        }
    }
    runs.push(len);
    return runs;
}

/**
 * Decodes SRLE bytes into a MaskVolume.
 * @param {ArrayBuffer|Uint8Array} data
 * @returns {MaskVolume}
 */
export function decodeSrle(data) {
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    let pos = 0;
    const readVarint = (what) => {
        let value = 0;
        let scale = 1;
        for (let n = 0; n < 8; n++) {
            if (pos >= bytes.length) {
                throw new SrleError(`Mask data ends inside ${what} (byte ${pos})`);
            }
            const b = bytes[pos++];
            value += (b & 0x7f) * scale;
            if ((b & 0x80) === 0) {
                return value;
            }
            scale *= 128;
        }
        throw new SrleError(`Varint too long in ${what} (byte ${pos})`);
    };

    if (bytes.length < 5 || MAGIC.some((m, i) => bytes[i] !== m)) {
        throw new SrleError("Not an SRLE mask (missing \"SRLE\" header)");
    }
    pos = 4;
    const version = bytes[pos++];
    if (version !== VERSION) {
        throw new SrleError(`Unsupported SRLE version ${version}`);
    }
    const X = readVarint("X");
    const Y = readVarint("Y");
    const Z = readVarint("Z");
    if (!(X > 0 && Y > 0 && Z > 0) || X * Y > 1 << 26) {
        throw new SrleError(`Invalid mask dimensions ${X}x${Y}x${Z}`);
    }
    const sliceSize = X * Y;
    const sliceRuns = new Array(Z);
    for (let z = 0; z < Z; z++) {
        const count = readVarint(`the run count of slice ${z}`);
        if (count > sliceSize + 1) {
            throw new SrleError(`Slice ${z} has ${count} runs, more than its ${sliceSize} voxels allow`);
        }
        const runs = new Uint32Array(count);
        let sum = 0;
        let foreground = false;
        for (let i = 0; i < count; i++) {
            const len = readVarint(`run ${i} of slice ${z}`);
            runs[i] = len;
            sum += len;
            if ((i & 1) && len > 0) {
                foreground = true;
            }
        }
        if (sum !== sliceSize) {
            throw new SrleError(`The runs of slice ${z} sum to ${sum}, expected ${sliceSize} (${X}x${Y})`);
        }
        sliceRuns[z] = foreground ? runs : null;
    }
    return new MaskVolume([X, Y, Z], sliceRuns);
}

class ByteWriter {
    constructor(capacity) {
        this.buf = new Uint8Array(capacity);
        this.len = 0;
    }

    ensure(n) {
        if (this.len + n > this.buf.length) {
            const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
            next.set(this.buf.subarray(0, this.len));
            this.buf = next;
        }
    }

    byte(b) {
        this.ensure(1);
        this.buf[this.len++] = b;
    }

    varint(v) {
        this.ensure(8);
        while (v >= 0x80) {
            this.buf[this.len++] = (v % 128) | 0x80;
            v = Math.floor(v / 128);
        }
        this.buf[this.len++] = v;
    }

    bytes() {
        return this.buf.slice(0, this.len);
    }
}

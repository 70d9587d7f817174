// Raw slice loading: fetch, an LRU cache with a byte budget, neighbour prefetch, abort.
//
// A slice is X*Y int16 little-endian Hounsfield units, x fastest, from `${baseUrl}/slices/${z}.raw`.
// Entries keep an Int16Array (HU) and a Uint16Array view of the same bytes (the window LUT index).

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export class SliceError extends Error {
    /**
     * @param {number} z
     * @param {'http'|'network'|'size'} kind
     * @param {number|null} status HTTP status for kind 'http'
     * @param {string} message
     */
    constructor(z, kind, status, message) {
        super(message);
        this.name = "SliceError";
        this.z = z;
        this.kind = kind;
        this.status = status;
    }
}

export class SliceStore {
    /**
     * @param {object} opts
     * @param {number} [opts.budgetBytes] cache budget (default 256 MiB)
     * @param {number} [opts.maxConcurrent] parallel fetches (default 6)
     * @param {number} [opts.errorRetryMs] a failed slice is not fetched again for this long unless retried (default 5000)
     * @param {(z:number, entry:object)=>void} opts.onLoaded
     * @param {(z:number, error:SliceError)=>void} opts.onError
     */
    constructor(opts) {
        this.budgetBytes = opts.budgetBytes ?? 256 * 1024 * 1024;
        this.maxConcurrent = opts.maxConcurrent ?? 6;
        this.errorRetryMs = opts.errorRetryMs ?? 5000;
        this.onLoaded = opts.onLoaded;
        this.onError = opts.onError;
        this.entries = new Map(); // z -> entry, in LRU order (oldest first)
        this.bytes = 0;
        this.inflight = new Map(); // z -> AbortController
        this.errors = new Map(); // z -> { error, at }
        this.queue = [];
        this.pinned = new Set();
        this.generation = 0;
        this.baseUrl = null;
        this.sliceBytes = 0;
        this.sliceCount = 0;
        this.stats = { fetched: 0, fetchMsLast: 0, evicted: 0 };
    }

    /** Points the store at a new volume; drops everything cached or in flight. */
    configure(baseUrl, dims) {
        this.clear();
        this.baseUrl = baseUrl.replace(/\/+$/, "");
        this.sliceBytes = dims[0] * dims[1] * 2;
        this.sliceCount = dims[2];
    }

    clear() {
        this.generation++;
        for (const ctrl of this.inflight.values()) {
            ctrl.abort();
        }
        this.inflight.clear();
        this.entries.clear();
        this.errors.clear();
        this.queue = [];
        this.pinned.clear();
        this.bytes = 0;
    }

    dispose() {
        this.clear();
        this.onLoaded = this.onError = () => {};
    }

    urlFor(z) {
        return `${this.baseUrl}/slices/${z}.raw`;
    }

    /** The cached entry for z (marks it most recently used), or undefined. */
    get(z) {
        const entry = this.entries.get(z);
        if (entry) {
            this.entries.delete(z);
            this.entries.set(z, entry);
        }
        return entry;
    }

    /** A recent error for z, if any. */
    errorFor(z) {
        const e = this.errors.get(z);
        return e ? e.error : null;
    }

    isLoading(z) {
        return this.inflight.has(z);
    }

    /** Forgets the error of z and fetches it first. */
    retry(z) {
        this.errors.delete(z);
        this.queue = [z, ...this.queue.filter((q) => q !== z)];
        this.pump();
    }

    /**
     * Declares what is needed now: `center` first, then neighbours up to `radius` away,
     * the ones in the direction of travel first. Queued fetches no longer wanted are dropped;
     * in-flight ones far away are aborted.
     */
    want(center, direction, radius) {
        const order = [center];
        const dir = direction < 0 ? -1 : 1;
        for (let d = 1; d <= radius; d++) {
            order.push(center + dir * d);
            if (d <= Math.ceil(radius / 2)) {
                order.push(center - dir * d);
            }
        }
        for (let d = Math.ceil(radius / 2) + 1; d <= radius; d++) {
            order.push(center - dir * d);
        }
        const valid = order.filter((z) => z >= 0 && z < this.sliceCount);
        this.pinned = new Set(valid);
        this.queue = valid;
        const far = radius * 3;
        for (const [z, ctrl] of this.inflight) {
            if (z < center - far || z > center + far) {
                ctrl.abort();
                this.inflight.delete(z);
            }
        }
        // The slice on screen never waits behind prefetches: free a connection for it.
        if (valid.length > 0 && !this.entries.has(center) && !this.inflight.has(center) && this.inflight.size >= this.maxConcurrent) {
            let victim = null;
            for (const z of this.inflight.keys()) {
                if (victim === null || Math.abs(z - center) > Math.abs(victim - center)) victim = z;
            }
            this.inflight.get(victim).abort();
            this.inflight.delete(victim);
        }
        this.pump();
    }

    pump() {
        const now = performance.now();
        while (this.inflight.size < this.maxConcurrent && this.queue.length > 0) {
            const z = this.queue.shift();
            if (this.entries.has(z) || this.inflight.has(z)) {
                continue;
            }
            const err = this.errors.get(z);
            if (err && now - err.at < this.errorRetryMs) {
                continue;
            }
            this.start(z);
        }
    }

    start(z) {
        const ctrl = new AbortController();
        const generation = this.generation;
        this.inflight.set(z, ctrl);
        this.errors.delete(z);
        const t0 = performance.now();
        fetch(this.urlFor(z), {
            credentials: "same-origin",
            signal: ctrl.signal,
            headers: { Accept: "application/octet-stream" },
        })
            .then(async (res) => {
                if (!res.ok) {
                    throw new SliceError(z, "http", res.status, `HTTP ${res.status}`);
                }
                const buf = await res.arrayBuffer();
                if (buf.byteLength !== this.sliceBytes) {
                    throw new SliceError(z, "size", null, `${buf.byteLength} bytes, expected ${this.sliceBytes}`);
                }
                return buf;
            })
            .then(
                (buf) => {
                    if (generation !== this.generation || ctrl.signal.aborted) {
                        return;
                    }
                    this.inflight.delete(z);
                    this.stats.fetched++;
                    this.stats.fetchMsLast = performance.now() - t0;
                    const entry = makeEntry(z, buf);
                    this.insert(entry);
                    this.onLoaded(z, entry);
                    this.pump();
                },
                (err) => {
                    if (generation !== this.generation || ctrl.signal.aborted || err?.name === "AbortError") {
                        return;
                    }
                    this.inflight.delete(z);
                    const error = err instanceof SliceError ? err : new SliceError(z, "network", null, String(err?.message ?? err));
                    this.errors.set(z, { error, at: performance.now() });
                    this.onError(z, error);
                    this.pump();
                },
            );
    }

    insert(entry) {
        const old = this.entries.get(entry.z);
        if (old) {
            this.bytes -= old.bytes;
            this.entries.delete(entry.z);
        }
        this.entries.set(entry.z, entry);
        this.bytes += entry.bytes;
        if (this.bytes > this.budgetBytes) {
            for (const [z, e] of this.entries) {
                if (this.bytes <= this.budgetBytes) {
                    break;
                }
                if (this.pinned.has(z)) {
                    continue;
                }
                this.entries.delete(z);
                this.bytes -= e.bytes;
                this.stats.evicted++;
            }
        }
    }
}

function makeEntry(z, buf) {
    if (!LITTLE_ENDIAN) {
        const dv = new DataView(buf);
        const fixed = new Int16Array(buf.byteLength / 2);
        for (let i = 0; i < fixed.length; i++) {
            fixed[i] = dv.getInt16(i * 2, true);
        }
        buf = fixed.buffer;
    }
    return { z, hu: new Int16Array(buf), index: new Uint16Array(buf), bytes: buf.byteLength };
}

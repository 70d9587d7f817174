// The annotation page's browser side: starts the viewer's annotation tools on a case, loads the annotator's saved
// mask (or the reference it starts from), and autosaves the changed slices over HTTP a moment after the last stroke
// and when the page is hidden. Saves carry the version they replace (If-Match); a 412 means another tab or a review
// changed the annotation: the page is told and stops saving until it is reloaded. Nothing here waits on the circuit.

const DEBOUNCE_MS = 1500;

export function attach(viewer, dotNet, options) {
  const { caseId, dims, readOnly } = options;
  const state = { version: options.version ?? null, pending: new Set(), saving: null, timer: null, stopped: false,
                  startFrom: options.startFromReference ? 'startFromReference=true' : null, lastSavedAt: null, error: null };
  const annotator = viewer.startAnnotation({ overlayId: 'mine', name: 'My annotation', color: '#00d1ff', opacity: 0.45 });

  const report = () => dotNet.invokeMethodAsync('OnAutosave', {
    version: state.version, pending: state.pending.size + (annotator.state().dirtyCount ?? 0),
    saving: !!state.saving, lastSavedAt: state.lastSavedAt, error: state.error, stopped: state.stopped,
  }).catch(() => {});

  const schedule = () => {
    if (readOnly || state.stopped) return;
    clearTimeout(state.timer);
    state.timer = setTimeout(() => flush(false), DEBOUNCE_MS);
  };

  const unsubscribe = annotator.onChange(change => {
    if (change.dirtySlices?.length) schedule();
  });

  async function gzip(bytes) {
    const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  function patch(zs) {
    const out = [];
    const varint = v => { while (v >= 0x80) { out.push((v & 0x7f) | 0x80); v = Math.floor(v / 128); } out.push(v); };
    out.push(0x53, 0x52, 0x4c, 0x50, 1); // "SRLP", version 1
    [dims[0], dims[1], dims[2], zs.length].forEach(varint);
    for (const z of zs) {
      const slice = annotator.getSliceMask(z);
      const runs = [];
      let current = 0, length = 0;
      for (let i = 0; i < slice.length; i++) {
        const v = slice[i] ? 1 : 0;
        if (v === current) { length++; } else { runs.push(length); current = v; length = 1; }
      }
      runs.push(length);
      varint(z);
      varint(runs.length);
      runs.forEach(varint);
    }
    return new Uint8Array(out);
  }

  async function flush(keepalive) {
    if (readOnly || state.stopped) return true;
    if (state.saving) { await state.saving; }
    for (const z of annotator.takeDirtySlices()) state.pending.add(z);
    if (state.pending.size === 0) { report(); return true; }
    const zs = [...state.pending].sort((a, b) => a - b);
    state.saving = (async () => {
      try {
        const body = await gzip(patch(zs));
        const headers = { 'Content-Type': 'application/octet-stream' };
        if (state.version !== null) headers['If-Match'] = `"${state.version}"`;
        const query = state.version === null && state.startFrom ? `?${state.startFrom}` : '';
        const res = await fetch(`/api/cases/${caseId}/annotations/mine/slices${query}`,
          { method: 'PATCH', body, headers, credentials: 'same-origin', keepalive: keepalive && body.length < 60000 });
        if (res.ok) {
          state.version = Number((res.headers.get('ETag') || '').replaceAll('"', '')) || state.version;
          zs.forEach(z => state.pending.delete(z));
          state.lastSavedAt = new Date().toISOString();
          state.error = null;
          return true;
        }
        let message = `HTTP ${res.status}`;
        try { message = (await res.json()).title || message; } catch { }
        state.error = message;
        if (res.status === 412 || res.status === 409 || res.status === 403) state.stopped = true; // reload needed
        return false;
      } catch (e) {
        state.error = 'Not saved yet: the connection failed. Your strokes are kept here and saving is retried.';
        setTimeout(() => flush(false), 3000);
        return false;
      } finally {
        state.saving = null;
        report();
      }
    })();
    report();
    return await state.saving;
  }

  const onHidden = () => { if (document.visibilityState === 'hidden') flush(true); };
  document.addEventListener('visibilitychange', onHidden);
  window.addEventListener('pagehide', onHidden);

  // The shortcuts (Ctrl+Z, [ and ], E, ...) also work right after a toolbar button was clicked, not only while the
  // image has the focus; typing in a field is left alone.
  const onPageKey = e => {
    const t = e.target;
    if (e.defaultPrevented || !(t instanceof HTMLElement) || viewer.ui?.root?.contains(t)) return;
    if (t !== document.body && !t.closest('[data-testid=annotation-toolbar]')) return;
    if (t.isContentEditable || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT') return;
    if (t.tagName === 'INPUT' && !['range', 'checkbox', 'radio', 'button'].includes(t.type)) return;
    viewer.onKeyDown(e);
  };
  document.addEventListener('keydown', onPageKey);

  return {
    annotator,
    async load(url) {
      if (!url) return;
      const res = await fetch(url, { credentials: 'same-origin' });
      if (!res.ok) throw new Error(`The saved mask could not be loaded (${res.status}).`);
      annotator.loadMask(new Uint8Array(await res.arrayBuffer()));
      annotator.takeDirtySlices(); // what was loaded is saved already (or is the reference it starts from)
    },
    // Model-assisted: the draft starts from a given mask (the case's reference or a prediction), recorded on the first
    // save; `origin` is the query the first save carries (startFromReference=true, startFromModel=N&startFromMode=M).
    async startFrom(url, origin) {
      if (state.version !== null) throw new Error('Your annotation exists already: it cannot start over from another mask.');
      const res = await fetch(url, { credentials: 'same-origin' });
      if (!res.ok) throw new Error(`The mask to start from could not be loaded (${res.status}).`);
      annotator.loadMask(new Uint8Array(await res.arrayBuffer()));
      annotator.takeDirtySlices();
      state.startFrom = origin || 'startFromReference=true';
      return annotator.getVoxelCount();
    },
    flush: () => flush(false),
    setTool: t => annotator.setTool(t),
    setBrushSize: n => annotator.setBrushSize(n),
    setHuPreset: p => annotator.setHuPreset(p || null),
    setHuRange: (lo, hi) => annotator.setHuRange(lo, hi),
    setInvert: on => annotator.setInvert(on),
    setHuLimitsErase: on => annotator.setHuLimitsErase(on),
    undo: () => annotator.undo(),
    redo: () => annotator.redo(),
    interpolate: () => annotator.interpolate(),
    version: () => state.version,
    counts: () => ({ voxels: annotator.getVoxelCount(), volumeMl: annotator.getVolumeMl(), lesionSlices: annotator.getLesionSlices() }),
    dispose() {
      clearTimeout(state.timer);
      unsubscribe?.();
      document.removeEventListener('visibilitychange', onHidden);
      window.removeEventListener('pagehide', onHidden);
      document.removeEventListener('keydown', onPageKey);
    },
  };
}

// Uploads into a cohort over HTTP (never through the Blazor circuit): files, folders (DICOM series, PNG stacks)
// and zips are staged in a resumable upload session in chunks, then imported as one batch.
// Progress goes to .NET a few times a second; pixels and file contents never do.

const CHUNK = 8 * 1024 * 1024;
const RETRIES = 5;
const SESSION_KEY = cohortId => `sdpm-upload-session-${cohortId}`;

export function createUploader(dotNet, cohortId, dropZone, fileInput, folderInput) {
  const state = { items: [], busy: false, sessionId: null, lastReport: 0, timer: null, aborter: null };

  const addFiles = (list) => {
    if (state.busy) return;
    for (const { file, path } of list) {
      const top = path.includes('/') ? path.split('/')[0] + '/' : path;
      let item = state.items.find(i => i.name === top);
      if (!item) {
        item = { name: top, files: [], size: 0, sent: 0, status: 'waiting', error: null };
        state.items.push(item);
      }
      if (!item.files.some(f => f.path === path)) {
        item.files.push({ file, path });
        item.size += file.size;
      }
    }
    report(true);
  };

  const onInput = (input) => () => {
    addFiles([...input.files].map(f => ({ file: f, path: f.webkitRelativePath || f.name })));
    input.value = '';
  };
  const fileHandler = fileInput ? onInput(fileInput) : null;
  const folderHandler = folderInput ? onInput(folderInput) : null;
  fileInput?.addEventListener('change', fileHandler);
  folderInput?.addEventListener('change', folderHandler);

  const prevent = e => { e.preventDefault(); e.stopPropagation(); };
  const enter = e => { prevent(e); dropZone.classList.add('drop-active'); };
  const leave = e => { prevent(e); dropZone.classList.remove('drop-active'); };
  const drop = async e => {
    leave(e);
    const entries = [...(e.dataTransfer?.items ?? [])].map(i => i.webkitGetAsEntry?.()).filter(Boolean);
    if (entries.length > 0) {
      const found = [];
      for (const entry of entries) await walk(entry, '', found);
      addFiles(found);
    } else {
      addFiles([...(e.dataTransfer?.files ?? [])].map(f => ({ file: f, path: f.name })));
    }
  };
  if (dropZone) {
    dropZone.addEventListener('dragenter', enter);
    dropZone.addEventListener('dragover', enter);
    dropZone.addEventListener('dragleave', leave);
    dropZone.addEventListener('drop', drop);
  }

  function snapshot() {
    const total = state.items.reduce((s, i) => s + i.size, 0);
    const sent = state.items.reduce((s, i) => s + i.sent, 0);
    return {
      busy: state.busy,
      total, sent,
      items: state.items.map(i => ({ name: i.name, fileCount: i.files.length, size: i.size, sent: i.sent, status: i.status, error: i.error })),
    };
  }

  function report(force) {
    const now = performance.now();
    if (!force && now - state.lastReport < 200) {
      if (!state.timer) state.timer = setTimeout(() => { state.timer = null; report(true); }, 220);
      return;
    }
    state.lastReport = now;
    dotNet.invokeMethodAsync('OnUploadProgress', snapshot()).catch(() => {});
  }

  async function api(method, url, body) {
    const res = await fetch(url, {
      method, credentials: 'same-origin', body,
      headers: body ? { 'Content-Type': 'application/octet-stream' } : {},
      signal: state.aborter?.signal,
    });
    return res;
  }

  async function problemText(res) {
    try {
      const j = await res.json();
      return j.title || j.detail || `HTTP ${res.status}`;
    } catch { return `HTTP ${res.status}`; }
  }

  // Resumes the stored session when it holds only files of this upload (a dropped upload chosen again); files of an
  // earlier upload (refused ones kept for the gate's second step) mean the user moved on: that session is discarded.
  async function ensureSession() {
    const stored = localStorage.getItem(SESSION_KEY(cohortId));
    if (stored) {
      const res = await api('GET', `/api/cohorts/${cohortId}/upload-sessions/${stored}`);
      if (res.ok) {
        const files = (await res.json()).files;
        const wanted = new Set(state.items.filter(i => i.status !== 'done').flatMap(i => i.files.map(f => f.path)));
        if (files.every(f => wanted.has(f.path))) {
          state.sessionId = stored;
          return files;
        }
        await api('DELETE', `/api/cohorts/${cohortId}/upload-sessions/${stored}`);
      }
    }
    const res = await api('POST', `/api/cohorts/${cohortId}/upload-sessions`);
    if (!res.ok) throw new Error(await problemText(res));
    state.sessionId = (await res.json()).id;
    localStorage.setItem(SESSION_KEY(cohortId), state.sessionId);
    return [];
  }

  // Sends one chunk with XMLHttpRequest, whose upload events give byte progress.
  function putChunk(path, offset, blob, onProgress) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      const url = `/api/cohorts/${cohortId}/upload-sessions/${state.sessionId}/files?path=${encodeURIComponent(path)}&offset=${offset}`;
      xhr.open('PUT', url);
      xhr.withCredentials = true;
      xhr.upload.onprogress = e => onProgress(e.loaded);
      xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText });
      xhr.onerror = () => resolve({ status: 0, text: '' });
      xhr.onabort = () => resolve({ status: -1, text: '' });
      state.aborter?.signal.addEventListener('abort', () => xhr.abort(), { once: true });
      xhr.send(blob);
    });
  }

  async function serverSize(path) {
    const res = await api('GET', `/api/cohorts/${cohortId}/upload-sessions/${state.sessionId}`);
    if (!res.ok) return null;
    const f = (await res.json()).files.find(x => x.path === path);
    return f ? f.size : 0;
  }

  async function sendFile(item, entry, already) {
    const size = entry.file.size;
    let offset = Math.min(already ?? 0, size);
    const base = item.sent;
    item.sent = base + offset;
    if (already !== undefined && offset >= size) return; // staged in full before (a resumed upload)
    let failures = 0;
    let first = true;
    while (offset < size || first) {
      first = false;
      const end = Math.min(offset + CHUNK, size);
      const r = await putChunk(entry.path, offset, entry.file.slice(offset, end), loaded => { item.sent = base + offset + loaded; report(); });
      if (r.status === -1) throw new Error('Upload cancelled.');
      if (r.status >= 200 && r.status < 300) {
        offset = end;
        item.sent = base + offset;
        failures = 0;
        report();
        continue;
      }
      if (r.status === 413 || r.status === 400 || r.status === 403 || r.status === 404) {
        let msg = `HTTP ${r.status}`;
        try { msg = JSON.parse(r.text).title || msg; } catch { }
        throw new Error(msg);
      }
      // Dropped connection or a server-side conflict: ask the server how much it holds and resume from there.
      if (++failures > RETRIES) throw new Error(`The connection failed ${RETRIES} times while sending ${entry.path}; press Upload again to resume.`);
      await new Promise(res => setTimeout(res, 500 * failures));
      const held = await serverSize(entry.path);
      if (held !== null) { offset = held; item.sent = base + offset; report(true); }
    }
  }

  async function start(acceptDeidentification) {
    if (state.busy) return;
    state.busy = true;
    state.aborter = new AbortController();
    report(true);
    try {
      const staged = await ensureSession();
      const held = new Map(staged.map(f => [f.path, f.size]));
      for (const item of state.items) {
        if (item.status === 'done') continue;
        item.status = 'uploading';
        item.sent = 0;
        item.error = null;
        try {
          for (const entry of item.files) await sendFile(item, entry, held.get(entry.path));
          item.status = 'uploaded';
        } catch (e) {
          item.status = 'failed';
          item.error = e.message;
          throw e;
        } finally {
          report(true);
        }
      }
      return await importSession(acceptDeidentification);
    } catch (e) {
      state.busy = false;
      report(true);
      return { error: e.message, sessionId: state.sessionId };
    }
  }

  async function importSession(acceptDeidentification) {
    state.busy = true;
    state.items.forEach(i => { if (i.status === 'uploaded') i.status = 'importing'; });
    report(true);
    const res = await api('POST', `/api/cohorts/${cohortId}/upload-sessions/${state.sessionId}/import?acceptDeidentification=${acceptDeidentification ? 'true' : 'false'}`);
    state.busy = false;
    if (!res.ok) {
      report(true);
      return { error: await problemText(res), sessionId: state.sessionId };
    }
    const result = await res.json();
    state.items.forEach(i => { i.status = 'done'; });
    if (result.refused === 0) localStorage.removeItem(SESSION_KEY(cohortId));
    const sessionId = state.sessionId;
    report(true);
    return { batchId: result.batchId, imported: result.imported, refused: result.refused, refusedForIdentifyingData: result.refusedForIdentifyingData, sessionId };
  }

  async function discard() {
    if (state.sessionId) {
      await fetch(`/api/cohorts/${cohortId}/upload-sessions/${state.sessionId}`, { method: 'DELETE', credentials: 'same-origin' }).catch(() => {});
    }
    localStorage.removeItem(SESSION_KEY(cohortId));
    state.sessionId = null;
    state.items = [];
    report(true);
  }

  function clear() {
    if (state.busy) return;
    state.items = state.items.filter(i => i.status !== 'done');
    if (state.items.every(i => i.status === 'waiting')) state.items = [];
    report(true);
  }

  function remove(name) {
    if (state.busy) return;
    state.items = state.items.filter(i => i.name !== name);
    report(true);
  }

  function cancel() { state.aborter?.abort(); }

  function dispose() {
    state.aborter?.abort();
    fileInput?.removeEventListener('change', fileHandler);
    folderInput?.removeEventListener('change', folderHandler);
    if (dropZone) {
      dropZone.removeEventListener('dragenter', enter);
      dropZone.removeEventListener('dragover', enter);
      dropZone.removeEventListener('dragleave', leave);
      dropZone.removeEventListener('drop', drop);
    }
  }

  return {
    start, discard, clear, remove, cancel, dispose,
    importAgain: () => {
      state.sessionId ??= localStorage.getItem(SESSION_KEY(cohortId));
      return state.sessionId ? importSession(true) : Promise.resolve({ error: 'Nothing staged to import: upload the files again.' });
    },
    hasSession: () => !!(state.sessionId || localStorage.getItem(SESSION_KEY(cohortId))),
  };
}

async function walk(entry, prefix, out) {
  if (entry.isFile) {
    const file = await new Promise((res, rej) => entry.file(res, rej));
    out.push({ file, path: prefix + entry.name });
  } else if (entry.isDirectory) {
    const reader = entry.createReader();
    for (;;) {
      const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
      if (batch.length === 0) break;
      for (const child of batch) await walk(child, `${prefix}${entry.name}/`, out);
    }
  }
}

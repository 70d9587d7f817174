// The viewer's DOM: canvas, corner texts, slice slider, help panel, loading/error status.
// Everything here is presentation; the viewer core decides what to show.

export const DEFAULT_LABELS = {
    viewer: "CT slice viewer",
    caseName: "",
    loading: "Loading…",
    loadingSlice: "Loading slice {n}…",
    sliceError: "Slice {n} could not be loaded ({status})",
    sliceNetworkError: "Slice {n} could not be loaded (network error)",
    sliceSizeError: "Slice {n} could not be loaded (unexpected size: {detail})",
    retry: "Retry",
    slice: "Slice",
    position: "Pos",
    sliceSlider: "Slice",
    zoom: "Zoom",
    unlinked: "Unlinked (L links)",
    help: "Keyboard and mouse shortcuts",
    helpTitle: "Shortcuts",
    close: "Close",
    canvas: "{case}axial CT slice {n} of {count}, window W {width} L {level}",
    noImage: "No image loaded",
    tools: { windowLevel: "W/L", pan: "Pan", zoom: "Zoom", none: "Pointer", brush: "Brush", eraser: "Eraser", freehand: "Contour", polygon: "Polygon", fill: "Fill" },
};

export const SHORTCUTS = [
    ["Wheel, ↑ / ↓", "Previous / next slice"],
    ["PgUp / PgDn", "5 slices back / forward"],
    ["Home / End", "First / last slice"],
    ["Right drag", "Window / level (→ width, ↓ level)"],
    ["Left drag", "Active tool (W/L, pan or zoom)"],
    ["Middle drag", "Pan"],
    ["Ctrl + wheel", "Zoom at the cursor"],
    ["1 2 3 4", "Brain · Stroke · Subdural · Bone window"],
    ["F", "Fit to viewport"],
    ["R", "Reset (fit and default window)"],
    ["W / P / Z", "Tool: window/level · pan · zoom"],
    ["O", "Overlays on / off"],
    ["S", "Smooth / sharp pixels"],
    ["L", "Side by side: link / unlink the panels (slice, window, zoom, pan and tool follow the panel you use; a crosshair marks the pointer's voxel in the others)"],
    ["B / E", "Annotation: brush · eraser (E toggles)"],
    ["[ / ]", "Annotation: brush size − / + (voxels)"],
    ["Ctrl + brush", "Annotation: erase while held"],
    ["C", "Annotation: freehand contour (filled on release)"],
    ["N", "Annotation: polygon (click points; double-click or Enter closes, Esc cancels)"],
    ["G", "Annotation: flood fill within the HU range"],
    ["I", "Annotation: fill between labelled slices"],
    ["U", "Annotation: HU range off · haemorrhage 50–90 · infarct 10–30"],
    ["Ctrl + Z", "Annotation: undo"],
    ["Ctrl + Shift + Z, Ctrl + Y", "Annotation: redo"],
    ["? or H", "This help"],
    ["Esc", "Close this help"],
];

/** Puts the values of vars into the {name} fields of a label template (unknown fields stay as written). */
export function format(template, vars) {
    return String(template).replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}

function el(tag, attrs = {}, children = []) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        if (k === "class") node.className = v;
        else if (k === "text") node.textContent = v;
        else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) node.append(c);
    return node;
}

let uid = 0;

export class ViewerUi {
    /**
     * @param {HTMLElement} root the host container (children are added, and removed on destroy)
     * @param {typeof DEFAULT_LABELS} labels
     */
    constructor(root, labels) {
        this.root = root;
        this.labels = labels;
        const id = `sdpm-viewer-${++uid}`;
        this.savedAttributes = ["tabindex", "data-testid", "role", "aria-label", "aria-roledescription"].map((a) => [a, root.getAttribute(a)]);
        root.classList.add("sdpm-viewer");
        root.setAttribute("tabindex", "0");
        root.setAttribute("data-testid", "viewer");
        root.setAttribute("role", "group");
        root.setAttribute("aria-roledescription", "image viewer");
        root.setAttribute("aria-label", labels.viewer);

        this.canvas = el("canvas", { class: "sdpm-viewer__canvas", "data-testid": "viewer-canvas", role: "img", "aria-label": labels.noImage });
        this.sliceInfo = el("div", { class: "sdpm-viewer__corner sdpm-viewer__corner--tl", "data-testid": "viewer-slice-info" });
        this.windowInfo = el("div", { class: "sdpm-viewer__corner sdpm-viewer__corner--tr", "data-testid": "viewer-window-info" });
        this.huInfo = el("div", { class: "sdpm-viewer__corner sdpm-viewer__corner--bl", "data-testid": "viewer-hu-info", hidden: true });
        this.legend = el("ul", { class: "sdpm-viewer__legend", "data-testid": "viewer-overlay-legend", "aria-label": "Overlays" });
        this.zoomInfo = el("div", { class: "sdpm-viewer__zoom", "data-testid": "viewer-zoom-info" });
        const br = el("div", { class: "sdpm-viewer__corner sdpm-viewer__corner--br" }, [this.legend, this.zoomInfo]);
        this.notice = el("div", { class: "sdpm-viewer__notice", role: "status", "data-testid": "viewer-notice", hidden: true });
        this.crosshair = el("div", { class: "sdpm-viewer__crosshair", "aria-hidden": "true", "data-testid": "viewer-crosshair", hidden: true });

        this.statusText = el("span", { class: "sdpm-viewer__status-text" });
        this.spinner = el("span", { class: "sdpm-viewer__spinner", "aria-hidden": "true" });
        this.retryButton = el("button", { type: "button", class: "sdpm-viewer__retry", text: labels.retry, hidden: true });
        this.status = el("div", { class: "sdpm-viewer__status", role: "status", "aria-live": "polite", "data-testid": "viewer-status", hidden: true },
            [this.spinner, this.statusText, this.retryButton]);

        const helpId = `${id}-help`;
        this.helpButton = el("button", {
            type: "button", class: "sdpm-viewer__help-button", "data-testid": "viewer-help",
            "aria-label": labels.help, title: `${labels.help} (?)`, "aria-expanded": "false", "aria-controls": helpId, text: "?",
        });
        const rows = SHORTCUTS.map(([keys, what]) => el("tr", {}, [el("th", { scope: "row", text: keys }), el("td", { text: what })]));
        this.helpClose = el("button", { type: "button", class: "sdpm-viewer__help-close", "aria-label": labels.close, text: "×" });
        this.helpPanel = el("div", { id: helpId, class: "sdpm-viewer__help", role: "dialog", "aria-label": labels.help, "data-testid": "viewer-help-panel", hidden: true }, [
            el("div", { class: "sdpm-viewer__help-head" }, [el("span", { text: labels.helpTitle }), this.helpClose]),
            el("table", {}, [el("tbody", {}, rows)]),
        ]);

        this.stage = el("div", { class: "sdpm-viewer__stage" }, [
            this.canvas, this.crosshair, this.sliceInfo, this.windowInfo, this.huInfo, br, this.notice, this.status, this.helpButton, this.helpPanel,
        ]);
        this.slider = el("input", {
            type: "range", class: "sdpm-viewer__slider", "data-testid": "viewer-slider", "aria-label": labels.sliceSlider,
            min: 0, max: 0, step: 1, value: 0, disabled: true,
        });
        this.nodes = [this.stage, this.slider];
        root.append(...this.nodes);
        this.texts = new Map();
    }

    /** Sets textContent only when it changed (no layout work for identical text). */
    setText(node, text) {
        if (this.texts.get(node) !== text) {
            this.texts.set(node, text);
            node.textContent = text;
        }
    }

    setHidden(node, hidden) {
        if (node.hidden !== hidden) node.hidden = hidden;
    }

    /** kind: null (hide), 'loading' or 'error'. */
    showStatus(kind, text, canRetry = false) {
        this.setHidden(this.status, kind === null);
        this.status.classList.toggle("is-error", kind === "error");
        this.setHidden(this.spinner, kind !== "loading");
        this.setHidden(this.retryButton, !(kind === "error" && canRetry));
        this.setText(this.statusText, text ?? "");
    }

    setStale(stale) {
        this.canvas.classList.toggle("is-stale", stale);
    }

    setSlider(count, value) {
        const max = String(Math.max(0, count - 1));
        if (this.slider.max !== max) this.slider.max = max;
        this.slider.disabled = count <= 1;
        const v = String(value);
        if (this.slider.value !== v) this.slider.value = v;
        this.slider.setAttribute("aria-valuetext", `${this.labels.slice} ${value + 1} / ${count}`);
    }

    /** Puts the linked-pointer crosshair at (x, y) CSS pixels on the stage, or hides it (null). */
    setCrosshair(x, y) {
        const show = x !== null && x !== undefined;
        this.setHidden(this.crosshair, !show);
        if (show) {
            const t = `translate(${Math.round(x)}px, ${Math.round(y)}px)`;
            if (this.crosshair.style.transform !== t) this.crosshair.style.transform = t;
        }
    }

    setCursor(cursor) {
        if (this.canvas.style.cursor !== cursor) this.canvas.style.cursor = cursor;
    }

    get helpOpen() {
        return !this.helpPanel.hidden;
    }

    toggleHelp(open = !this.helpOpen) {
        this.helpPanel.hidden = !open;
        this.helpButton.setAttribute("aria-expanded", String(open));
        return open;
    }

    setLegend(overlays) {
        const key = JSON.stringify(overlays.map((o) => [o.id, o.name, o.color, o.visible, o.status]));
        if (this.legendKey === key) return;
        this.legendKey = key;
        this.legend.replaceChildren(...overlays.map((o) => {
            const swatch = el("span", { class: "sdpm-viewer__swatch", "aria-hidden": "true" });
            swatch.style.background = o.color;
            const item = el("li", { class: `sdpm-viewer__legend-item${o.visible ? "" : " is-hidden"}${o.status === "error" ? " is-error" : ""}` },
                [swatch, el("span", { text: o.name + (o.status === "loading" ? " …" : "") })]);
            item.title = o.visible ? o.name : `${o.name} (hidden)`;
            return item;
        }));
    }

    setNotice(lines) {
        const text = lines.join("\n");
        this.setText(this.notice, text);
        this.setHidden(this.notice, text === "");
    }

    destroy() {
        for (const n of this.nodes) n.remove();
        this.root.classList.remove("sdpm-viewer");
        for (const [a, v] of this.savedAttributes) {
            if (v === null) this.root.removeAttribute(a);
            else this.root.setAttribute(a, v);
        }
    }
}

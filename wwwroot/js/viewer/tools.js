// Interaction tools. A tool turns a pointer drag into viewer changes:
//   { name, cursor, start(viewer, p) -> session | null }
//   session: { move(p), end(p) }
// where p = { x, y } (CSS pixels on the stage), { dx, dy } since the drag started, plus the
// PointerEvent as p.event. Tools are looked up by name, so annotation tools (brush, eraser)
// can be registered later with viewer.registerTool(name, tool).

export const windowLevelTool = {
    name: "windowLevel",
    cursor: "crosshair",
    dragCursor: "move",
    start(viewer) {
        const { level, width } = viewer.getWindow();
        // Like OHIF: right = wider, down = higher level. Sensitivity grows with the width so both
        // the stroke window (W 8) and the bone window (W 2800) can be tuned by hand.
        const k = Math.max(1, width / 200);
        return {
            move(p) {
                viewer.setWindow(Math.round(level + p.dy * k), Math.max(1, Math.round(width + p.dx * k)));
            },
            end() {},
        };
    },
};

export const panTool = {
    name: "pan",
    cursor: "grab",
    dragCursor: "grabbing",
    start(viewer) {
        let lastX = 0;
        let lastY = 0;
        return {
            move(p) {
                viewer.panBy(p.dx - lastX, p.dy - lastY);
                lastX = p.dx;
                lastY = p.dy;
            },
            end() {},
        };
    },
};

export const zoomTool = {
    name: "zoom",
    cursor: "zoom-in",
    start(viewer, p) {
        const zoom0 = viewer.getZoom();
        const ax = p.x;
        const ay = p.y;
        return {
            move(q) {
                // Drag up to zoom in, around the point where the drag started.
                viewer.zoomAt(zoom0 * Math.exp(-q.dy * 0.01), ax, ay);
            },
            end() {},
        };
    },
};

export const noTool = {
    name: "none",
    cursor: "crosshair",
    start() {
        return null;
    },
};

export function defaultTools() {
    return new Map([
        [windowLevelTool.name, windowLevelTool],
        [panTool.name, panTool],
        [zoomTool.name, zoomTool],
        [noTool.name, noTool],
    ]);
}

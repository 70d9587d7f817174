// Browser checks of wwwroot/js/viewer.js against the harness page, with Playwright and Debian's chromium.
//
//   PW_DIR=/tmp/viewer-pw node tests/Sdpm.E2E/viewer-harness/check.mjs
//
// PW_DIR is a folder outside the repo where `npm install playwright-core` was run. The script starts
// serve.sh on a loopback port (fixture data in a temp folder), runs the checks, writes screenshots to
// /tmp/viewer-*.png and prints timings and a closing "N passed, N failed" line.

import { createRequire } from "node:module";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const pwDir = process.env.PW_DIR;
if (!pwDir) {
    console.error("Set PW_DIR to a folder with playwright-core installed (npm install playwright-core there).");
    process.exit(2);
}
const { chromium } = createRequire(path.join(path.resolve(pwDir), "noop.js"))("playwright-core");

const port = Number(process.env.VIEWER_PORT ?? 18000 + Math.floor(Math.random() * 2000));
const site = mkdtempSync(path.join(tmpdir(), "viewer-site-"));
const server = spawn(path.join(here, "serve.sh"), [String(port)], { env: { ...process.env, VIEWER_SITE: site }, stdio: ["ignore", "pipe", "pipe"] });
let serverLog = "";
server.stdout.on("data", (d) => (serverLog += d));
server.stderr.on("data", (d) => (serverLog += d));
const origin = `http://127.0.0.1:${port}`;

async function waitForServer() {
    for (let i = 0; i < 100; i++) {
        try {
            const r = await fetch(`${origin}/data/case1/fixture.json`);
            if (r.ok) return;
        } catch {}
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`server did not start:\n${serverLog}`);
}

const results = [];
const timings = {};
async function check(name, fn) {
    try {
        await fn();
        results.push([name, true]);
        console.log(`ok   ${name}`);
    } catch (e) {
        results.push([name, false]);
        console.log(`FAIL ${name}: ${e.message}`);
    }
}
function expect(cond, msg) {
    if (!cond) throw new Error(msg);
}

// ---- page helpers (run in the browser)
const frames = (page, n = 2) => page.evaluate((n) => new Promise((r) => {
    const step = (k) => (k === 0 ? r() : requestAnimationFrame(() => step(k - 1)));
    step(n);
}), n);
const text = (page, id) => page.locator(`[data-testid=${id}]`).innerText();
const canvasStats = (page) => page.evaluate(() => {
    const c = document.querySelector("[data-testid=viewer-canvas]");
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let hash = 2166136261;
    let nonBlack = 0;
    for (let i = 0; i < d.length; i += 4) {
        const v = d[i] | (d[i + 1] << 8) | (d[i + 2] << 16);
        if (v !== 0) nonBlack++;
        hash = Math.imul(hash ^ v, 16777619);
    }
    return { hash: hash >>> 0, nonBlack, total: d.length / 4, width: c.width, height: c.height };
});
const pixelAtVoxel = (page, x, y) => page.evaluate(([x, y]) => {
    const p = window.viewer.voxelToClient(x, y);
    const c = document.querySelector("[data-testid=viewer-canvas]");
    const k = c.width / c.getBoundingClientRect().width;
    const [r, g, b] = c.getContext("2d").getImageData(Math.floor(p.x * k), Math.floor(p.y * k), 1, 1).data;
    return { r, g, b };
}, [x, y]);
const voxelClient = (page, x, y) => page.evaluate(([x, y]) => window.viewer.voxelToClient(x, y), [x, y]);
const state = (page) => page.evaluate(() => window.viewer.getState());

async function openPage(browser, query = "", opts = {}) {
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 }, deviceScaleFactor: opts.dpr ?? 1 });
    const page = await context.newPage();
    const errors = [];
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
    if (opts.route) await opts.route(page);
    await page.goto(`${origin}/index.html${query}`);
    await page.waitForFunction(() => !!window.harnessLoad);
    const loaded = opts.noWait ? null : await page.evaluate(() => window.harnessLoad);
    return { context, page, errors, loaded };
}

await waitForServer();
const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync", "--disable-quic"],
});

try {
    const { page, errors, loaded, context } = await openPage(browser);
    const fixture = await page.evaluate(() => window.fixture);
    const canvas = page.locator("[data-testid=viewer-canvas]");
    const box = await canvas.boundingBox();
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;

    await check("load resolves and the first slice is drawn", async () => {
        expect(loaded.ok, `load failed: ${loaded.error}`);
        expect(loaded.state.slice === 10 && loaded.state.sliceCount === 20, JSON.stringify(loaded.state));
        const s = await canvasStats(page);
        expect(s.nonBlack > s.total * 0.2, `only ${s.nonBlack} of ${s.total} pixels are not black`);
        expect(await text(page, "viewer-slice-info") === "Slice 11 / 20\nPos 10.0 mm", await text(page, "viewer-slice-info"));
        expect(await text(page, "viewer-window-info") === "W 80 L 40\nBrain", await text(page, "viewer-window-info"));
        const aria = await canvas.getAttribute("aria-label");
        expect(await canvas.getAttribute("role") === "img" && aria.includes("slice 11 of 20"), aria);
    });

    await check("a loading state shows while the first slice is fetched", async () => {
        const { page: p5, context: c5, loaded: l5 } = await openPage(browser, "", {
            route: (pg) => pg.route("**/data/case1/slices/10.raw", async (route) => {
                await new Promise((r) => setTimeout(r, 600));
                await route.continue();
            }),
            noWait: true,
        });
        const status = p5.locator("[data-testid=viewer-status]");
        await status.waitFor({ state: "visible" });
        expect(await status.innerText() === "Loading…", await status.innerText());
        await p5.screenshot({ path: "/tmp/viewer-loading.png" });
        const done = await p5.evaluate(() => window.harnessLoad);
        expect(done.ok && !(await status.isVisible()), "status hides once drawn");
        await c5.close();
    });

    await check("the aspect ratio follows the pixel spacing (0.43 x 0.5 mm)", async () => {
        const a = await voxelClient(page, 0, 0);
        const b = await voxelClient(page, 100, 100);
        const ratio = (b.y - a.y) / (b.x - a.x);
        expect(Math.abs(ratio - 0.5 / 0.43) < 1e-6, `height/width per voxel ${ratio}`);
    });

    await check("row 0 is at the top and x grows to the right (marker block)", async () => {
        const marker = await pixelAtVoxel(page, 40, 30);
        const below = await pixelAtVoxel(page, 40, 481);
        const mirrored = await pixelAtVoxel(page, 471, 30);
        expect(marker.r === 255 && below.r === 0 && mirrored.r === 0, JSON.stringify({ marker, below, mirrored }));
    });

    await check("overlay loads and draws reddish over the lesion", async () => {
        await page.waitForFunction(() => window.viewer.getState().overlays[0]?.status === "ready");
        await frames(page);
        const lesion = fixture.probes.find((p) => p.what === "lesion");
        const px = await pixelAtVoxel(page, lesion.x, lesion.y);
        expect(px.r > px.g + 60 && px.r > px.b + 60, JSON.stringify(px));
    });

    await check("HU under the cursor matches the fixture, with voxel coordinates", async () => {
        for (const p of fixture.probes) {
            const c = await voxelClient(page, p.x, p.y);
            await page.mouse.move(c.clientX, c.clientY);
            await frames(page, 1);
            const t = await text(page, "viewer-hu-info");
            expect(t === `HU ${p.hu}\n(${p.x}, ${p.y}, ${p.z})`, `${p.what}: got ${JSON.stringify(t)}, want HU ${p.hu} at (${p.x}, ${p.y}, ${p.z})`);
        }
    });

    await check("HU readout hides when the cursor leaves", async () => {
        await page.mouse.move(5, 5);
        await frames(page, 1);
        expect(!(await page.locator("[data-testid=viewer-hu-info]").isVisible()), "still visible");
    });

    await check("mouse wheel changes the slice (down = next)", async () => {
        await page.mouse.move(cx, cy);
        const before = await canvasStats(page);
        await page.mouse.wheel(0, 100);
        await frames(page);
        expect(await text(page, "viewer-slice-info") === "Slice 12 / 20\nPos 15.0 mm", await text(page, "viewer-slice-info"));
        expect((await canvasStats(page)).hash !== before.hash, "canvas did not change");
        await page.mouse.wheel(0, -100);
        await page.mouse.wheel(0, -100);
        await frames(page);
        expect((await state(page)).slice === 9, "wheel up twice should reach slice index 9");
        const huText = await text(page, "viewer-hu-info");
        expect(huText.endsWith(", 9)"), `HU readout should follow the slice: ${huText}`);
    });

    await check("slider moves with the slice and drives it", async () => {
        const slider = page.locator("[data-testid=viewer-slider]");
        expect(await slider.inputValue() === "9", await slider.inputValue());
        await slider.fill("15");
        await frames(page);
        expect((await state(page)).slice === 15, "slider did not set the slice");
        await slider.fill("10");
        await frames(page);
    });

    await check("keys: arrows, PageUp/PageDown, Home/End only while the viewer has focus", async () => {
        await page.mouse.click(cx, cy, { button: "middle" }); // focus without changing anything
        const s0 = (await state(page)).slice;
        await page.keyboard.press("ArrowDown");
        await page.keyboard.press("ArrowDown");
        expect((await state(page)).slice === s0 + 2, "ArrowDown x2");
        await page.keyboard.press("ArrowUp");
        expect((await state(page)).slice === s0 + 1, "ArrowUp");
        await page.keyboard.press("PageDown");
        expect((await state(page)).slice === s0 + 6, "PageDown");
        await page.keyboard.press("PageUp");
        expect((await state(page)).slice === s0 + 1, "PageUp");
        await page.keyboard.press("End");
        expect((await state(page)).slice === 19, "End");
        await page.keyboard.press("Home");
        expect((await state(page)).slice === 0, "Home");
        await page.keyboard.press("ArrowUp");
        expect((await state(page)).slice === 0, "clamped at 0");
        await page.evaluate(() => window.viewer.setSlice(10));
        // Typing in an input elsewhere on the page does not reach the viewer.
        await page.locator("#notes").click();
        await page.keyboard.type("2 f");
        await page.keyboard.press("ArrowDown");
        const s = await state(page);
        expect(s.slice === 10 && s.width === 80, `keys leaked to the viewer: ${JSON.stringify(s)}`);
        expect(await page.locator("#notes").inputValue() === "2 f", "the input did not get its text");
    });

    await check("right drag changes W/L (right = width, down = level) and the pixels", async () => {
        await page.evaluate(() => window.viewer.setSlice(10));
        await frames(page);
        const before = await canvasStats(page);
        await page.mouse.move(cx, cy);
        await page.mouse.down({ button: "right" });
        await page.mouse.move(cx + 60, cy + 30, { steps: 6 });
        await page.mouse.up({ button: "right" });
        await frames(page);
        expect(await text(page, "viewer-window-info") === "W 140 L 70", await text(page, "viewer-window-info"));
        expect((await canvasStats(page)).hash !== before.hash, "canvas did not change");
    });

    await check("preset keys 1-4", async () => {
        await canvas.focus().catch(() => {});
        await page.locator("[data-testid=viewer]").focus();
        const want = { 1: "W 80 L 40\nBrain", 2: "W 8 L 32\nStroke", 3: "W 215 L 75\nSubdural", 4: "W 2800 L 600\nBone" };
        for (const k of ["2", "3", "4", "1"]) {
            await page.keyboard.press(k);
            await frames(page, 1);
            expect(await text(page, "viewer-window-info") === want[k], `key ${k}: ${await text(page, "viewer-window-info")}`);
        }
    });

    await check("overlay toggle, opacity and outline change the pixels at once", async () => {
        const lesion = fixture.probes.find((p) => p.what === "lesion");
        const on = await canvasStats(page);
        await page.locator("#ov-visible").uncheck();
        await frames(page);
        const off = await canvasStats(page);
        const pxOff = await pixelAtVoxel(page, lesion.x, lesion.y);
        expect(on.hash !== off.hash && pxOff.r === pxOff.g && pxOff.g === pxOff.b, `hidden overlay: ${JSON.stringify(pxOff)}`);
        await page.locator("#ov-visible").check();
        await frames(page);
        expect((await canvasStats(page)).hash === on.hash, "showing it again should restore the same pixels");
        await page.locator("[data-testid=viewer]").focus();
        await page.keyboard.press("o");
        await frames(page);
        expect((await canvasStats(page)).hash === off.hash && !(await state(page)).overlays[0].visible, "O hides");
        await page.keyboard.press("o");
        await frames(page);
        expect((await canvasStats(page)).hash === on.hash, "O shows again");
        await page.evaluate(() => window.viewer.setOverlay("reference", { opacity: 0.9 }));
        await frames(page);
        const strong = await pixelAtVoxel(page, lesion.x, lesion.y);
        expect(strong.r > 240 && strong.g < 80, `opacity 0.9: ${JSON.stringify(strong)}`);
        await page.evaluate(() => window.viewer.setOverlay("reference", { opacity: 0.4, outline: true, color: "#30ff60" }));
        await frames(page);
        const inside = await pixelAtVoxel(page, lesion.x, lesion.y);
        expect(inside.r === inside.g && inside.g === inside.b, `outline mode leaves the inside grey: ${JSON.stringify(inside)}`);
        await page.screenshot({ path: "/tmp/viewer-outline.png" });
        await page.evaluate(() => window.viewer.setOverlay("reference", { outline: false, color: "#ff3030" }));
        await frames(page);
        expect((await canvasStats(page)).hash === on.hash, "back to the filled red overlay");
    });

    await check("null properties (as .NET serialises unset ones) leave settings alone", async () => {
        const o = await page.evaluate(() => {
            window.viewer.setOverlay("reference", { visible: null, opacity: null, color: null, outline: null, name: null });
            return window.viewer.getState().overlays[0];
        });
        expect(o.visible === true && o.opacity === 0.4 && o.color === "#ff3030" && o.outline === false && o.name === "Reference", JSON.stringify(o));
    });

    await check("ctrl+wheel zooms around the cursor; F fits; middle drag pans", async () => {
        const lesion = fixture.probes.find((p) => p.what === "lesion");
        const c = await voxelClient(page, lesion.x, lesion.y);
        await page.mouse.move(c.clientX, c.clientY);
        const z0 = (await state(page)).zoom;
        await page.keyboard.down("Control");
        await page.mouse.wheel(0, -300);
        await page.keyboard.up("Control");
        await frames(page);
        const z1 = (await state(page)).zoom;
        expect(z1 > z0 * 1.5, `zoom ${z0} -> ${z1}`);
        const under = await page.evaluate(([x, y]) => window.viewer.clientToVoxel(x, y), [c.clientX, c.clientY]);
        expect(under.x === lesion.x && under.y === lesion.y, `the voxel under the cursor moved: ${JSON.stringify(under)}`);
        expect((await text(page, "viewer-zoom-info")).startsWith(`Zoom ${Math.round(z1 * 100)} %`), await text(page, "viewer-zoom-info"));
        await page.screenshot({ path: "/tmp/viewer-zoomed.png" });
        await page.mouse.move(cx, cy);
        const v0 = await page.evaluate(([x, y]) => window.viewer.clientToVoxel(x, y), [cx, cy]);
        await page.mouse.down({ button: "middle" });
        await page.mouse.move(cx + 100, cy + 50, { steps: 5 });
        await page.mouse.up({ button: "middle" });
        const v1 = await page.evaluate(([x, y]) => window.viewer.clientToVoxel(x, y), [cx, cy]);
        const expectDx = Math.round(100 / z1);
        expect(Math.abs(v0.x - v1.x - expectDx) <= 1, `pan moved ${v0.x - v1.x} voxels, want ${expectDx}`);
        await page.locator("[data-testid=viewer]").focus();
        await page.keyboard.press("f");
        await frames(page);
        expect(Math.abs((await state(page)).zoom - z0) < 1e-3, "F restores the fitted zoom");
    });

    await check("zoom and pan tools drag with the left button", async () => {
        await page.evaluate(() => window.viewer.setTool("zoom"));
        const z0 = (await state(page)).zoom;
        await page.mouse.move(cx, cy);
        await page.mouse.down();
        await page.mouse.move(cx, cy - 80, { steps: 4 });
        await page.mouse.up();
        expect((await state(page)).zoom > z0 * 1.8, "zoom tool drag up zooms in");
        await page.evaluate(() => window.viewer.setTool("pan"));
        const v0 = await page.evaluate(([x, y]) => window.viewer.clientToVoxel(x, y), [cx, cy]);
        await page.mouse.down();
        await page.mouse.move(cx - 40, cy, { steps: 4 });
        await page.mouse.up();
        const v1 = await page.evaluate(([x, y]) => window.viewer.clientToVoxel(x, y), [cx, cy]);
        expect(v1.x > v0.x, "pan tool drag left shows voxels further right");
        await page.evaluate(() => window.viewer.setTool("windowLevel"));
        const wl0 = await text(page, "viewer-window-info");
        await page.mouse.down();
        await page.mouse.move(cx + 20, cy, { steps: 2 });
        await page.mouse.up();
        expect(await text(page, "viewer-window-info") !== wl0, "W/L tool with the left button");
    });

    await check("R resets zoom, pan and window", async () => {
        await page.locator("[data-testid=viewer]").focus();
        await page.keyboard.press("r");
        await frames(page);
        const s = await state(page);
        const fitZoom = await page.evaluate(() => window.viewer.renderer.fitScale() * window.fixture.spacing[0]);
        expect(s.level === 40 && s.width === 80 && Math.abs(s.zoom - fitZoom) < 1e-3, JSON.stringify(s));
        expect(await text(page, "viewer-window-info") === "W 80 L 40\nBrain", "window text");
    });

    await check("help popover: button, ?, H, Esc", async () => {
        const panel = page.locator("[data-testid=viewer-help-panel]");
        const help = page.locator("[data-testid=viewer-help]");
        await help.click();
        expect(await panel.isVisible() && (await help.getAttribute("aria-expanded")) === "true", "button opens");
        expect((await panel.innerText()).includes("PgUp / PgDn"), "lists shortcuts");
        await page.screenshot({ path: "/tmp/viewer-help.png" });
        await page.keyboard.press("Escape");
        expect(!(await panel.isVisible()), "Esc closes");
        await page.locator("[data-testid=viewer]").focus();
        await page.keyboard.press("?");
        expect(await panel.isVisible(), "? opens");
        await page.keyboard.press("h");
        expect(!(await panel.isVisible()), "H closes");
    });

    await check("state messages to .NET: throttled, small, final state delivered", async () => {
        await page.evaluate(() => (window.stateMessages.length = 0));
        await page.mouse.move(cx, cy);
        await page.mouse.down({ button: "right" });
        const t0 = Date.now();
        for (let i = 1; i <= 60; i++) {
            await page.mouse.move(cx + i, cy + i / 2);
            await page.waitForTimeout(16);
        }
        await page.mouse.up({ button: "right" });
        const dragMs = Date.now() - t0;
        await page.waitForTimeout(400);
        const msgs = await page.evaluate(() => window.stateMessages);
        const final = await state(page);
        const last = msgs[msgs.length - 1].state;
        const rate = (msgs.length - 1) / (dragMs / 1000);
        timings.stateMessages = { duringDragMs: dragMs, messages: msgs.length, maxBytes: Math.max(...msgs.map((m) => m.bytes)) };
        expect(msgs.every((m) => m.method === "OnViewerState"), "method name");
        expect(rate <= 6.5, `${msgs.length} messages in ${dragMs} ms`);
        expect(last.level === final.level && last.width === final.width, "the last message carries the settled state");
        expect(Math.max(...msgs.map((m) => m.bytes)) < 2000, "messages stay small");
        for (const k of ["slice", "sliceCount", "level", "width", "zoom", "tool", "overlays"]) expect(k in last, `state lacks ${k}`);
        await page.keyboard.press("r");
    });

    await check("out-of-order arrival: a late slice never replaces the current one", async () => {
        const { page: p2, context: c2, loaded: l2 } = await openPage(browser, "?slice=0", {
            route: async (pg) => {
                await pg.route("**/data/case1/slices/5.raw", async (route) => { await new Promise((r) => setTimeout(r, 700)); await route.continue(); });
                await pg.route("**/data/case1/slices/7.raw", async (route) => { await new Promise((r) => setTimeout(r, 150)); await route.continue(); });
            },
        });
        expect(l2.ok, "load");
        await p2.evaluate(() => { window.viewer.setSlice(5); window.viewer.setSlice(7); });
        await p2.waitForTimeout(1100);
        await frames(p2);
        const s = await p2.evaluate(() => window.viewer.getState());
        const late = await canvasStats(p2);
        expect(s.slice === 7 && (await text(p2, "viewer-slice-info")).startsWith("Slice 8 / 20"), JSON.stringify(s));
        await p2.evaluate(async () => { window.viewer.setSlice(5); await window.viewer.whenDrawn(); });
        await frames(p2);
        const five = await canvasStats(p2);
        await p2.evaluate(async () => { window.viewer.setSlice(7); await window.viewer.whenDrawn(); });
        await frames(p2);
        const seven = await canvasStats(p2);
        expect(late.hash === seven.hash && five.hash !== seven.hash, "the canvas showed another slice than 7");
        await c2.close();
    });

    await check("a slow slice: the previous image dims with 'Loading slice n…', HU hidden, then the new slice", async () => {
        const { page: p6, context: c6, loaded: l6 } = await openPage(browser, "", {
            route: (pg) => pg.route("**/data/case1/slices/15.raw", async (route) => {
                await new Promise((r) => setTimeout(r, 900));
                await route.continue();
            }),
        });
        expect(l6.ok, "load");
        const box6 = await p6.locator("[data-testid=viewer-canvas]").boundingBox();
        await p6.mouse.move(box6.x + box6.width / 2, box6.y + box6.height / 2);
        await frames(p6);
        expect(await p6.locator("[data-testid=viewer-hu-info]").isVisible(), "HU shown before");
        await p6.evaluate(() => { window.done15 = window.viewer.setSlice(15); });
        await p6.waitForTimeout(300);
        const status = p6.locator("[data-testid=viewer-status]");
        expect(await status.innerText() === "Loading slice 16…", await status.innerText());
        expect(await p6.locator("[data-testid=viewer-canvas].is-stale").count() === 1, "canvas dimmed");
        expect(!(await p6.locator("[data-testid=viewer-hu-info]").isVisible()), "no HU from a slice that is not the current one");
        expect((await text(p6, "viewer-slice-info")).startsWith("Slice 16 / 20"), "slice text follows the request");
        await p6.screenshot({ path: "/tmp/viewer-stale.png" });
        expect(await p6.evaluate(() => window.done15) === true, "setSlice resolves true once drawn");
        await frames(p6);
        expect(!(await status.isVisible()) && (await p6.locator("[data-testid=viewer-canvas].is-stale").count()) === 0, "settled");
        expect(await p6.locator("[data-testid=viewer-hu-info]").isVisible(), `HU back ${JSON.stringify(await p6.evaluate(() => [window.viewer.pointer, window.viewer.getState().slice, window.viewer.displayed?.z]))}`);
        await c6.close();
    });

    await check("rapid wheel scrolling over uncached slices (slow server) ends on the right, drawn slice", async () => {
        const { page: p7, context: c7, loaded: l7, errors: e7 } = await openPage(browser, "?slice=0", {
            route: (pg) => pg.route("**/data/case1/slices/*.raw", async (route) => {
                await new Promise((r) => setTimeout(r, 120));
                await route.continue();
            }),
        });
        expect(l7.ok, "load");
        const b7 = await p7.locator("[data-testid=viewer-canvas]").boundingBox();
        await p7.mouse.move(b7.x + b7.width / 2, b7.y + b7.height / 2);
        for (let i = 0; i < 25; i++) {
            await p7.mouse.wheel(0, 100);
            await p7.waitForTimeout(10);
        }
        const ok = await p7.evaluate(() => window.viewer.whenDrawn());
        const s = await p7.evaluate(() => window.viewer.getState());
        const shown = await canvasStats(p7);
        await p7.evaluate(async () => { window.viewer.setSlice(18); await window.viewer.whenDrawn(); window.viewer.setSlice(19); await window.viewer.whenDrawn(); });
        await frames(p7);
        expect(ok && s.slice === 19 && !s.loading && (await canvasStats(p7)).hash === shown.hash, JSON.stringify({ ok, s }));
        expect(e7.length === 0, e7.join(" | "));
        await c7.close();
    });

    await check("SRLE decoding: multi-byte varints, foreground first, empty slices, errors", async () => {
        const r = await page.evaluate(async () => {
            const { decodeSrle } = await import("/js/viewer.js");
            const varint = (v) => { const o = []; while (v >= 128) { o.push((v & 127) | 128); v >>>= 7; } o.push(v); return o; };
            const file = (X, Y, slices) => new Uint8Array([83, 82, 76, 69, 1, ...varint(X), ...varint(Y), ...varint(slices.length),
                ...slices.flatMap((runs) => [...varint(runs.length), ...runs.flatMap(varint)])]);
            const X = 300, Y = 2;
            const vol = decodeSrle(file(X, Y, [[0, 200, 400], [600], [10, 1, 589]]));
            const s0 = vol.getSlice(0);
            const s2 = vol.getSlice(2);
            const err = (bytes) => { try { decodeSrle(bytes); return "no error"; } catch (e) { return e.message; } };
            return {
                dims: vol.dims.join("x"),
                s0: [s0[0], s0[199], s0[200], s0.reduce((a, b) => a + b, 0)],
                empty: vol.peekSlice(1) === null,
                s2: [s2[9], s2[10], s2[11]],
                badSum: err(file(X, Y, [[0, 200, 300], [600], [600]])),
                badMagic: err(new Uint8Array([1, 2, 3, 4, 1, 1, 1, 1])),
                truncated: err(file(X, Y, [[600], [600], [600]]).slice(0, -1)),
            };
        });
        expect(r.dims === "300x2x3" && r.s0.join() === "1,1,0,200" && r.empty && r.s2.join() === "0,1,0", JSON.stringify(r));
        expect(r.badSum === "The runs of slice 0 sum to 500, expected 600 (300x2)", r.badSum);
        expect(r.badMagic.startsWith("Not an SRLE mask"), r.badMagic);
        expect(r.truncated.startsWith("Mask data ends inside"), r.truncated);
    });

    await check("a slice that fails shows a readable error, not a blank canvas; retry and recovery", async () => {
        const { page: p3, context: c3, loaded: l3, errors: e3 } = await openPage(browser, "?case=case-missing&slice=13");
        expect(!l3.ok && l3.error === "Slice 14 could not be loaded (404)", JSON.stringify(l3));
        const status = p3.locator("[data-testid=viewer-status]");
        expect(await status.isVisible(), "status visible");
        expect((await status.innerText()).includes("Slice 14 could not be loaded (404)"), await status.innerText());
        const blank = await canvasStats(p3);
        expect(blank.nonBlack === 0, "no stale image behind the error");
        expect((await p3.evaluate(() => window.viewer.getState())).error === "Slice 14 could not be loaded (404)", "state.error");
        await p3.screenshot({ path: "/tmp/viewer-error.png" });
        await p3.locator("[data-testid=viewer]").focus();
        await p3.keyboard.press("ArrowUp");
        await frames(p3, 3);
        await p3.waitForFunction(() => window.viewer.getState().slice === 12 && !window.viewer.getState().loading);
        await frames(p3);
        expect(!(await status.isVisible()) && (await canvasStats(p3)).nonBlack > 0, "slice 13 draws after the error");
        await p3.keyboard.press("ArrowDown");
        await frames(p3, 2);
        expect((await status.innerText()).includes("Slice 14 could not be loaded (404)"), "error again on 14");
        await p3.locator(".sdpm-viewer__retry").click();
        await p3.waitForTimeout(300);
        expect((await status.innerText()).includes("(404)"), "retry asks again and still reports the 404");
        expect(e3.every((t) => t.includes("404")), `unexpected console errors: ${e3.join(" | ")}`);
        await c3.close();
    });

    await check("overlay with a bad URL shows a notice, the image still works", async () => {
        await page.evaluate(() => window.viewer.addOverlay({ id: "bad", name: "Prediction", url: "/data/nope.rle", color: "#3080ff" }).catch((e) => (window.badOverlay = e.message)));
        await frames(page);
        const notice = await text(page, "viewer-notice");
        expect(notice === 'Overlay "Prediction" could not be loaded (404)', notice);
        expect(await page.evaluate(() => window.badOverlay) === notice, "addOverlay rejects with the same text");
        expect(await page.evaluate(() => window.viewer.removeOverlay("bad")), "removeOverlay");
        await frames(page);
        expect(!(await page.locator("[data-testid=viewer-notice]").isVisible()), "notice gone");
        errors.splice(0, errors.length, ...errors.filter((t) => !t.includes("404")));
    });

    await check("a painted mask (annotation layer) draws after redraw()", async () => {
        const before = await canvasStats(page);
        await page.evaluate(async () => {
            await window.viewer.addOverlay({ id: "brush", name: "Annotation", url: null, color: "#ffd000", opacity: 0.6 });
            const m = window.viewer.getOverlayMask("brush");
            for (let y = 300; y < 340; y++) m.fill(1, y * 512 + 150, y * 512 + 190);
            window.viewer.redraw("brush");
        });
        await frames(page);
        const px = await pixelAtVoxel(page, 170, 320);
        expect(px.r > 150 && px.g > 100 && px.b < 60, `painted voxel ${JSON.stringify(px)}`);
        const roundTrip = await page.evaluate(async () => {
            const { decodeSrle } = await import("/js/viewer.js");
            const vol = window.viewer.getOverlayVolume("brush");
            const back = decodeSrle(vol.encode());
            const z = window.viewer.getState().slice;
            const a = vol.getSlice(z);
            const b = back.getSlice(z);
            return a.every((v, i) => v === b[i]) && back.peekSlice(z + 1) === null && a.reduce((s, v) => s + v, 0);
        });
        expect(roundTrip === 1600, `SRLE encode/decode round trip: ${roundTrip}`);
        await page.evaluate(() => window.viewer.removeOverlay("brush"));
        await frames(page);
        expect((await canvasStats(page)).hash === before.hash, "removed");
    });

    await check("resize keeps the image fitted and drawn", async () => {
        await page.setViewportSize({ width: 900, height: 640 });
        await frames(page, 3);
        const s = await canvasStats(page);
        const b = await canvas.boundingBox();
        expect(Math.abs(s.width - b.width) <= 1 && s.nonBlack > 0, JSON.stringify({ s, b }));
        await page.setViewportSize({ width: 1200, height: 800 });
        await frames(page, 3);
    });

    await check("timings: cached slice draw and W/L redraw (512x512)", async () => {
        const t = await page.evaluate(async () => {
            const v = window.viewer;
            const median = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
            const max = (a) => Math.max(...a);
            const p95 = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length * 0.95)];
            for (let z = 7; z <= 13; z++) { v.setSlice(z); await v.whenDrawn(); }
            // One change per animation frame, as when scrolling or dragging: time the change plus
            // the frame work it causes (windowing, putImageData, drawImage, corner texts).
            const perFrame = (n, change) => new Promise((resolve) => {
                const out = [];
                const step = () => {
                    const t0 = performance.now();
                    change(out.length);
                    v.frame();
                    out.push(performance.now() - t0);
                    if (out.length < n) requestAnimationFrame(step);
                    else resolve(out);
                };
                requestAnimationFrame(step);
            });
            const slice = await perFrame(120, (i) => v.setSlice(7 + (i % 7)));
            const wl = await perFrame(120, (i) => v.setWindow(40 + (i % 20), 80 + i));
            // Input to pixels through the real path: a key press, then the next animation frame.
            const key = [];
            for (let i = 0; i < 20; i++) {
                const t0 = performance.now();
                v.setSlice(7 + (i % 7));
                await new Promise((r) => requestAnimationFrame(() => r()));
                key.push(performance.now() - t0);
            }
            v.reset();
            return {
                cachedSliceMs: { median: median(slice), p95: p95(slice), max: max(slice) },
                windowLevelMs: { median: median(wl), p95: p95(wl), max: max(wl) },
                lutMs: v.stats.lutMs,
                setSliceToNextFrameMs: { median: median(key), max: max(key) },
            };
        });
        Object.assign(timings, t);
        expect(t.cachedSliceMs.median < 16 && t.windowLevelMs.median < 16, JSON.stringify(t));
    });

    await check("screenshots at devicePixelRatio 1 and 2", async () => {
        await page.evaluate(async () => { window.viewer.setSlice(10); await window.viewer.whenDrawn(); });
        const lesion = fixture.probes.find((p) => p.what === "lesion");
        const c = await voxelClient(page, lesion.x, lesion.y);
        await page.mouse.move(c.clientX, c.clientY);
        await frames(page);
        await page.screenshot({ path: "/tmp/viewer-main.png" });
        const { page: p4, context: c4 } = await openPage(browser, "", { dpr: 2 });
        await p4.waitForFunction(() => window.viewer.getState().overlays[0]?.status === "ready");
        await frames(p4);
        const s = await canvasStats(p4);
        const b = await p4.locator("[data-testid=viewer-canvas]").boundingBox();
        expect(Math.abs(s.width - 2 * b.width) <= 1, `canvas backing ${s.width} for ${b.width} CSS px at dpr 2`);
        await p4.evaluate(() => window.viewer.setPreset("stroke"));
        await frames(p4);
        await p4.screenshot({ path: "/tmp/viewer-dpr2-stroke.png" });
        await c4.close();
    });

    // ---------------------------------------------------------------- annotation tools (own page)
    {
        const { page: pa, context: ca, errors: errorsA } = await openPage(browser);
        const block = fixture.huBlock;
        const dims = fixture.dims;
        const [X] = dims;
        const voxelMl = fixture.spacing[0] * fixture.spacing[1] * fixture.spacing[2] / 1000;
        await pa.evaluate(() => {
            window.annotEvents = [];
            const first = window.startHarnessAnnotation(); // the harness toolbar's own listener
            window.annotator = window.viewer.startAnnotation({ overlayId: "annotation", brushSize: 9, onChange: (e) => window.annotEvents.push(e) });
            window.sameAnnotator = first === window.annotator;
        });
        const A = (fn, arg) => pa.evaluate(fn, arg);
        const focusViewer = () => A(() => document.querySelector("[data-testid=viewer]").focus());
        const sliceCount = (z) => A((z) => window.annotator.getSliceMask(z).reduce((s, v) => s + v, 0), z);
        const setSliceA = async (z) => { await A((z) => window.viewer.setSlice(z), z); await frames(pa); };
        // Drags the mouse through voxel centres (one move per point); ctrl holds Control throughout.
        const resetAnnotator = () => A(() => { const a = window.annotator; a.setHuPreset(null); a.setInvert(false); a.setHuLimitsErase(false); a.setBrushSize(9); a.setFillCap(20000); });
        async function strokeVoxels(points, { ctrl = false } = {}) {
            const clients = await A((pts) => pts.map(([x, y]) => window.viewer.voxelToClient(x, y)), points);
            await pa.mouse.move(clients[0].clientX, clients[0].clientY);
            if (ctrl) await pa.keyboard.down("Control");
            await pa.mouse.down();
            for (const c of clients.slice(1)) await pa.mouse.move(c.clientX, c.clientY);
            await pa.mouse.up();
            if (ctrl) await pa.keyboard.up("Control");
            await frames(pa);
        }
        const line = (x0, x1, y, step = 1) => { const out = []; for (let x = x0; x <= x1; x += step) out.push([x, y]); if (out[out.length - 1][0] !== x1) out.push([x1, y]); return out; };
        // The voxels a brush of `size` covers along a horizontal run of centres (same disk as annotate.js).
        function diskUnion(size, x0, x1, y) {
            const r2 = (size / 2) ** 2;
            const R = Math.ceil(size / 2);
            const out = new Set();
            for (let cx = x0; cx <= x1; cx++) {
                for (let dy = -R; dy <= R; dy++) for (let dx = -R; dx <= R; dx++) if (dx * dx + dy * dy <= r2) out.add((y + dy) * X + cx + dx);
            }
            return out;
        }
        const maskSet = (z) => A((z) => { const m = window.annotator.getSliceMask(z); const o = []; for (let i = 0; i < m.length; i++) if (m[i]) o.push(i); return o; }, z).then((a) => new Set(a));
        const sameSet = (a, b) => a.size === b.size && [...a].every((k) => b.has(k));

        await check("annotation: startAnnotation adds an empty overlay, brush tool, corner text", async () => {
            const s = await state(pa);
            expect(s.tool === "brush" && s.annotation && s.annotation.brushSize === 9 && s.annotation.volumeMl === 0, JSON.stringify(s.annotation));
            expect(s.overlays.some((o) => o.id === "annotation" && o.status === "ready"), JSON.stringify(s.overlays));
            const corner = await text(pa, "viewer-zoom-info");
            expect(corner.includes("Brush 9 vx"), corner);
            expect(await A(() => window.sameAnnotator), "a second startAnnotation() returns the running annotator");
        });

        await check("annotation: a brush stroke paints exactly the brush disks along its path", async () => {
            await setSliceA(10);
            await strokeVoxels(line(200, 240, 250, 4));
            const got = await maskSet(10);
            const want = diskUnion(9, 200, 240, 250);
            expect(sameSet(got, want), `painted ${got.size}, expected ${want.size}`);
            await pa.screenshot({ path: "/tmp/annot-brush.png" });
        });

        await check("annotation: Ctrl held while brushing erases", async () => {
            await strokeVoxels(line(220, 240, 250, 4), { ctrl: true });
            const got = await maskSet(10);
            const want = diskUnion(9, 200, 240, 250);
            for (const k of diskUnion(9, 220, 240, 250)) want.delete(k);
            expect(got.size > 0 && sameSet(got, want), `after erase ${got.size}, expected ${want.size}`);
        });

        await check("annotation: [ and ] change the brush size shown in the corner and the cursor circle", async () => {
            await focusViewer();
            await pa.keyboard.press("]");
            await pa.keyboard.press("]");
            await pa.keyboard.press("]");
            const c = await voxelClient(pa, 300, 420);
            await pa.mouse.move(c.clientX, c.clientY);
            await frames(pa);
            let corner = await text(pa, "viewer-zoom-info");
            expect(corner.includes("Brush 12 vx"), corner);
            const r = await A(() => {
                const el = document.querySelector("[data-testid=viewer-brush-cursor]");
                return { hidden: el.hidden, w: el.getBoundingClientRect().width, zoom: window.viewer.getZoom() };
            });
            expect(!r.hidden && Math.abs(r.w - 12 * r.zoom) < 1.5, `cursor ${JSON.stringify(r)}`);
            await pa.keyboard.press("[");
            await frames(pa);
            corner = await text(pa, "viewer-zoom-info");
            expect(corner.includes("Brush 11 vx") && (await A(() => window.annotator.brushSize)) === 11, corner);
            await pa.screenshot({ path: "/tmp/annot-cursor.png" });
            await A(() => window.annotator.setBrushSize(9));
        });

        await check("annotation: takeDirtySlices reports exactly the changed slices, then clears", async () => {
            const first = await A(() => window.annotator.takeDirtySlices());
            const again = await A(() => window.annotator.takeDirtySlices());
            expect(JSON.stringify(first) === "[10]" && again.length === 0, `${JSON.stringify(first)} then ${JSON.stringify(again)}`);
        });

        await check("annotation: HU-limited brush (haemorrhage 50-90) paints only in-range voxels; invert paints outside", async () => {
            await setSliceA(block.z0 + 5); // slice 10
            await A(() => window.annotator.setHuPreset("haemorrhage"));
            await frames(pa);
            const corner = await text(pa, "viewer-zoom-info");
            expect(corner.includes("HU 50–90"), corner);
            const before = await maskSet(10);
            await A(() => window.annotator.setBrushSize(15));
            await strokeVoxels(line(130, 190, 320, 3));
            const got = await maskSet(10);
            const want = new Set(before);
            for (const k of diskUnion(15, 130, 190, 320)) {
                const x = k % X, y = Math.floor(k / X);
                if (x >= block.x0 && x < block.xs && y >= block.y0 && y < block.y1) want.add(k);
            }
            expect(got.size > before.size && sameSet(got, want), `painted ${got.size - before.size}, expected ${want.size - before.size}`);
            const outOfRange = await A(() => {
                const m = window.annotator.getSliceMask(10);
                const hu = window.viewer.store.entries.get(10).hu;
                let bad = 0;
                for (let i = 0; i < m.length; i++) if (m[i] && i >= 300 * 512 && (hu[i] < 50 || hu[i] > 90)) bad++; // below the earlier unlimited stroke (y 250)
                return bad;
            });
            expect(outOfRange === 0, `${outOfRange} painted voxels out of range`);
            // invert on slice 9: only voxels outside 50-90
            await setSliceA(9);
            await A(() => window.annotator.setInvert(true));
            await strokeVoxels(line(130, 190, 320, 3));
            const inv = await maskSet(9);
            const wantInv = new Set([...diskUnion(15, 130, 190, 320)].filter((k) => { const x = k % X, y = Math.floor(k / X); return !(x >= block.x0 && x < block.xs && y >= block.y0 && y < block.y1); }));
            expect(sameSet(inv, wantInv), `inverted: ${inv.size}, expected ${wantInv.size}`);
            // the range limits erasing only when asked: the painted voxels are out of range (invert off)
            await A(() => { window.annotator.setInvert(false); window.annotator.setHuLimitsErase(true); });
            await strokeVoxels(line(130, 190, 320, 3), { ctrl: true });
            expect((await sliceCount(9)) === inv.size, "a range-limited eraser leaves out-of-range voxels");
            await A(() => window.annotator.setHuLimitsErase(false));
            await strokeVoxels(line(130, 190, 320, 3), { ctrl: true });
            expect((await sliceCount(9)) === 0, "an unlimited eraser clears them");
            await A(() => { window.annotator.setHuPreset(null); window.annotator.setBrushSize(9); });
        });

        await check("annotation: flood fill stays within the HU range (4-connected) and respects the cap", async () => {
            await setSliceA(12);
            await A(() => { window.annotator.setHuPreset("haemorrhage"); window.annotator.setTool("fill"); });
            let c = await voxelClient(pa, 150, 320);
            await pa.mouse.click(c.clientX, c.clientY);
            await frames(pa);
            let fill = await A(() => window.annotator.stats.lastFill);
            const got = await maskSet(12);
            const blockSize = (block.xs - block.x0) * (block.y1 - block.y0);
            const inBlock = [...got].every((k) => { const x = k % X, y = Math.floor(k / X); return x >= block.x0 && x < block.xs && y >= block.y0 && y < block.y1; });
            expect(fill.filled === blockSize && !fill.capped && got.size === blockSize && inBlock, `fill ${JSON.stringify(fill)}, mask ${got.size}`);
            // 10-40 HU: the 20 HU part touches brain (25-35 HU) and leaks into it: the default cap (20000) stops it
            await A(() => window.annotator.setHuRange(10, 40));
            c = await voxelClient(pa, 170, 320);
            await pa.mouse.click(c.clientX, c.clientY);
            await frames(pa);
            fill = await A(() => window.annotator.stats.lastFill);
            expect(fill.capped && fill.filled === 0 && fill.reached <= 20000 && (await sliceCount(12)) === blockSize, `capped fill ${JSON.stringify(fill)}`);
            const corner = await text(pa, "viewer-zoom-info");
            expect(corner.includes("Fill stopped"), corner);
            // a small cap on the 800-voxel block
            fill = await A(() => { window.annotator.setHuPreset("haemorrhage"); return window.annotator.floodFill(150, 320, { z: 11, cap: 100 }); });
            expect(fill.capped && (await sliceCount(11)) === 0, JSON.stringify(fill));
            await A(() => window.annotator.setHuPreset(null));
        });

        await check("annotation: polygon (click points, Enter / double-click closes) fills a known square exactly", async () => {
            await resetAnnotator();
            await setSliceA(14);
            await A(() => window.annotator.setTool("polygon"));
            for (const [x, y] of [[300, 380], [339, 380], [339, 419], [300, 419]]) {
                const c = await voxelClient(pa, x, y);
                await pa.mouse.click(c.clientX, c.clientY);
            }
            await frames(pa);
            await pa.screenshot({ path: "/tmp/annot-polygon-open.png" });
            await focusViewer();
            await pa.keyboard.press("Enter");
            await frames(pa);
            const got = await maskSet(14);
            const inside = [...got].every((k) => { const x = k % X, y = Math.floor(k / X); return x >= 300 && x <= 339 && y >= 380 && y <= 419; });
            expect(got.size === 1600 && inside, `square: ${got.size} voxels, inside ${inside}`);
            // a triangle closed by double-click on slice 15
            await setSliceA(15);
            const pts = [[300, 380], [339, 380], [300, 419]];
            for (const [i, [x, y]] of pts.entries()) {
                const c = await voxelClient(pa, x, y);
                if (i < pts.length - 1) await pa.mouse.click(c.clientX, c.clientY);
                else await pa.mouse.dblclick(c.clientX, c.clientY);
            }
            await frames(pa);
            const tri = await sliceCount(15);
            expect(tri >= 40 * 41 / 2 && tri <= 40 * 41 / 2 + 40, `triangle: ${tri}`);
            expect(!(await A(() => !!window.annotator.polygon)), "polygon closed");
        });

        await check("annotation: freehand contour (C) fills the drawn shape", async () => {
            await resetAnnotator();
            await setSliceA(16);
            await focusViewer();
            await pa.keyboard.press("c");
            expect((await state(pa)).tool === "freehand", "C selects the freehand contour");
            const pts = [];
            for (let i = 0; i <= 48; i++) {
                const t = (i / 48) * 2 * Math.PI;
                pts.push([Math.round(256 + 30 * Math.cos(t)), Math.round(400 + 30 * Math.sin(t))]);
            }
            await strokeVoxels(pts);
            const n = await sliceCount(16);
            const area = Math.PI * 30 * 30;
            expect(n > area * 0.9 && n < area * 1.15, `freehand disk: ${n} voxels, circle area ${Math.round(area)}`);
            await pa.screenshot({ path: "/tmp/annot-freehand.png" });
        });

        await check("annotation: interpolation between slices a and b fills the slices between, areas in between, one undo step", async () => {
            await resetAnnotator();
            const r = await A(() => {
                const a = window.annotator;
                a.fillPolygon([{ x: 250, y: 250 }, { x: 269, y: 250 }, { x: 269, y: 269 }, { x: 250, y: 269 }], { z: 2 }); // 20x20
                a.fillPolygon([{ x: 240, y: 240 }, { x: 279, y: 240 }, { x: 279, y: 279 }, { x: 240, y: 279 }], { z: 6 }); // 40x40
                const steps = a.stats.historySteps;
                const filled = a.interpolate(2, 6);
                const areas = [2, 3, 4, 5, 6].map((z) => a.getSliceMask(z).reduce((s, v) => s + v, 0));
                const oneStep = a.stats.historySteps === steps + 1;
                a.undo();
                const undone = [3, 4, 5].map((z) => a.getSliceMask(z).reduce((s, v) => s + v, 0));
                a.redo();
                const redone = [3, 4, 5].map((z) => a.getSliceMask(z).reduce((s, v) => s + v, 0));
                return { filled, areas, oneStep, undone, redone };
            });
            const [a2, a3, a4, a5, a6] = r.areas;
            expect(JSON.stringify(r.filled) === "[3,4,5]" && a2 === 400 && a6 === 1600, JSON.stringify(r));
            expect(a2 < a3 && a3 < a4 && a4 < a5 && a5 < a6, `areas ${r.areas}`);
            expect(r.oneStep && r.undone.every((n) => n === 0) && JSON.stringify(r.redone) === JSON.stringify(r.areas.slice(1, 4)), JSON.stringify(r));
            await setSliceA(4);
            await pa.screenshot({ path: "/tmp/annot-interpolated.png" });
            // the I key on an empty slice fills the gap around it only
            const k = await A(async () => {
                const a = window.annotator;
                a.fillPolygon([{ x: 250, y: 250 }, { x: 259, y: 250 }, { x: 259, y: 259 }, { x: 250, y: 259 }], { z: 0 });
                await window.viewer.setSlice(1);
                return a.getSliceMask(1).reduce((s, v) => s + v, 0);
            });
            await focusViewer();
            await pa.keyboard.press("i");
            const k1 = await sliceCount(1);
            expect(k === 0 && k1 > 100 && k1 < 400, `I key: slice 1 has ${k1} voxels (between 100 and 400)`);
            await pa.keyboard.press("Control+z");
            await A(() => window.annotator.undo()); // the square on slice 0
        });

        await check("annotation: undo/redo across slices restores exact masks; Ctrl+Z / Ctrl+Shift+Z / Ctrl+Y; redo branch cleared by a new stroke", async () => {
            const hashAll = () => A(() => {
                const a = window.annotator;
                let h = 2166136261;
                for (let z = 0; z < 20; z++) { const m = a.getSliceMask(z); for (let i = 0; i < m.length; i++) if (m[i]) h = Math.imul(h ^ (z * 262144 + i), 16777619); }
                return h >>> 0;
            });
            const steps = await A(() => window.annotator.stats.historySteps);
            const hashes = [await hashAll()];
            await focusViewer();
            for (let i = 0; i < steps; i++) {
                await pa.keyboard.press("Control+z");
                hashes.push(await hashAll());
            }
            expect(!(await A(() => window.annotator.canUndo)) && (await A(() => window.annotator.getVoxelCount())) === 0, "all undone: empty");
            for (let i = steps - 1; i >= 0; i--) {
                await pa.keyboard.press(i % 2 ? "Control+Shift+Z" : "Control+y");
                const h = await hashAll();
                expect(h === hashes[i], `redo to step ${steps - i}: hash ${h} != ${hashes[i]}`);
            }
            // undo two, paint a new stroke: redo is gone, the earlier steps stay
            await pa.keyboard.press("Control+z");
            await pa.keyboard.press("Control+z");
            await A(() => window.annotator.setTool("brush"));
            await setSliceA(17);
            await strokeVoxels(line(200, 210, 200));
            const s = await A(() => ({ ...window.annotator.stats, canRedo: window.annotator.canRedo }));
            expect(!s.canRedo && s.historySteps === steps - 1, `after a new stroke: ${JSON.stringify({ h: s.historySteps, r: s.redoSteps, steps })}`);
        });

        await check("annotation: 120 undo steps and 120 redo steps restore exact states", async () => {
            await resetAnnotator();
            const r = await A(() => {
                const a = window.annotator;
                const snap = () => { const o = []; for (let z = 0; z < 20; z++) o.push(a.getSliceMask(z).slice()); return o; };
                const eq = (p, q) => p.every((m, z) => m.every((v, i) => v === q[z][i]));
                const start = snap();
                const mids = [];
                for (let i = 0; i < 120; i++) {
                    const z = 18 + (i % 2);
                    const x = 10 + (i % 40) * 12, y = 100 + Math.floor(i / 40) * 12;
                    a.fillPolygon([{ x, y }, { x: x + 5, y }, { x: x + 5, y: y + 5 }, { x, y: y + 5 }], { z });
                    if (i === 59) mids.push(snap());
                }
                const end = snap();
                let n = 0;
                for (let i = 0; i < 120; i++) if (a.undo()) n++;
                const earlierLeft = a.stats.historySteps;
                const backToStart = eq(snap(), start);
                let m = 0;
                for (let i = 0; i < 60; i++) if (a.redo()) m++;
                const mid = eq(snap(), mids[0]);
                while (a.redo()) m++;
                return { n, m, earlierLeft, backToStart, mid, atEnd: eq(snap(), end), count: a.getSliceMask(18).reduce((s, v) => s + v, 0) };
            });
            expect(r.n === 120 && r.m === 120 && r.earlierLeft > 0 && r.backToStart && r.mid && r.atEnd && r.count === 60 * 36, JSON.stringify(r));
        });

        await check("annotation: volume in mL = voxel count x spacing / 1000; lesion slices; onChange; state to .NET", async () => {
            const r = await A(() => {
                const a = window.annotator;
                let n = 0;
                const slices = [];
                for (let z = 0; z < 20; z++) { const c = a.getSliceMask(z).reduce((s, v) => s + v, 0); n += c; if (c) slices.push(z); }
                return { n, slices, ml: a.getVolumeMl(), lesion: a.getLesionSlices(), last: window.annotEvents[window.annotEvents.length - 1], events: window.annotEvents.length };
            });
            expect(Math.abs(r.ml - r.n * voxelMl) < 1e-9 && JSON.stringify(r.slices) === JSON.stringify(r.lesion), JSON.stringify({ ml: r.ml, n: r.n, slices: r.slices, lesion: r.lesion }));
            const ev = r.last;
            for (const k of ["dirtySlices", "volumeMl", "lesionSlices", "canUndo", "canRedo", "tool", "brushSize"]) expect(k in ev, `onChange lacks ${k}`);
            expect(Math.abs(ev.volumeMl - r.ml) < 0.001 && r.events > 10, JSON.stringify({ ev: ev.volumeMl, ml: r.ml }));
            await pa.waitForTimeout(300);
            const msg = await A(() => window.stateMessages[window.stateMessages.length - 1]);
            const an = msg.state.annotation;
            expect(an && Math.abs(an.volumeMl - r.ml) < 0.001 && JSON.stringify(an.lesionSlices) === JSON.stringify(r.lesion) && "dirtyCount" in an && msg.bytes < 2000, JSON.stringify(msg).slice(0, 400));
        });

        await check("annotation: loadMask starts from given SRLE bytes (history and dirty set cleared)", async () => {
            const r = await A(() => {
                const a = window.annotator;
                const bytes = a.volume.encode();
                const n = a.getVoxelCount();
                a.fillPolygon([{ x: 5, y: 5 }, { x: 9, y: 5 }, { x: 9, y: 9 }], { z: 0 });
                a.loadMask(bytes);
                return { n, after: a.getVoxelCount(), canUndo: a.canUndo, dirty: a.takeDirtySlices() };
            });
            expect(r.n === r.after && !r.canUndo && r.dirty.length === 0, JSON.stringify(r));
            await frames(pa);
            const bar = await pa.locator("[data-testid=harness-annotation]").innerText();
            expect(bar.includes(" mL · ") && bar.endsWith("0 unsaved") && await pa.locator("#undo").isDisabled(), `harness toolbar: ${bar}`);
        });

        await check("annotation: stroke-to-frame latency (p95 < 16 ms, 512x512)", async () => {
            await setSliceA(10);
            await A(() => { window.annotator.setTool("brush"); window.annotator.setBrushSize(12); window.annotator.resetStats(); });
            const pts = [];
            for (let i = 0; i < 200; i++) pts.push([120 + (i % 100) * 2 + (i >= 100 ? 1 : 0), 180 + Math.floor(i / 100) * 30 + (i % 7)]);
            await strokeVoxels(pts);
            const s = await A(() => window.annotator.stats);
            const frame = await A(() => window.viewer.stats.frameMs);
            timings.annotationStroke = { segments: s.segments, latency: s.latency, paint: s.paint, lastFrameMs: frame };
            expect(s.segments >= 150, `only ${s.segments} segments measured`);
            expect(s.latency.p95 < 16, `latency ${JSON.stringify(s.latency)}`);
            await pa.screenshot({ path: "/tmp/annot-stroke.png" });
        });

        await check("annotation: help panel lists the annotation shortcuts", async () => {
            await focusViewer();
            await pa.keyboard.press("?");
            const help = await pa.locator("[data-testid=viewer-help-panel]").innerText();
            for (const k of ["[ / ]", "Ctrl + Z", "Ctrl + Y", "polygon", "flood fill", "between labelled slices", "Ctrl + brush"]) expect(help.includes(k), `help lacks ${k}`);
            await pa.screenshot({ path: "/tmp/annot-help.png" });
            await pa.keyboard.press("Escape");
        });

        await check("annotation: stopAnnotation and a new load() end annotating cleanly; viewer.stats carries the stroke stats", async () => {
            const r = await A(async () => {
                const v = window.viewer;
                const stats = v.stats.annotation;
                const voxels = window.annotator.getVoxelCount();
                v.stopAnnotation();
                const stopped = { annotation: v.getState().annotation, tool: v.getState().tool, hasBrush: v.tools.has("brush"), overlay: v.getOverlayVolume("annotation").countForeground(10) > 0 };
                const again = v.startAnnotation({ overlayId: "annotation" });
                const restarted = again.getVoxelCount() === voxels && v.getState().tool === "brush";
                const f = window.fixture;
                await v.load({ baseUrl: "/data/case1", dims: f.dims, spacing: f.spacing, origin: f.origin });
                return { segments: stats?.segments, stopped, restarted, afterLoad: { annotation: v.getState().annotation, tool: v.getState().tool, annotator: v.getAnnotator() } };
            });
            expect(r.segments > 0, "viewer.stats.annotation");
            expect(r.stopped.annotation === null && r.stopped.tool === "windowLevel" && !r.stopped.hasBrush && r.stopped.overlay, JSON.stringify(r.stopped));
            expect(r.restarted && r.afterLoad.annotation === null && r.afterLoad.tool === "windowLevel" && r.afterLoad.annotator === null, JSON.stringify(r));
        });

        await check("annotation: on an overlay that is still loading, the figures follow once its mask arrives", async () => {
            const r = await A(async () => {
                const v = window.viewer;
                const loading = v.addOverlay({ id: "mine", name: "Mine", url: "/data/case1/reference.rle", color: "#00d1ff" });
                const a = v.startAnnotation({ overlayId: "mine" });
                const early = { voxels: a.getVoxelCount(), status: v.getState().overlays.find((o) => o.id === "mine").status, undo: a.undo() };
                await loading;
                await new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res)));
                return { early, voxels: a.getVoxelCount(), slices: a.getLesionSlices().length, ml: a.state().volumeMl };
            });
            expect(r.early.voxels === 0 && r.voxels === fixture.lesionVoxels && r.slices > 0, JSON.stringify(r));
            // loadMask while the overlay's url is still loading: the given mask stays
            const k = await A(async () => {
                const v = window.viewer;
                const { MaskVolume } = await import("/js/viewer.js");
                const loading = v.addOverlay({ id: "mine2", name: "Mine 2", url: "/data/case1/reference.rle" }).catch((e) => e.message);
                const a = v.startAnnotation({ overlayId: "mine2" });
                const m = MaskVolume.empty(window.fixture.dims);
                m.getSlice(3).fill(1, 0, 50);
                a.loadMask(m);
                const msg = await loading;
                await new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res)));
                return { voxels: a.getVoxelCount(), msg: String(msg), status: v.getState().overlays.find((o) => o.id === "mine2").status };
            });
            expect(k.voxels === 50 && k.status === "ready", JSON.stringify(k));
            await A(() => { window.viewer.removeOverlay("mine2"); window.viewer.removeOverlay("mine"); });
        });

        await check("annotation: no console errors", async () => {
            expect(errorsA.length === 0, errorsA.join(" | "));
        });
        await ca.close();
    }

    // Linked viewers (side-by-side review): two more viewers of the same case, of different sizes, in one sync group.
    {
        const { page: lp, errors: errorsL, context: cl } = await openPage(browser);
        await lp.evaluate(async () => {
            const { createViewer } = await import("/js/viewer.js");
            // Fixed in the top left corner, over the harness page's own viewer, so that the mouse can reach them.
            const make = (left, w, h) => {
                const el = document.createElement("div");
                el.style.cssText = `position:fixed;top:0;left:${left}px;width:${w}px;height:${h}px;z-index:10`;
                document.body.append(el);
                return createViewer(el, { sync: "pair" });
            };
            const def = { baseUrl: "/data/case1", dims: window.fixture.dims, spacing: window.fixture.spacing, origin: window.fixture.origin, initialSlice: 4 };
            window.linkA = make(0, 360, 320);
            window.linkB = make(370, 300, 420);
            window.linkDef = def;
            await Promise.all([window.linkA.load(def), window.linkB.load(def)]);
        });
        const centreVoxel = (name) => lp.evaluate((name) => {
            const v = window[name];
            const r = v.ui.canvas.getBoundingClientRect();
            return v.renderer.cssToVoxel(r.width / 2, r.height / 2);
        }, name);

        await check("linked viewers: the slice, window and tool follow the viewer used, both ways", async () => {
            const r = await lp.evaluate(async () => {
                const { linkA: a, linkB: b } = window;
                await a.setSlice(9);
                a.setWindow(55, 123);
                a.setTool("pan");
                const one = { slice: b.getState().slice, level: b.getState().level, width: b.getState().width, tool: b.getState().tool, linked: b.getState().linked };
                await b.setSlice(12);
                return { one, back: a.getState().slice };
            });
            expect(r.one.slice === 9 && r.one.level === 55 && r.one.width === 123 && r.one.tool === "pan" && r.one.linked === true, JSON.stringify(r));
            expect(r.back === 12, JSON.stringify(r));
        });
        await check("linked viewers: the wheel over one scrolls the other", async () => {
            const box = await lp.evaluate(() => window.linkB.ui.canvas.getBoundingClientRect().toJSON());
            await lp.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
            await lp.mouse.wheel(0, 100);
            await frames(lp);
            const r = await lp.evaluate(() => [window.linkA.getState().slice, window.linkB.getState().slice]);
            expect(r[0] === 13 && r[1] === 13, JSON.stringify(r));
        });
        await check("linked viewers: a crosshair marks the pointer's voxel in the other viewer", async () => {
            const box = await lp.evaluate(() => window.linkA.ui.canvas.getBoundingClientRect().toJSON());
            await lp.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.6);
            await frames(lp);
            const r = await lp.evaluate(() => {
                const { linkA: a, linkB: b } = window;
                const cross = b.ui.crosshair;
                const m = /translate\((-?\d+)px, (-?\d+)px\)/.exec(cross.style.transform);
                const at = m ? b.renderer.cssToVoxel(Number(m[1]), Number(m[2])) : null;
                const ra = a.ui.canvas.getBoundingClientRect();
                const under = a.renderer.cssToVoxel(ra.width * 0.3, ra.height * 0.6);
                return { hidden: cross.hidden, at, under, ownHidden: a.ui.crosshair.hidden };
            });
            expect(!r.hidden && r.ownHidden, JSON.stringify(r));
            expect(Math.abs(r.at[0] - r.under[0]) < 1.5 && Math.abs(r.at[1] - r.under[1]) < 1.5, JSON.stringify(r));
            await lp.mouse.move(2, 2); // off both viewers
            await frames(lp);
            expect(await lp.evaluate(() => window.linkB.ui.crosshair.hidden), "the crosshair stays after the pointer left");
        });
        await check("linked viewers: zoom and pan keep the same image point at the centre, at the same zoom relative to fit", async () => {
            const fitB = await lp.evaluate(() => window.linkB.getZoom());
            await lp.evaluate(() => {
                const a = window.linkA;
                a.zoomAt(a.getZoom() * 2.5, 100, 90);
                a.panBy(23, -17);
            });
            const [ca, cb] = [await centreVoxel("linkA"), await centreVoxel("linkB")];
            const zoomB = await lp.evaluate(() => window.linkB.getZoom());
            expect(Math.abs(ca[0] - cb[0]) < 0.5 && Math.abs(ca[1] - cb[1]) < 0.5, `centres ${ca} vs ${cb}`);
            expect(Math.abs(zoomB / fitB - 2.5) < 0.01, `zoom of B ${zoomB} (fit ${fitB})`);
            await lp.evaluate(() => window.linkB.fit());
            const zoomA = await lp.evaluate(() => [window.linkA.getZoom(), window.linkA.renderer.view.fitted]);
            expect(zoomA[1] === true, `F in one fits the other: ${zoomA}`);
        });
        await check("linked viewers: L unlinks (each on its own, 'Unlinked' in the corner) and links again, aligning the other", async () => {
            await lp.evaluate(() => window.linkA.ui.root.focus());
            await lp.keyboard.press("l");
            const r = await lp.evaluate(async () => {
                const { linkA: a, linkB: b } = window;
                const linked = [a.getState().linked, b.getState().linked];
                await a.setSlice(3);
                await new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res)));
                return { linked, b: b.getState().slice, corner: b.ui.sliceInfo.textContent };
            });
            expect(r.linked[0] === false && r.linked[1] === false && r.b !== 3 && r.corner.includes("Unlinked"), JSON.stringify(r));
            await lp.keyboard.press("l");
            const again = await lp.evaluate(() => [window.linkB.getState().linked, window.linkB.getState().slice]);
            expect(again[0] === true && again[1] === 3, JSON.stringify(again));
        });
        await check("linked viewers: a viewer joining later opens where the group is; disposing one leaves the others linked", async () => {
            const r = await lp.evaluate(async () => {
                const { createViewer, findSyncGroup } = await import("/js/viewer.js");
                const el = document.createElement("div");
                el.style.cssText = "position:fixed;top:0;left:680px;width:200px;height:200px;z-index:10";
                document.body.append(el);
                const c = createViewer(el, { sync: "pair" });
                const s = await c.load(window.linkDef);
                const joined = { slice: s.slice, level: s.level, width: s.width, tool: s.tool };
                window.linkA.dispose();
                await window.linkB.setSlice(6);
                return { joined, size: findSyncGroup("pair").viewers.size, c: c.getState().slice };
            });
            expect(r.joined.slice === 3 && r.joined.level === 55 && r.joined.width === 123 && r.joined.tool === "pan", JSON.stringify(r));
            expect(r.size === 2 && r.c === 6, JSON.stringify(r));
        });
        await check("linked viewers: no console errors", async () => {
            expect(errorsL.length === 0, errorsL.join(" | "));
        });
        await cl.close();
    }

    await check("dispose removes the viewer's DOM and listeners", async () => {
        const r = await page.evaluate(() => {
            const el = document.getElementById("viewer");
            window.viewer.dispose();
            el.dispatchEvent(new WheelEvent("wheel", { deltaY: 100, bubbles: true, cancelable: true }));
            return { children: el.children.length, testid: el.getAttribute("data-testid"), cls: el.className };
        });
        expect(r.children === 0 && r.testid === null && r.cls === "", JSON.stringify(r));
    });

    await check("no console errors on the main page", async () => {
        expect(errors.length === 0, errors.join(" | "));
    });
    await context.close();
} finally {
    await browser.close();
    server.kill();
    rmSync(site, { recursive: true, force: true });
}

console.log("timings:", JSON.stringify(timings, (k, v) => (typeof v === "number" ? Math.round(v * 100) / 100 : v), 2));
const passed = results.filter((r) => r[1]).length;
console.log(`${passed} passed, ${results.length - passed} failed`);
process.exit(results.length === passed ? 0 : 1);

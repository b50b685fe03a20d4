// pagemap.js - a region's pages drawn on a canvas from the server's runs (never page by page, so a
// region of millions of pages costs as much as its number of runs), with a one-line overview of the
// whole region above it.  It draws what the view state says (the pages v0..v1 in view, the runs, the
// cursor) and answers which pages lie under a point; fetching and controls belong to the region view.
import { int } from './fmt.js';
import { STATES, COLORS } from './pagestates.js';

const MAP_H = 360;
// The state colours as canvas pixels (RGBA bytes in memory: little-endian 0xAABBGGRR words).
const PIXEL = COLORS.map((c) => (0xff000000 | (parseInt(c.slice(5, 7), 16) << 16) | (parseInt(c.slice(3, 5), 16) << 8) | parseInt(c.slice(1, 3), 16)) >>> 0);

// S: the region view's state ({N, v0, v1, runs, windowed, cursor}), read at every draw.
export function pageMap(canvas, overview, S) {
  let g = null;

  function grid() {
    const W = Math.max(200, canvas.parentElement.clientWidth);
    const V = Math.max(1, S.v1 - S.v0);
    let s = Math.floor(Math.sqrt((W * MAP_H) / V));
    s = Math.max(2, Math.min(40, s));
    const cols = Math.max(1, Math.floor(W / s));
    const maxRows = Math.floor(MAP_H / s);
    const ppc = Math.max(1, Math.ceil(V / (cols * maxRows)));
    const cells = Math.ceil(V / ppc);
    const rows = Math.ceil(cells / cols);
    return { W, s, cols, rows, ppc, cells };
  }

  // The index of the first run that ends after page p (runs are in address order, disjoint).
  function firstRun(p) {
    let lo = 0, hi = S.runs.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (S.runs[m][1] <= p) lo = m + 1;
      else hi = m;
    }
    return lo;
  }

  // Each cell's state: the most notable (highest index) of the runs in it, from the runs in view
  // only, so a zoom or a pan costs the runs in view plus the cells, never every run of the region.
  function cellStates() {
    const cells = new Int8Array(g.cells);
    const runs = S.runs;
    for (let i = firstRun(S.v0); i < runs.length; i++) {
      const [a, b, k] = runs[i];
      if (a >= S.v1) break;
      if (k <= 0) continue;
      const c0 = Math.floor((Math.max(a, S.v0) - S.v0) / g.ppc), c1 = Math.ceil((Math.min(b, S.v1) - S.v0) / g.ppc);
      for (let c = c0; c < c1; c++) if (cells[c] < k) cells[c] = k;
    }
    return cells;
  }

  function draw() {
    g = grid();
    const ctx = sizeCanvas(canvas, g.cols * g.s, g.rows * g.s);
    const pad = g.s >= 6 ? 1 : 0;
    const fill = (c0, c1, color) => {
      ctx.fillStyle = color;
      while (c0 < c1) {
        const row = Math.floor(c0 / g.cols), col = c0 % g.cols;
        const n = Math.min(c1 - c0, g.cols - col);
        if (pad) for (let i = 0; i < n; i++) ctx.fillRect((col + i) * g.s, row * g.s, g.s - pad, g.s - pad);
        else ctx.fillRect(col * g.s, row * g.s, n * g.s, g.s);
        c0 += n;
      }
    };
    ctx.clearRect(0, 0, g.cols * g.s, g.rows * g.s);
    if (!S.runs) {
      fill(0, g.cells, '#cbd5e1');
      ctx.fillStyle = '#0f172a';
      ctx.font = '14px system-ui, sans-serif';
      ctx.fillText('Too many runs in view to draw: zoom in.', 12, 24);
    } else {
      const cells = cellStates();
      if (!pad) paintPixels(ctx, cells);
      else for (let c = 0; c < g.cells; c++) fill(c, c + 1, COLORS[cells[c]]);
    }
    if (S.cursor !== null && S.cursor >= S.v0 && S.cursor < S.v1) {
      const c = Math.floor((S.cursor - S.v0) / g.ppc);
      ctx.strokeStyle = '#0f172a';
      ctx.lineWidth = 2;
      ctx.strokeRect((c % g.cols) * g.s + 1, Math.floor(c / g.cols) * g.s + 1, Math.max(2, g.s - 2), Math.max(2, g.s - 2));
    }
    drawOverview(g.cols * g.s);
    describe();
    return g;
  }

  // Small cells straight into the canvas's pixels: the whole of a scattered region is some 100,000
  // cells in tens of thousands of stretches, and one fillRect each would take far longer.
  function paintPixels(ctx, cells) {
    const W = canvas.width, H = canvas.height, k = W / (g.cols * g.s);
    const img = ctx.createImageData(W, H);
    const px = new Uint32Array(img.data.buffer);
    for (let r = 0; r < g.rows; r++) {
      const y0 = Math.round(r * g.s * k), y1 = Math.min(H, Math.round((r + 1) * g.s * k));
      const at = y0 * W;
      for (let c = 0, i = r * g.cols; c < g.cols && i < g.cells; c++, i++)
        px.fill(PIXEL[cells[i]], at + Math.round(c * g.s * k), at + Math.round((c + 1) * g.s * k));
      for (let y = y0 + 1; y < y1; y++) px.copyWithin(y * W, at, at + W);
    }
    ctx.putImageData(img, 0, 0);
  }

  // what the map shows, page for page, as data for tests and as words for screen readers
  function describe() {
    const tally = {};
    if (S.runs) for (let i = firstRun(S.v0); i < S.runs.length; i++) {
      const [a, b, k] = S.runs[i];
      if (a >= S.v1) break;
      const n = Math.min(b, S.v1) - Math.max(a, S.v0);
      if (n > 0) { const key = k >= 0 ? STATES[k][0] : 'unknown'; tally[key] = (tally[key] || 0) + n; }
    }
    canvas.dataset.states = JSON.stringify(tally);
    canvas.setAttribute('aria-label', `Page map: ${Object.entries(tally).map(([k, n]) => `${int(n)} ${k.replace(/_/g, ' ')}`).join(', ')}. ` +
      'Arrow keys move the page cursor, plus and minus zoom, 0 shows the whole region, Enter zooms in or translates the page.');
  }

  // The whole region's strip is drawn once per set of runs and width, then copied at each draw.
  let strip = null;
  function overviewStrip(w) {
    if (strip && strip.runs === S.runs && strip.w === w && strip.N === S.N) return strip.canvas;
    const c = document.createElement('canvas');
    c.width = w;
    c.height = 12;
    const ctx = c.getContext('2d');
    const ppx = S.N / w;
    ctx.fillStyle = COLORS[0];
    ctx.fillRect(0, 0, w, 12);
    // each pixel takes the most notable state in it, as the map's cells do
    const px = new Int8Array(w);
    for (const [a, b, k] of S.runs) {
      if (k <= 0) continue;
      const x1 = Math.min(w, Math.max(Math.floor(a / ppx) + 1, Math.ceil(b / ppx)));
      for (let x = Math.floor(a / ppx); x < x1; x++) if (px[x] < k) px[x] = k;
    }
    for (let x = 0; x < w; x++) if (px[x] > 0) { ctx.fillStyle = COLORS[px[x]]; ctx.fillRect(x, 0, 1, 12); }
    strip = { runs: S.runs, w, N: S.N, canvas: c };
    return c;
  }

  function drawOverview(w) {
    if (S.windowed || !S.runs || S.N <= 1) { overview.hidden = true; return; }
    overview.hidden = false;
    const ctx = sizeCanvas(overview, w, 12);
    const ppx = S.N / w;
    ctx.drawImage(overviewStrip(w), 0, 0, w, 12);
    if (S.v1 - S.v0 < S.N) {
      ctx.strokeStyle = '#0f172a';
      ctx.lineWidth = 2;
      ctx.strokeRect(S.v0 / ppx + 1, 1, Math.max(3, (S.v1 - S.v0) / ppx - 2), 10);
    }
  }

  // the state index of page p, by binary search over the sorted runs; null when not loaded
  function stateAt(p) {
    if (!S.runs) return null;
    let lo = 0, hi = S.runs.length - 1;
    while (lo <= hi) {
      const m = (lo + hi) >> 1;
      const [a, b] = S.runs[m];
      if (p < a) hi = m - 1;
      else if (p >= b) lo = m + 1;
      else return S.runs[m][2];
    }
    return null;
  }

  function cellPages(cell) {
    const p0 = S.v0 + cell * g.ppc;
    return [p0, Math.min(S.v1, p0 + g.ppc)];
  }

  // the pages (and for one page per cell, the byte offset) under a point of the canvas
  function at(ev, ps) {
    if (!g) return null;
    const rect = canvas.getBoundingClientRect();
    const x = ev.clientX - rect.left, y = ev.clientY - rect.top;
    const col = Math.floor(x / g.s), row = Math.floor(y / g.s);
    if (col < 0 || col >= g.cols || row < 0) return null;
    const cell = row * g.cols + col;
    if (cell >= g.cells) return null;
    const [p0, p1] = cellPages(cell);
    const offset = g.ppc === 1 ? Math.min(ps - 1, Math.max(0, Math.floor(((x - col * g.s) / g.s) * ps))) : 0;
    return { p0, p1, offset };
  }

  return { draw, stateAt, cellPages, at, firstRun, grid: () => g };
}

function sizeCanvas(c, w, hgt) {
  const dpr = window.devicePixelRatio || 1;
  c.width = Math.round(w * dpr);
  c.height = Math.round(hgt * dpr);
  c.style.width = `${w}px`;
  c.style.height = `${hgt}px`;
  const ctx = c.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

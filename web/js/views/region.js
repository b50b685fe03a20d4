// region.js - a region's pages: a canvas map drawn from the server's runs (never page by page, so a
// region of millions of pages costs as much as its number of runs), zoomable down to single pages,
// where hovering shows the address as page number + offset and, when the server may read them, the
// page's frame, physical address, flags and map count (frames=1).
import { api, qs } from '../api.js';
import { h, clear, debounce } from '../dom.js';
import { bytes, int, hex, pct } from '../fmt.js';
import { gone } from './process.js';
import { KIND_LABEL } from './layout.js';

export const STATES = [
  ['absent', 'not present', 'no frame yet: the first touch will fault one in'],
  ['file_or_shared', 'file or shared', 'backed by a file page or shared with another mapping'],
  ['anon', 'private (anonymous)', 'a private frame of this process'],
  ['zero_page', 'zero page', 'read but never written: the kernel\'s shared page of zeros; costs no RSS'],
  ['huge', 'huge page', 'part of a 2 MiB transparent huge page'],
  ['swapped', 'swapped out', 'moved to swap; the next touch reads it back'],
];
export const STATE_INDEX = Object.fromEntries(STATES.map(([k], i) => [k, i]));
const UNKNOWN_STATE = -1;
const COLORS = ['#e2e8f0', '#16a34a', '#2563eb', '#eab308', '#9333ea', '#dc2626'];
export const STATE_COLORS = Object.fromEntries(STATES.map(([k], i) => [k, COLORS[i]]));
const FRAMES_MAX = 4096;
const MAP_H = 360;

export function mount(root, { pid, start }, app) {
  document.title = `${pid} ${start} · memscope`;
  const ps = (app.health && app.health.page_size) || 4096;
  const head = h('div', { class: 'phead' }, h('h1', { text: `Region ${start}` }));
  const counts = h('section', { class: 'stats', 'aria-label': 'Page counts' });
  const info = h('p', { class: 'hint', id: 'viewinfo', 'aria-live': 'polite' });
  const overview = h('canvas', { class: 'overview', 'aria-hidden': 'true' });
  const canvas = h('canvas', { class: 'pagemap', tabindex: '0', id: 'pagemap', role: 'img',
    'aria-label': 'Page map. Arrow keys move the page cursor, plus and minus zoom, 0 shows the whole region, Enter zooms in or translates the page.' });
  const readout = h('div', { class: 'readout', id: 'readout', 'aria-live': 'polite' }, h('span', { class: 'muted', text: 'Point at a page (or focus the map and use the arrow keys).' }));
  const zin = h('button', { type: 'button', text: 'Zoom in', title: 'zoom in (+)' });
  const zout = h('button', { type: 'button', text: 'Zoom out', title: 'zoom out (−)' });
  const whole = h('button', { type: 'button', text: 'Whole region', title: '(0)' });
  const prevB = h('button', { type: 'button', text: '◀ lower', title: 'show lower addresses' });
  const nextB = h('button', { type: 'button', text: 'higher ▶', title: 'show higher addresses' });
  const note = h('div');
  const method = h('p', { class: 'hint' });
  root.append(head, counts, method, legendEl(), h('div', { class: 'toolbar' }, zin, zout, whole, prevB, nextB, info),
    note, h('div', { class: 'mapwrap' }, overview, canvas), readout,
    h('p', { class: 'hint', text: 'Each cell is one page when zoomed in far enough; zoomed out, a cell covers several pages and takes the colour of the most notable state among them (so one resident page in a thousand still shows). Click a cell to zoom in; at one page per cell, click to translate that address.' }));

  const S = {
    region: null, N: 0, base: 0n, v0: 0, v1: 0, runs: null, runsRange: null, windowed: false,
    frames: new Map(), framesRange: null, grid: null, cursor: null, hover: null, ctl: null, fctl: null,
  };

  const pageAddr = (i) => S.base + BigInt(i) * BigInt(ps);

  async function fetchRuns(p0, p1, signal) {
    return api(`/processes/${pid}/pagemap${qs({ start: hex(pageAddr(p0)), end: hex(pageAddr(p1)) })}`, { signal });
  }

  function parseRuns(ans) {
    const base = S.base, bps = BigInt(ps);
    return ans.runs.map(([a, b, st]) => [Number((BigInt(a) - base) / bps), Number((BigInt(b) - base) / bps), STATE_INDEX[st] ?? UNKNOWN_STATE]);
  }

  const refresh = async () => {
    if (S.ctl) S.ctl.abort();
    S.ctl = new AbortController();
    const signal = S.ctl.signal;
    let maps;
    try {
      maps = await api(`/processes/${pid}/maps`, { signal });
    } catch (e) {
      if (e.processGone) { gone(root, pid, app); return; }
      throw e;
    }
    const r = maps.regions.find((x) => x.start === start);
    if (!r) {
      clear(note).append(h('div', { class: 'msg warn', role: 'alert' }, `No region of process ${pid} starts at ${start} any more (it was unmapped, or never was). `,
        h('a', { href: `#/process/${pid}`, text: 'Back to the process' })));
      return;
    }
    clear(note);
    const first = !S.region || S.region.end !== r.end;
    S.region = r;
    S.base = BigInt(r.start);
    S.N = Number((BigInt(r.end) - S.base) / BigInt(ps));
    if (first) { S.v0 = 0; S.v1 = S.N; S.frames = new Map(); S.framesRange = null; }
    drawHead(r);
    let whole;
    try {
      whole = await fetchRuns(0, S.N, signal);
      S.windowed = false;
      S.runs = parseRuns(whole);
      S.runsRange = [0, S.N];
    } catch (e) {
      if (e.processGone) { gone(root, pid, app); return; }
      if (e.status !== 413) throw e;
      // Too fragmented to send at once: counts for the whole region, runs for what is in view.
      whole = await api(`/processes/${pid}/pagemap${qs({ start: r.start, end: r.end, runs: 0 })}`, { signal });
      S.windowed = true;
      S.runs = null;
      note.append(h('div', { class: 'msg info', text: `This region has too many runs to send at once (${e.message}). Zoom in: the map loads the part in view.` }));
    }
    drawCounts(whole);
    S.frames = new Map();
    S.framesRange = null;
    await loadView();
  };

  async function loadView() {
    if (S.windowed && !(S.runsRange && S.runsRange[0] <= S.v0 && S.v1 <= S.runsRange[1])) {
      try {
        const ans = await fetchRuns(S.v0, S.v1);
        S.runs = parseRuns(ans);
        S.runsRange = [S.v0, S.v1];
      } catch (e) {
        if (e.status !== 413) throw e;
        S.runs = null;
        S.runsRange = null;
      }
    }
    draw();
    loadFrames();
  }

  // frames for the pages in view, once the view is small enough for one request
  const loadFrames = debounce(async () => {
    const n = S.v1 - S.v0;
    if (n > FRAMES_MAX || (S.framesRange && S.framesRange[0] <= S.v0 && S.v1 <= S.framesRange[1])) return;
    if (S.fctl) S.fctl.abort();
    S.fctl = new AbortController();
    try {
      const ans = await api(`/processes/${pid}/pagemap${qs({ start: hex(pageAddr(S.v0)), end: hex(pageAddr(S.v1)), frames: 1, limit: n, runs: 0 })}`, { signal: S.fctl.signal });
      const m = new Map();
      for (const f of ans.frames) m.set(Number((BigInt(f.addr) - S.base) / BigInt(ps)), f);
      S.frames = m;
      S.framesRange = [S.v0, S.v1];
      if (S.hover !== null) showPage(S.hover);
    } catch (e) {
      if (e.name === 'AbortError') return;
      if (e.processGone) { gone(root, pid, app); return; }
      clear(readout).append(h('div', { class: 'msg error' }, `Could not read frames: ${app.errorText(e)}`));
    }
  }, 150);

  function drawHead(r) {
    clear(head).append(
      h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumbs' }, h('a', { href: '#/', text: 'Processes' }), ' › ',
        h('a', { href: `#/process/${pid}`, text: `process ${pid}` }), ' › ', `region ${r.start}`),
      h('h1', null, r.path || `[${KIND_LABEL[r.kind] || r.kind}]`, ' ', h('span', { class: `chip k-${r.kind}`, text: r.kind })),
      h('p', { class: 'mono' }, `${r.start} – ${r.end} · ${r.perms} · ${bytes(r.size)} = ${int(S.N)} pages of ${ps} B`,
        r.offset ? ` · file offset ${hex(r.offset)}` : ''));
  }

  function drawCounts(ans) {
    clear(counts);
    const c = ans.counts;
    const card = (key, label, v, sub) => h('div', { class: 'stat', dataset: { key, value: v === null ? '' : v } },
      h('div', { class: 'label', text: label }), h('div', { class: 'value', text: v === null ? 'unknown' : int(v) }), sub ? h('div', { class: 'sub', text: sub }) : null);
    counts.append(
      card('pages', 'Pages', c.pages, `${bytes(c.pages * ps)} virtual`),
      card('present', 'Present', c.present, `${bytes(c.present * ps)} · ${pct(c.present, c.pages)} of the region`),
      card('zero_page', 'Zero page', c.zero_page, 'read, never written: no RSS'),
      card('swapped', 'Swapped', c.swapped, null),
      card('file_or_shared', 'File or shared', c.file_or_shared, null),
      card('exclusive', 'Exclusive', c.exclusive, 'mapped by this process only'),
      card('huge', 'In huge pages', c.huge, null));
    method.textContent = `Read with ${ans.method === 'scan' ? 'the PAGEMAP_SCAN ioctl' : 'pread of /proc/<pid>/pagemap'}. “unknown”: this kernel does not tell.`;
  }

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

  function draw() {
    const g = (S.grid = grid());
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
      fill(0, g.cells, COLORS[0]);
      // paint in order of state so the most notable state of a cell wins
      for (let st = 1; st < STATES.length; st++)
        for (const [a, b, k] of S.runs) {
          if (k !== st || b <= S.v0 || a >= S.v1) continue;
          fill(Math.floor((Math.max(a, S.v0) - S.v0) / g.ppc), Math.ceil((Math.min(b, S.v1) - S.v0) / g.ppc), COLORS[st]);
        }
    }
    if (S.cursor !== null && S.cursor >= S.v0 && S.cursor < S.v1) {
      const c = Math.floor((S.cursor - S.v0) / g.ppc);
      ctx.strokeStyle = '#0f172a';
      ctx.lineWidth = 2;
      ctx.strokeRect((c % g.cols) * g.s + 1, Math.floor(c / g.cols) * g.s + 1, Math.max(2, g.s - 2), Math.max(2, g.s - 2));
    }
    drawOverview(g.cols * g.s);
    const V = S.v1 - S.v0;
    // what the map shows, page for page, as data for tests and as words for screen readers
    const tally = {};
    if (S.runs) for (const [a, b, k] of S.runs) {
      const n = Math.min(b, S.v1) - Math.max(a, S.v0);
      if (n > 0) { const key = k >= 0 ? STATES[k][0] : 'unknown'; tally[key] = (tally[key] || 0) + n; }
    }
    canvas.dataset.states = JSON.stringify(tally);
    canvas.setAttribute('aria-label', `Page map: ${Object.entries(tally).map(([k, n]) => `${int(n)} ${k.replace(/_/g, ' ')}`).join(', ')}. ` +
      'Arrow keys move the page cursor, plus and minus zoom, 0 shows the whole region, Enter zooms in or translates the page.');
    info.textContent = `pages ${int(S.v0)}–${int(S.v1 - 1)} of ${int(S.N)} in view (${hex(pageAddr(S.v0))}–${hex(pageAddr(S.v1))}), ` +
      `${g.ppc === 1 ? 'one page per cell' : `${int(g.ppc)} pages per cell`}${V <= FRAMES_MAX ? '; frames shown on hover' : ''}`;
    zin.disabled = V <= 16;
    zout.disabled = whole.disabled = V >= S.N;
    prevB.disabled = S.v0 <= 0;
    nextB.disabled = S.v1 >= S.N;
  }

  function drawOverview(w) {
    if (S.windowed || !S.runs || S.N <= 1) { overview.hidden = true; return; }
    overview.hidden = false;
    const ctx = sizeCanvas(overview, w, 12);
    const ppx = S.N / w;
    ctx.fillStyle = COLORS[0];
    ctx.fillRect(0, 0, w, 12);
    for (let st = 1; st < STATES.length; st++)
      for (const [a, b, k] of S.runs) {
        if (k !== st) continue;
        const x0 = Math.floor(a / ppx), x1 = Math.max(x0 + 1, Math.ceil(b / ppx));
        ctx.fillStyle = COLORS[st];
        ctx.fillRect(x0, 0, x1 - x0, 12);
      }
    if (S.v1 - S.v0 < S.N) {
      ctx.strokeStyle = '#0f172a';
      ctx.lineWidth = 2;
      ctx.strokeRect(S.v0 / ppx + 1, 1, Math.max(3, (S.v1 - S.v0) / ppx - 2), 10);
    }
  }

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
    const g = S.grid;
    const p0 = S.v0 + cell * g.ppc;
    return [p0, Math.min(S.v1, p0 + g.ppc)];
  }

  // the page (and for one page per cell, the byte offset) under a point of the canvas
  function at(ev) {
    const g = S.grid;
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

  function showPage(p0, p1 = p0 + 1, offset = 0) {
    S.hover = p0;
    clear(readout);
    const addr = pageAddr(p0) + BigInt(offset);
    const pn = addr / BigInt(ps);
    if (p1 - p0 > 1) {
      const tally = new Map();
      if (S.runs) for (const [a, b, k] of S.runs) {
        const n = Math.min(b, p1) - Math.max(a, p0);
        if (n > 0) tally.set(k, (tally.get(k) || 0) + n);
      }
      readout.append(h('div', null, h('strong', { text: `${int(p1 - p0)} pages` }), ` from ${hex(pageAddr(p0))} to ${hex(pageAddr(p1))} · `,
        [...tally].map(([k, n]) => h('span', { class: 'tally' }, k >= 0 ? swatch(k) : null, ` ${k >= 0 ? STATES[k][1] : 'unknown state'} ${int(n)} `))),
      h('div', { class: 'muted', text: 'Zoom in (click or +) to see single pages.' }));
      return;
    }
    const st = stateAt(p0);
    const f = S.frames.get(p0);
    readout.append(
      h('div', { class: 'addrline' },
        h('span', { class: 'mono big' }, h('span', { class: 'pn', text: hex(pn) }), h('span', { class: 'off', text: offset.toString(16).padStart(Math.ceil(Math.log2(ps) / 4), '0') })),
        ' = page number ', h('strong', { class: 'mono', text: hex(pn) }), ` (${int(Number(pn))}) + offset `, h('strong', { class: 'mono', text: hex(offset) }),
        ` · page ${int(p0)} of this region`),
      h('div', null, st !== null && st >= 0 ? [swatch(st), ` ${STATES[st][1]}: ${STATES[st][2]}`] : 'state not loaded'),
      frameLine(f),
      h('div', null, h('a', { href: `#/process/${pid}/translate/${hex(addr)}`, text: 'Translate this address →' })));
  }

  function frameLine(f) {
    if (!f) return S.v1 - S.v0 <= FRAMES_MAX ? h('div', { class: 'muted', text: 'loading frame…' }) : null;
    if (!f.present) return h('div', { class: 'muted', text: f.swapped ? `swapped out (swap type ${f.swap_type}, offset ${f.swap_offset})` : 'no frame' });
    return h('div', { class: 'frame' },
      'frame (PFN) ', h('strong', { class: 'mono', text: f.pfn === null ? 'hidden' : `${hex(f.pfn)} (${int(f.pfn)})` }),
      ' · physical address ', h('strong', { class: 'mono', text: f.phys_addr === null ? 'hidden' : f.phys_addr }),
      f.pfn === null && f.pfn_hidden_reason ? h('span', { class: 'muted', text: ` (${f.pfn_hidden_reason})` }) : null,
      f.mapcount !== null && f.mapcount !== undefined ? ` · mapped ${f.mapcount}×` : null,
      f.exclusive ? ' · exclusive' : null,
      f.flags ? h('div', { class: 'flags' }, 'flags: ', f.flags.map((x) => h('code', { text: x }))) : null);
  }

  function zoom(center, factor) {
    const V = S.v1 - S.v0;
    const nV = Math.max(Math.min(16, S.N), Math.min(S.N, Math.round(V / factor)));
    let a = Math.round(center - nV / 2);
    a = Math.max(0, Math.min(S.N - nV, a));
    S.v0 = a;
    S.v1 = a + nV;
    loadView().catch((e) => app.message(root, 'error', app.errorText(e)));
  }
  function pan(dir) {
    const V = S.v1 - S.v0;
    const a = Math.max(0, Math.min(S.N - V, S.v0 + dir * Math.max(1, Math.floor(V / 2))));
    S.v0 = a;
    S.v1 = a + V;
    loadView().catch((e) => app.message(root, 'error', app.errorText(e)));
  }

  canvas.addEventListener('mousemove', (ev) => { const p = S.grid && at(ev); if (p) showPage(p.p0, p.p1, p.offset); });
  canvas.addEventListener('click', (ev) => {
    const p = S.grid && at(ev);
    if (!p) return;
    if (p.p1 - p.p0 > 1) zoom(p.p0, 8);
    else location.hash = `#/process/${pid}/translate/${hex(pageAddr(p.p0) + BigInt(p.offset))}`;
  });
  canvas.addEventListener('wheel', (ev) => {
    const p = S.grid && at(ev);
    if (!p || !ev.ctrlKey && !ev.shiftKey) return;   // plain wheel scrolls the page
    ev.preventDefault();
    zoom(p.p0, ev.deltaY < 0 ? 2 : 0.5);
  }, { passive: false });
  canvas.addEventListener('keydown', (ev) => {
    const g = S.grid;
    if (!g) return;
    if (S.cursor === null || S.cursor < S.v0 || S.cursor >= S.v1) S.cursor = S.v0;
    const step = { ArrowRight: g.ppc, ArrowLeft: -g.ppc, ArrowDown: g.ppc * g.cols, ArrowUp: -g.ppc * g.cols }[ev.key];
    if (step) {
      S.cursor = Math.max(S.v0, Math.min(S.v1 - 1, S.cursor + step));
    } else if (ev.key === '+' || ev.key === '=') zoom(S.cursor, 4);
    else if (ev.key === '-') zoom(S.cursor, 0.25);
    else if (ev.key === '0') { S.v0 = 0; S.v1 = S.N; loadView(); }
    else if (ev.key === 'Enter') {
      if (g.ppc > 1) zoom(S.cursor, 8);
      else location.hash = `#/process/${pid}/translate/${hex(pageAddr(S.cursor))}`;
    } else return;
    ev.preventDefault();
    const c = Math.floor((S.cursor - S.v0) / g.ppc);
    const [p0, p1] = cellPages(c);
    draw();
    showPage(p0, p1);
  });
  zin.addEventListener('click', () => zoom(S.cursor ?? (S.v0 + S.v1) / 2, 4));
  zout.addEventListener('click', () => zoom(S.cursor ?? (S.v0 + S.v1) / 2, 0.25));
  whole.addEventListener('click', () => { S.v0 = 0; S.v1 = S.N; loadView(); });
  prevB.addEventListener('click', () => pan(-1));
  nextB.addEventListener('click', () => pan(1));
  const onResize = debounce(() => S.runs !== undefined && S.grid && draw(), 150);
  window.addEventListener('resize', onResize);

  return {
    refresh,
    destroy() {
      window.removeEventListener('resize', onResize);
      if (S.ctl) S.ctl.abort();
      if (S.fctl) S.fctl.abort();
    },
    // for tests and the console: what the map shows
    state: S,
  };
}

export function swatch(k) {
  const el = h('span', { class: 'swatch', 'aria-hidden': 'true' });
  el.style.background = COLORS[typeof k === 'number' ? k : STATE_INDEX[k]];
  return el;
}

export function legendEl() {
  return h('div', { class: 'legend', 'aria-label': 'Page states' }, STATES.map(([k, label, what], i) => h('span', { class: 'key2', title: what }, swatch(i), ` ${label}`)));
}

// region.js - a region's pages: the page map (pagemap.js), zoomable down to single pages, where
// hovering shows the address as page number + offset and, when the server may read them, the page's
// frame (framepanel.js).  This view fetches what is in view and wires the controls to both.
import { api, apiLarge, qs, ApiError } from '../api.js';
import { h, clear, debounce } from '../dom.js';
import { bytes, int, hex, pct, addrNum, kb } from '../fmt.js';
import { gone } from '../gone.js';
import { KIND_LABEL } from '../kinds.js';
import { STATE_INDEX, UNKNOWN_STATE, legendEl } from '../pagestates.js';
import { pageMap } from '../pagemap.js';
import { framePanel } from '../framepanel.js';

// Until the server's first answer says how many frames one answer holds (frames_cap).
const FRAMES_CAP_GUESS = 4096;

export function mount(root, { pid, start }, app) {
  document.title = `${pid} ${start} · memscope`;
  const ps = (app.health && app.health.page_size) || 4096;
  const ui = elements(root, start);
  const S = {
    region: null, N: 0, base: 0n, v0: 0, v1: 0, runs: null, runsRange: null, windowed: false,
    frames: new Map(), framesRange: null, framesCap: FRAMES_CAP_GUESS, cursor: null, hover: null, ctl: null, fctl: null,
  };
  const pageAddr = (i) => S.base + BigInt(i) * BigInt(ps);
  const map = pageMap(ui.canvas, ui.overview, S);
  const panel = framePanel(ui.readout, S, map, { pid, ps, pageAddr });
  const processGone = () => gone(root, pid, app);

  const fetchRuns = (p0, p1, signal) =>
    apiLarge(`/processes/${pid}/pagemap${qs({ start: hex(pageAddr(p0)), end: hex(pageAddr(p1)) })}`, { signal });

  // Runs as page indices in the region.  User-space addresses (13 hex digits at most) are exact as
  // Numbers, which is some ten times cheaper than a BigInt per end with 100,000 runs in an answer.
  function parseRuns(ans) {
    const base = S.base, bps = BigInt(ps);
    if (ans.runs.every(([, b]) => b.length <= 15)) {
      const nb = Number(base);
      return ans.runs.map(([a, b, st]) => [(addrNum(a) - nb) / ps, (addrNum(b) - nb) / ps, STATE_INDEX[st] ?? UNKNOWN_STATE]);
    }
    return ans.runs.map(([a, b, st]) => [Number((BigInt(a) - base) / bps), Number((BigInt(b) - base) / bps), STATE_INDEX[st] ?? UNKNOWN_STATE]);
  }

  // The region alone: the regions of maps (or smaps) that hold its first byte.  A memscoped without
  // start= and end= answers every region.
  let ranged = true;
  let oneByte = null;
  try { oneByte = qs({ start, end: hex(BigInt(start) + 1n) }); } catch { /* not an address: no region */ }
  async function regionOf(src, signal) {
    if (ranged) {
      try {
        return (await api(`/processes/${pid}/${src}${oneByte}`, { signal })).regions.find((x) => x.start === start);
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 400 && e.code === 'unknown_query_field')) throw e;
        ranged = false;
      }
    }
    if (src !== 'maps') return undefined;   // the whole of smaps for one region: not worth it
    return (await apiLarge(`/processes/${pid}/maps`, { signal })).regions.find((x) => x.start === start);
  }

  // the region itself from maps, then the whole region's counts (and runs, when they fit one answer);
  // its smaps figures beside them, drawn when they come
  const refresh = async () => {
    if (S.ctl) S.ctl.abort();
    S.ctl = new AbortController();
    const signal = S.ctl.signal;
    if (oneByte === null) { regionGone(); return; }
    let r, whole;
    try {
      r = await regionOf('maps', signal);
    } catch (e) {
      if (e.processGone) { processGone(); return; }
      throw e;
    }
    if (!r) { regionGone(); return; }
    regionOf('smaps', signal).then((g) => drawSmaps(ui.smaps, g, ranged), (e) => {
      if (e.name === 'AbortError' || e.processGone) return;
      clear(ui.smaps).append(h('p', { class: 'msg error', text: `Could not read this region's smaps: ${app.errorText(e)}` }));
    });
    clear(ui.note);
    const first = !S.region || S.region.end !== r.end;
    S.region = r;
    S.base = BigInt(r.start);
    S.N = Number((BigInt(r.end) - S.base) / BigInt(ps));
    if (first) { S.v0 = 0; S.v1 = S.N; }
    drawHead(ui.head, pid, r, S.N, ps);
    try {
      whole = await fetchRuns(0, S.N, signal);
      S.windowed = false;
      S.runs = parseRuns(whole);
      S.runsRange = [0, S.N];
    } catch (e) {
      if (e.processGone) { processGone(); return; }
      if (e.status !== 413) throw e;
      // Too fragmented to send at once: counts for the whole region, runs for what is in view.
      whole = await api(`/processes/${pid}/pagemap${qs({ start: r.start, end: r.end, runs: 0 })}`, { signal });
      S.windowed = true;
      S.runs = null;
      ui.note.append(h('div', { class: 'msg info', text: `This region has too many runs to send at once (${e.message}). Zoom in: the map loads the part in view.` }));
    }
    if (whole.frames_cap) S.framesCap = whole.frames_cap;
    drawCounts(ui, whole, ps);
    S.frames = new Map();
    S.framesRange = null;
    await loadView();
  };

  function regionGone() {
    clear(ui.note).append(h('div', { class: 'msg warn', role: 'alert' }, `No region of process ${pid} starts at ${start} any more (it was unmapped, or never was). `,
      h('a', { href: `#/process/${pid}`, text: 'Back to the process' })));
  }

  async function loadView() {
    if (S.windowed && !(S.runsRange && S.runsRange[0] <= S.v0 && S.v1 <= S.runsRange[1])) {
      try {
        S.runs = parseRuns(await fetchRuns(S.v0, S.v1));
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

  // frames for the pages in view, once the view is small enough for one answer
  const loadFrames = debounce(async () => {
    const n = S.v1 - S.v0;
    if (!panel.framesWanted() || (S.framesRange && S.framesRange[0] <= S.v0 && S.v1 <= S.framesRange[1])) return;
    if (S.fctl) S.fctl.abort();
    S.fctl = new AbortController();
    try {
      const ans = await api(`/processes/${pid}/pagemap${qs({ start: hex(pageAddr(S.v0)), end: hex(pageAddr(S.v1)), frames: 1, limit: n, runs: 0 })}`, { signal: S.fctl.signal });
      const m = new Map();
      for (const f of ans.frames) m.set(Number((BigInt(f.addr) - S.base) / BigInt(ps)), f);
      S.frames = m;
      S.framesRange = [S.v0, S.v1];
      if (S.hover !== null) panel.show(S.hover);
    } catch (e) {
      if (e.name === 'AbortError') return;
      if (e.processGone) { processGone(); return; }
      panel.error(`Could not read frames: ${app.errorText(e)}`);
    }
  }, 150);

  // the map, then what the toolbar says and allows for the pages now in view
  function draw() {
    const g = map.draw();
    const V = S.v1 - S.v0;
    ui.info.textContent = `pages ${int(S.v0)}–${int(S.v1 - 1)} of ${int(S.N)} in view (${hex(pageAddr(S.v0))}–${hex(pageAddr(S.v1))}), ` +
      `${g.ppc === 1 ? 'one page per cell' : `${int(g.ppc)} pages per cell`}${panel.framesWanted() ? '; frames shown on hover' : ''}`;
    ui.zin.disabled = V <= 16;
    ui.zout.disabled = ui.whole.disabled = V >= S.N;
    ui.prevB.disabled = S.v0 <= 0;
    ui.nextB.disabled = S.v1 >= S.N;
  }

  const onError = (e) => app.message(root, 'error', app.errorText(e));
  const view = {
    show(v0, v1) { S.v0 = v0; S.v1 = v1; loadView().catch(onError); },
    redraw: draw,
    translate(p, offset = 0) { location.hash = `#/process/${pid}/translate/${hex(pageAddr(p) + BigInt(offset))}`; },
  };
  const unbind = bindControls(ui, S, map, panel, view, ps);

  return {
    refresh,
    destroy() {
      unbind();
      if (S.ctl) S.ctl.abort();
      if (S.fctl) S.fctl.abort();
    },
    // for tests and the console: what the map shows
    state: S,
  };
}

function elements(root, start) {
  const ui = {
    head: h('div', { class: 'phead' }, h('h1', { text: `Region ${start}` })),
    counts: h('section', { class: 'stats', 'aria-label': 'Page counts' }),
    info: h('p', { class: 'hint', id: 'viewinfo', 'aria-live': 'polite' }),
    overview: h('canvas', { class: 'overview', 'aria-hidden': 'true' }),
    canvas: h('canvas', { class: 'pagemap', tabindex: '0', id: 'pagemap', role: 'img',
      'aria-label': 'Page map. Arrow keys move the page cursor, plus and minus zoom, 0 shows the whole region, Enter zooms in or translates the page.' }),
    readout: h('div', { class: 'readout', id: 'readout', 'aria-live': 'polite' }, h('span', { class: 'muted', text: 'Point at a page (or focus the map and use the arrow keys).' })),
    zin: h('button', { type: 'button', text: 'Zoom in', title: 'zoom in (+)' }),
    zout: h('button', { type: 'button', text: 'Zoom out', title: 'zoom out (−)' }),
    whole: h('button', { type: 'button', text: 'Whole region', title: '(0)' }),
    prevB: h('button', { type: 'button', id: 'pmprev', text: '◀ lower', title: 'show lower addresses' }),
    nextB: h('button', { type: 'button', id: 'pmnext', text: 'higher ▶', title: 'show higher addresses' }),
    note: h('div'),
    method: h('p', { class: 'hint' }),
    smaps: h('section', { class: 'kvs', id: 'regsmaps', 'aria-label': 'smaps figures of this region' }, h('span', { class: 'muted', text: 'smaps: reading…' })),
  };
  root.append(ui.head, ui.counts, ui.method, ui.smaps, legendEl(), h('div', { class: 'toolbar' }, ui.zin, ui.zout, ui.whole, ui.prevB, ui.nextB, ui.info),
    ui.note, h('div', { class: 'mapwrap' }, ui.overview, ui.canvas), ui.readout,
    h('p', { class: 'hint', text: 'Each cell is one page when zoomed in far enough; zoomed out, a cell covers several pages and takes the colour of the most notable state among them (so one resident page in a thousand still shows). Click a cell to zoom in; at one page per cell, click to translate that address.' }));
  return ui;
}

function drawHead(head, pid, r, N, ps) {
  clear(head).append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumbs' }, h('a', { href: '#/', text: 'Processes' }), ' › ',
      h('a', { href: `#/process/${pid}`, text: `process ${pid}` }), ' › ', `region ${r.start}`),
    h('h1', null, r.path || `[${KIND_LABEL[r.kind] || r.kind}]`, ' ', h('span', { class: `chip k-${r.kind}`, text: r.kind })),
    h('p', { class: 'mono' }, `${r.start} – ${r.end} · ${r.perms} · ${bytes(r.size)} = ${int(N)} pages of ${ps} B`,
      r.offset ? ` · file offset ${hex(r.offset)}` : ''));
}

// Sizes of its own, not figures of the region's memory (the size is in the head already).
const SMAPS_SKIP = new Set(['size', 'kernel_page_size', 'mmu_page_size']);

// The region's smaps figures in one wrapped line, each in kB as smaps prints it (what is not a size,
// as it is), then its VmFlags; g: the region from /smaps, undefined when none came.
function drawSmaps(el, g, ranged) {
  clear(el);
  if (!g) {
    el.append(h('span', { class: 'muted', text: ranged ? 'smaps: this region is gone.' : 'smaps: this memscoped cannot read one region of smaps (it is older than start= and end=).' }));
    return;
  }
  el.append(h('strong', { text: 'smaps' }));
  for (const [k, v] of Object.entries(g.fields || {})) {
    if (SMAPS_SKIP.has(k)) continue;
    const isBytes = typeof v === 'number' && k !== 'thp_eligible' && k !== 'protection_key';
    el.append(h('span', { class: v ? 'kv' : 'kv muted', dataset: { key: k, value: typeof v === 'number' ? v : String(v) } },
      h('b', { text: k }), ' ', isBytes ? kb(v) : String(v)));
  }
  const flags = Array.isArray(g.vm_flags) ? g.vm_flags.join(' ') : g.vm_flags;
  if (flags) el.append(h('span', { class: 'kv', dataset: { key: 'vm_flags' } }, h('b', { text: 'VmFlags' }), ' ', flags));
}

function drawCounts(ui, ans, ps) {
  const c = ans.counts;
  const card = (key, label, v, sub) => h('div', { class: 'stat', dataset: { key, value: v === null ? '' : v } },
    h('div', { class: 'label', text: label }), h('div', { class: 'value', text: v === null ? 'unknown' : int(v) }), sub ? h('div', { class: 'sub', text: sub }) : null);
  clear(ui.counts).append(
    card('pages', 'Pages', c.pages, `${bytes(c.pages * ps)} virtual`),
    card('present', 'Present', c.present, `${bytes(c.present * ps)} · ${pct(c.present, c.pages)} of the region`),
    card('zero_page', 'Zero page', c.zero_page, 'read, never written: no RSS'),
    card('swapped', 'Swapped', c.swapped, null),
    card('file_or_shared', 'File or shared', c.file_or_shared, null),
    card('exclusive', 'Exclusive', c.exclusive, 'mapped by this process only'),
    card('huge', 'In huge pages', c.huge, null));
  ui.method.textContent = `Read with ${ans.method === 'scan' ? 'the PAGEMAP_SCAN ioctl' : 'pread of /proc/<pid>/pagemap'}. “unknown”: this kernel does not tell.`;
}

// Mouse, wheel, keyboard and toolbar: each changes which pages are in view (view.show), moves the
// cursor, or translates a page.  Returns what undoes the bindings that outlive the view's elements.
function bindControls(ui, S, map, panel, view, ps) {
  function zoom(center, factor) {
    const V = S.v1 - S.v0;
    const nV = Math.max(Math.min(16, S.N), Math.min(S.N, Math.round(V / factor)));
    const a = Math.max(0, Math.min(S.N - nV, Math.round(center - nV / 2)));
    view.show(a, a + nV);
  }
  function pan(dir) {
    const V = S.v1 - S.v0;
    const a = Math.max(0, Math.min(S.N - V, S.v0 + dir * Math.max(1, Math.floor(V / 2))));
    view.show(a, a + V);
  }
  function key(ev) {
    const g = map.grid();
    if (!g) return;
    if (S.cursor === null || S.cursor < S.v0 || S.cursor >= S.v1) S.cursor = S.v0;
    const step = { ArrowRight: g.ppc, ArrowLeft: -g.ppc, ArrowDown: g.ppc * g.cols, ArrowUp: -g.ppc * g.cols }[ev.key];
    if (step) S.cursor = Math.max(S.v0, Math.min(S.v1 - 1, S.cursor + step));
    else if (ev.key === '+' || ev.key === '=') zoom(S.cursor, 4);
    else if (ev.key === '-') zoom(S.cursor, 0.25);
    else if (ev.key === '0') view.show(0, S.N);
    else if (ev.key === 'Enter') {
      if (g.ppc > 1) zoom(S.cursor, 8);
      else view.translate(S.cursor);
    } else return;
    ev.preventDefault();
    // a zoom drew the map already (view.show); a cursor step draws it here
    if (step) view.redraw();
    const g2 = map.grid();
    const [p0, p1] = map.cellPages(Math.floor((S.cursor - S.v0) / g2.ppc));
    panel.show(p0, p1);
  }
  const c = ui.canvas;
  c.addEventListener('mousemove', (ev) => { const p = map.at(ev, ps); if (p) panel.show(p.p0, p.p1, p.offset); });
  c.addEventListener('click', (ev) => {
    const p = map.at(ev, ps);
    if (!p) return;
    if (p.p1 - p.p0 > 1) zoom(p.p0, 8);
    else view.translate(p.p0, p.offset);
  });
  c.addEventListener('wheel', (ev) => {
    const p = map.at(ev, ps);
    if (!p || !ev.ctrlKey && !ev.shiftKey) return;   // plain wheel scrolls the page
    ev.preventDefault();
    zoom(p.p0, ev.deltaY < 0 ? 2 : 0.5);
  }, { passive: false });
  c.addEventListener('keydown', key);
  ui.zin.addEventListener('click', () => zoom(S.cursor ?? (S.v0 + S.v1) / 2, 4));
  ui.zout.addEventListener('click', () => zoom(S.cursor ?? (S.v0 + S.v1) / 2, 0.25));
  ui.whole.addEventListener('click', () => view.show(0, S.N));
  ui.prevB.addEventListener('click', () => pan(-1));
  ui.nextB.addEventListener('click', () => pan(1));
  const onResize = debounce(() => map.grid() && view.redraw(), 150);
  window.addEventListener('resize', onResize);
  return () => window.removeEventListener('resize', onResize);
}

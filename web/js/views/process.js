// process.js - one process: who it is, its totals (VmSize, VmRSS, PSS, USS, swap), the address-space
// figure, and the region table with every smaps field, sortable, filterable, grouped by path on request.
//
// A process may have 100,000 regions, so the page paints from the cheap answer (/maps?rss=1 in rows:
// every region with its resident bytes, from maps and the page tables) and reads smaps only when its
// fields are asked for (the "smaps fields" switch, remembered): PSS, swap, dirty and the rest cost the
// kernel some three times as much, for every region.  The table draws only the rows in view (see
// vtable.js) and the figure folds runs of small regions (see layout.js).  Sorting, filtering and
// grouping the cheap answer by path work on the data, never on the DOM.
import { api, apiLarge, forgetKeys, ApiError } from '../api.js';
import { h, clear, debounce } from '../dom.js';
import { bytes, int, kb, pct, statusGet, addrNum } from '../fmt.js';
import { drawLayout, heat } from '../layout.js';
import { KIND_LABEL } from '../kinds.js';
import { gone } from '../gone.js';
import { virtualTable } from '../vtable.js';
import { mountProcessPanels } from '../history.js';
import { rowRegions } from '../rows.js';

// Fields that are not sizes (the kernel prints them without "kB").
const NOT_BYTES = new Set(['thp_eligible', 'protection_key']);
// w: the column's width in rem.  The columns have fixed widths (a grid, see vtable.js), so drawing
// other rows while scrolling neither measures every cell again nor moves the columns.
const HEAD = [
  { key: 'start', label: 'Start', addr: true, w: 9.5 }, { key: 'end', label: 'End', addr: true, w: 9 },
  { key: 'size', label: 'Size', bytes: true, w: 7.5 }, { key: 'perms', label: 'Perms', w: 4 }, { key: 'kind', label: 'Kind', w: 5 },
  { key: 'path', label: 'Path', w: 20 },
];

// The region table's row height in CSS pixels (one line of 0.88rem text and its border).
const ROW_PX = 24;

// The root font size in px, to turn the columns' rem into the px the table is scrolled in.
let rootPx = 0;
function remPx() {
  if (!rootPx) rootPx = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
  return rootPx;
}

// Whether this memscoped answers /maps?rss=1; learnt from the first answer, kept for the page's life.
let cheapRss = true;
// Each mounted page names its questions to the parsing worker apart (see apiLarge).
let mounts = 0;
// Whether this memscoped answers /smaps?layout=rows (a quarter of the bytes); learnt as cheapRss is.
let smapsRows = true;
// Whether it answers /maps?rss=1&layout=rows (half the bytes of its objects); learnt as cheapRss is.
let cheapRows = true;

// Whether the region table shows smaps' fields: a choice kept in the browser for every process.
const SMAPS_KEY = 'memscope.smapsFields';
function smapsWanted() {
  try { return localStorage.getItem(SMAPS_KEY) === '1'; } catch { return false; }
}
function rememberSmaps(on) {
  try { localStorage.setItem(SMAPS_KEY, on ? '1' : '0'); } catch { /* private mode: this page only */ }
}

const unknownField = (e) => e instanceof ApiError && e.status === 400 && e.code === 'unknown_query_field';

// The cheap answer: regions with resident bytes (rss=1) or without (plain maps, older servers).
// key: the page's prefix for apiLarge, so an unchanged answer comes back as the same object.
async function cheapMaps(pid, signal, key) {
  if (cheapRss) {
    try {
      if (cheapRows) return rowRegions(await apiLarge(`/processes/${pid}/maps?rss=1&layout=rows`, { signal, key: `${key}maps` }));
      return await apiLarge(`/processes/${pid}/maps?rss=1`, { signal, key: `${key}maps` });
    } catch (e) {
      if (!unknownField(e)) throw e;
      // one older than the rows of rss=1 is asked for its objects; one older still, for plain maps
      if (cheapRows) { cheapRows = false; return cheapMaps(pid, signal, key); }
      cheapRss = false;
    }
  }
  return apiLarge(`/processes/${pid}/maps`, { signal, key: `${key}maps` });
}

// Every region's smaps figures in rows (see rows.js), or null from a memscoped without that layout.
async function smapsRowsOf(pid, signal, key) {
  try {
    return rowRegions(await apiLarge(`/processes/${pid}/smaps?layout=rows`, { signal, key: `${key}smaps` }));
  } catch (e) {
    if (!unknownField(e)) throw e;
    smapsRows = false;
    return null;
  }
}

// The cheap answer's regions summed per path, as /smaps?group=path sums them (one group per path,
// the anonymous regions together), biggest first; made once per answer.
const groupsOf = new WeakMap();
function pathGroups(answer) {
  let out = groupsOf.get(answer);
  if (out) return out;
  const by = new Map();
  for (const r of answer.regions) {
    // a name that is not UTF-8 is told apart by its bytes, as the server groups it
    const k = r.path_hex || r.path || '';
    let g = by.get(k);
    if (!g) {
      g = { path: r.path || '', regions: 0, size: 0 };
      if (r.path_hex) g.path_hex = r.path_hex;
      if (r.rss !== undefined) { g.rss = 0; g.huge = 0; g.hugetlb = 0; }
      by.set(k, g);
    }
    g.regions++;
    g.size += r.size;
    if (g.rss !== undefined) { g.rss += r.rss; g.huge += r.huge || 0; g.hugetlb += r.hugetlb || 0; }
  }
  out = [...by.values()].sort((a, b) => b.size - a.size);
  groupsOf.set(answer, out);
  return out;
}

// The huge-page columns of the cheap answer's rows: only where some region has such pages (most
// processes have none); looked for once per list.
const hugeOf = new WeakMap();
function hugeKeys(rows) {
  let k = hugeOf.get(rows);
  if (!k) {
    k = ['huge', 'hugetlb'].filter((f) => rows[0][f] !== undefined && rows.some((r) => r[f] > 0));
    hugeOf.set(rows, k);
  }
  return k;
}

export function mount(root, { pid }, app) {
  document.title = `${pid} · memscope`;
  // wss: the last working set measured, start -> { referenced, rss }, or null
  const st = { sort: 'start', desc: false, filter: '', group: false, smaps: smapsWanted(), exited: false, wss: null };
  const head = h('div', { class: 'phead' }, h('h1', { text: `Process ${pid}` }));
  const cards = h('section', { class: 'stats', 'aria-label': 'Totals' });
  const figBox = h('div', { class: 'figbox' });
  const filter = h('input', { type: 'search', id: 'rfilter', placeholder: 'path, kind, perms or address', autocomplete: 'off' });
  const group = h('input', { type: 'checkbox', id: 'group' });
  const smapsBox = h('input', { type: 'checkbox', id: 'smapsf' });
  smapsBox.checked = st.smaps;
  const rcount = h('span', { class: 'muted', id: 'rcount' });
  const table = h('table', { class: 'data regions', id: 'regtable' });
  const wrap = h('div', { class: 'scroll-x tablewrap', id: 'regwrap' }, table);
  const panelBox = h('div', { class: 'panels' });
  root.append(head, cards,
    h('section', { class: 'two' },
      h('div', { class: 'col-fig' },
        h('h2', { text: 'Address space' }),
        h('p', { class: 'hint', text: 'Highest address first, as in the classic picture. Heights grow with the logarithm of each region\'s size, so small regions stay visible; gaps are squeezed; long runs of small regions of one kind are folded into one bar that opens on demand. The bar is the region\'s virtual size; the dark part is what is resident in RAM. Choose a region to see its pages.' }),
        legend(),
        figBox)),
    panelBox,
    h('h2', { id: 'regions-h', text: 'Regions' }),
    h('div', { class: 'toolbar' },
      h('label', { for: 'rfilter', text: 'Filter' }), filter,
      h('label', { class: 'check' }, group, ' group by path'),
      h('label', { class: 'check', title: 'Every field of /proc/PID/smaps for each region. Without it the table shows each region\'s resident bytes, read from maps and the page tables at about a third of the cost; the totals above (PSS, USS, swap) are always there.' },
        smapsBox, ' smaps fields (PSS, swap, dirty…)'),
      rcount,
      h('a', { class: 'button', href: `#/process/${pid}/translate`, text: 'Translate an address…' })),
    wrap);
  // rows of one fixed height, placed at their index: drawing rows that scroll in lays out only them
  const vt = virtualTable(table, wrap, renderRow, { rowHeight: ROW_PX });
  const key = `process${++mounts}:`;

  // data: { p, cheap, sm }: the process, the cheap regions, the smaps answer once it came (or null).
  let data = null;
  let ctl = null;
  let cols = [];
  let list = [];
  // a drawn row's columns (the cols array it was drawn for, its first column and end), to refill it
  const shapes = new WeakMap();
  const refresh = async () => {
    if (ctl) ctl.abort();
    ctl = new AbortController();
    const signal = ctl.signal;
    const grouped = st.group;
    try {
      // the process's own answer is small and quick: on a first load its header and totals go on
      // screen at once, while the regions of a large process are still on their way
      const pP = api(`/processes/${pid}`, { signal });
      pP.catch(() => {});
      if (data === null) pP.then((p) => { if (data === null && !signal.aborted) drawHead(p, null); }, () => {});
      // Without smaps' fields, one answer paints it all: the regions with their resident bytes,
      // grouped by path here when asked.  One that did not change since the last refresh comes back
      // as the same object (see apiLarge), so nothing is drawn again for it.
      if (!st.smaps) {
        const [p, cheap] = await Promise.all([pP, cheapMaps(pid, signal, key)]);
        if (signal.aborted) return;
        const prev = data;
        data = { p, cheap, sm: null, grouped, smaps: false };
        const again = prev === null || prev.smaps || cheap !== prev.cheap;
        draw(again, again || prev.grouped !== grouped);
        return;
      }
      // smaps in rows carries everything the page shows in a quarter of the bytes of its objects:
      // one answer, parsed by the worker, paints it all
      if (!grouped && smapsRows) {
        const smP = smapsRowsOf(pid, signal, key);
        const [p, sm] = await Promise.all([pP, smP]);
        if (sm) {
          if (signal.aborted) return;
          const prev = data;
          data = { p, cheap: sm, sm, grouped, smaps: true };
          const again = prev === null || prev.grouped !== grouped || !prev.smaps;
          draw(again || sm !== prev.sm, again || sm !== prev.sm);
          return;
        }
      }
      // a memscoped without smaps' rows (or the table grouped by path): the cheap answer first, and
      // smaps, asked for at once, when it comes
      const smP = apiLarge(`/processes/${pid}/smaps${grouped ? '?group=path' : ''}`, { signal, key: `${key}smaps${grouped ? 'g' : ''}` });
      smP.catch(() => {});
      const [p, cheap] = await Promise.all([pP, cheapMaps(pid, signal, key)]);
      // the first paint (and one after grouping changed) comes from the cheap answer; a refresh of
      // what is on screen waits for smaps instead of blanking its columns in between
      let painted = false;
      const prev = data;
      if (data === null || data.grouped !== grouped || !data.smaps) {
        data = { p, cheap, sm: null, grouped, smaps: true };
        draw(true, true);
        painted = true;
      }
      const sm = await smP;
      if (signal.aborted) return;
      data = { p, cheap, sm, grouped, smaps: true };
      const figure = painted ? !cheapHasRss(cheap) : cheap !== prev.cheap || (!cheapHasRss(cheap) && sm !== prev.sm);
      draw(figure, painted || sm !== prev.sm || cheap !== prev.cheap);
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      if (e.processGone) {
        st.exited = true;
        gone(root, pid, app);
        return;
      }
      if (e.status === 403 && data === null) {
        app.message(root, 'error', `${app.errorText(e)}. memscoped may only read processes it has ptrace access to: run it as root to see every process.`);
        return;
      }
      throw e;
    }
  };

  function cheapHasRss(cheap) {
    return !!(cheap && cheap.regions && cheap.regions.length && cheap.regions[0].rss !== undefined);
  }

  // figure, tbl: redraw the address-space figure, the table
  function draw(figure, tbl) {
    const { p, cheap } = data;
    drawHead(p, cheap.count !== undefined ? cheap.count : cheap.regions.length);
    if (figure) drawFigure();
    if (tbl) drawTable();
  }

  // The header and the totals; nregions: null while the regions are not in yet.
  function drawHead(p, nregions) {
    document.title = `${p.name} (${p.pid}) · memscope`;
    clear(head).append(
      h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumbs' }, h('a', { href: '#/', text: 'Processes' }), ' › ', `${p.name} (${p.pid})`),
      h('h1', null, `${p.name} `, h('span', { class: 'muted', text: `pid ${p.pid}` })),
      h('p', { class: 'cmdline', text: p.cmdline || '(no command line: kernel thread or zombie)' }),
      h('p', { class: 'muted' }, `user ${p.user} (uid ${p.uid}) · state ${p.state} · ${p.threads} thread${p.threads === 1 ? '' : 's'} · parent `,
        p.ppid ? h('a', { href: `#/process/${p.ppid}`, text: String(p.ppid) }) : '0'));
    drawCards(cards, p, nregions);
  }

  function drawFigure() {
    const { p, cheap, sm } = data;
    // the figure's resident parts: the cheap answer's rss where it has them, else smaps' regions
    const regs = cheapHasRss(cheap) || !sm || data.grouped ? cheap.regions : sm.regions;
    const keep = figBox.querySelector('.aspace');
    const scrollTop = keep ? keep.scrollTop : 0;
    clear(figBox);
    if (p.kernel_thread || !regs || !regs.length) {
      figBox.append(h('p', { class: 'msg info', text: 'This process has no user address space (a kernel thread or a zombie): nothing to draw.' }));
      return;
    }
    if (!p.layout.visible) figBox.append(h('p', { class: 'msg info', text: `Layout pointers hidden: ${p.layout.hidden_reason || 'not readable'}. Areas are placed by region kind only.` }));
    const fig = drawLayout(regs, p.layout, (app.system && app.system.user_space_top) || null, { pid, wss: st.wss });
    if (st.wss) {
      const sample = (share, text) => { const k = h('span', { class: 'key' }, h('span', { class: 'swatch', 'aria-hidden': 'true' }), text); k.firstChild.style.background = heat(share); return k; };
      figBox.append(h('div', { class: 'legend', id: 'wsslegend' }, 'Working set: each resident part coloured by the share of it referenced in the interval · ',
        sample(0, ' none'), sample(0.5, ' half'), sample(1, ' all')));
    }
    if (st.wss) fig.dataset.wssInterval = String(st.wssInterval);   // which measurement it shows
    figBox.append(fig);
    if (scrollTop) fig.scrollTop = scrollTop;   // setting it at all would force a layout now
  }

  // The rows and columns of what is known now: smaps once it came (and is wanted), the cheap answer
  // before, grouped by path here until smaps' own groups come.
  function currentRows() {
    const { cheap, sm } = data;
    // right after the grouping changed, the smaps answer on hand is of the other kind
    if (st.smaps && sm && data.grouped === st.group) return st.group ? sm.groups : sm.regions;
    return st.group ? pathGroups(cheap) : cheap.regions;
  }

  function drawTable() {
    const sm = st.smaps && data.sm && data.grouped === st.group ? data.sm : null;
    const rows = currentRows();
    const fieldKeys = [];
    const seen = new Set();
    if (sm) {
      // smaps' own Size line is the Size column already; every region has the same fields, but look
      // a little further than the first in case a kernel prints some only for some regions
      const look = rows.length > 64 ? rows.slice(0, 32).concat(rows.slice(-32)) : rows;
      for (const r of look) for (const k of Object.keys(r.fields)) if (k !== 'size' && !seen.has(k)) { seen.add(k); fieldKeys.push(k); }
    } else if (rows.length && rows[0].rss !== undefined) {
      fieldKeys.push('rss');
      fieldKeys.push(...hugeKeys(rows));
    }
    cols = st.group
      ? [{ key: 'path', label: 'Path', w: 28 }, { key: 'regions', label: 'Regions', num: true, w: 5.5 }, { key: 'size', label: 'Size', bytes: true, w: 7.5 }]
      : HEAD.slice();
    for (const k of fieldKeys) cols.push({ key: k, label: k, field: true, bytes: !NOT_BYTES.has(k), w: Math.max(7, 0.5 * k.length + 1.5) });
    if (!st.group && st.wss) cols.splice(HEAD.length, 0, { key: 'wss_ref', label: 'Referenced', bytes: true, w: 8.5 });
    if (!st.group && sm) cols.push({ key: 'vm_flags', label: 'VmFlags', w: 16 });
    table.style.width = `${cols.reduce((a, c) => a + c.w, 0)}rem`;
    table.style.setProperty('--vt-cols', cols.map((c) => `${c.w}rem`).join(' '));
    const f = st.filter.toLowerCase();
    list = f ? rows.filter((r) => [r.path, r.kind, r.perms, r.start, r.end, KIND_LABEL[r.kind]].some((x) => x && String(x).toLowerCase().includes(f))) : rows;
    const sc = cols.find((c) => c.key === st.sort) || cols[0];
    // the answers come in address order: only another order needs a sort
    if (!(sc.key === 'start' && !st.group && !st.desc)) {
      // one key per row computed once: addresses as Numbers (exact for page-aligned addresses)
      const keyed = list.map((r) => {
        let k = val(r, sc);
        if (sc.addr) k = addrNum(k);
        return [k, r];
      });
      const dir = st.desc ? -1 : 1;
      keyed.sort((a, b) => {
        const x = a[0], y = b[0];
        if (x === undefined || x === null) return y === undefined || y === null ? 0 : 1;
        if (y === undefined || y === null) return -1;
        return x < y ? -dir : x > y ? dir : 0;
      });
      list = keyed.map((k) => k[1]);
    } else if (list === rows) {
      list = rows.slice();
    }
    rcount.textContent = `${int(list.length)} of ${int(rows.length)} ${st.group ? 'paths' : 'regions'}` +
      (sm ? '' : st.smaps ? ' · reading smaps…' : '');
    table.dataset.count = String(list.length);
    table.dataset.source = sm ? 'smaps' : 'maps';
    const headRow = h('tr', null, cols.map((c) => h('th', {
      scope: 'col', class: c.bytes || c.num ? 'num' : null, css: { width: `${c.w}rem` },
      'aria-sort': st.sort === c.key ? (st.desc ? 'descending' : 'ascending') : 'none',
    }, h('button', { type: 'button', class: 'sort', text: c.label, onclick: () => {
      if (st.sort === c.key) st.desc = !st.desc;
      else { st.sort = c.key; st.desc = !!(c.bytes || c.num); }
      drawTable();
      vt.scrollTo(0);
      table.querySelector('th[aria-sort]:not([aria-sort="none"]) button').focus();
    } }))));
    vt.set(headRow, list,
      h('caption', { class: 'sr-only', text: sm ? 'Regions with every smaps field; sizes in kB as smaps prints them' : 'Regions with their resident bytes; sizes in kB' }),
      cols.map((c) => c.w * remPx()));
  }

  function val(r, c) {
    if (c.field) return r.field ? r.field(c.key) : r.fields ? r.fields[c.key] : r[c.key];
    if (c.key === 'wss_ref') { const w = st.wss.get(r.start); return w ? w.referenced : undefined; }
    // a string from the parsing worker, an array where the answer came without it
    if (c.key === 'vm_flags') return Array.isArray(r.vm_flags) ? r.vm_flags.join(' ') : r.vm_flags || '';
    return r[c.key];
  }

  // Columns c0..c1-1 of a region (vtable draws those in view); the first one on its grid column.
  // old: a row that scrolled out, refilled in place when it has the same columns: a scroll then
  // changes text, not elements, and leaves the browser no new boxes to build or garbage to collect.
  function renderRow(r, i, [c0, c1], old) {
    const n = Math.min(c1, cols.length);
    const was = old && shapes.get(old);
    const reuse = !!was && was.cols === cols && was.c0 === c0 && was.n === n;
    const tr = reuse ? old : h('tr');
    if (st.group) tr.dataset.path = r.path;
    else tr.dataset.start = r.start;
    for (let k = c0; k < n; k++) {
      const td = reuse ? tr.children[k - c0] : h('td', { dataset: { col: cols[k].key } });
      fillCell(td, cols[k], r);
      if (!reuse) tr.append(td);
    }
    if (!reuse) {
      shapes.set(tr, { cols, c0, n });
      if (c0 > 0 && tr.firstChild) {
        tr.firstChild.style.gridColumnStart = String(c0 + 1);
        tr.firstChild.setAttribute('aria-colindex', String(c0 + 1));
      }
    }
    return tr;
  }

  // A cell of column c for region (or path group) r, new or of another row: what it holds is made
  // if missing and refilled where it differs.
  function fillCell(td, c, r) {
    const v = val(r, c);
    if (c.key === 'start' && !st.group) {
      let a = td.firstChild;
      if (!a) {
        td.className = 'mono';
        a = td.appendChild(h('a', { title: 'page map of this region' }));
      }
      a.href = `#/process/${pid}/region/${r.start}`;
      setText(a, v);
    } else if (c.key === 'path') {
      const shown = v || (st.group ? '[anonymous]' : '');
      let span = td.firstChild;
      if (!span) {
        td.className = 'path';
        span = td.appendChild(h('span', { class: 'clip' }));
      }
      setText(span, shown);
      if (shown) span.title = shown;
      else span.removeAttribute('title');
      const tag = span.nextSibling;
      if (r.deleted && !tag) td.append(h('span', { class: 'tag', text: 'deleted' }));
      else if (!r.deleted && tag) tag.remove();
    } else if (c.key === 'kind') {
      const chip = td.firstChild || td.appendChild(h('span'));
      setClass(chip, `chip k-${v}`);
      setText(chip, v);
    } else if (c.key === 'wss_ref') fillWss(td, st.wss.get(r.start));
    else {
      let cls = null, text, bytes;
      if (c.key === 'end') { cls = 'mono'; text = v; }
      else if (c.bytes && typeof v === 'number') { cls = 'num'; text = kb(v); bytes = v; }
      else if (c.num || typeof v === 'number') { cls = 'num'; text = int(v); }
      else { cls = c.key === 'vm_flags' ? 'flags' : null; text = v === undefined ? '' : String(v); }
      setClass(td, cls);
      setText(td, text);
      if (bytes !== undefined) td.dataset.bytes = bytes;
      else if ('bytes' in td.dataset) delete td.dataset.bytes;
    }
  }

  // Another page (or a test) can ask for a region's row: the table scrolls to it.
  table.addEventListener('reveal', (ev) => {
    const i = list.findIndex((r) => r.start === ev.detail);
    if (i >= 0) vt.scrollToIndex(i);
  });

  filter.addEventListener('input', debounce(() => { st.filter = filter.value.trim(); if (data) { drawTable(); vt.scrollTo(0); } }, 150));
  smapsBox.addEventListener('change', () => {
    st.smaps = smapsBox.checked;
    rememberSmaps(st.smaps);
    if (data) drawTable();
    refresh().catch((e) => { if (e.name !== 'AbortError') app.message(root, 'error', app.errorText(e)); });
  });
  group.addEventListener('change', () => {
    st.group = group.checked;
    st.sort = st.group ? 'size' : 'start';
    st.desc = st.group;
    if (data) drawTable();
    // the cheap answer is grouped here; smaps' groups are an answer of their own
    if (st.smaps || !data) refresh().catch((e) => { if (e.name !== 'AbortError') app.message(root, 'error', app.errorText(e)); });
  });
  // a working set measured in the panel colours the figure and adds its column to the table
  const panels = mountProcessPanels(panelBox, pid, app, (w) => {
    st.wss = new Map((w.regions || []).map((r) => [r.start, { referenced: r.referenced, rss: r.rss }]));
    st.wssInterval = w.measured_interval_ms;
    if (!data) return;
    drawFigure();
    drawTable();
  });
  // The panels fetch beside the page's own answers, not after them: at 10,000 regions smaps alone
  // kept the history chart off the screen for a second.  A panel's error is awaited with the page's.
  return { async refresh() {
    const p = st.exited ? null : panels.refresh();
    if (p) p.catch(() => {});
    await refresh();
    if (p) await p;
  }, destroy() { if (ctl) ctl.abort(); vt.destroy(); panels.destroy(); forgetKeys(key); } };
}

// A region's referenced bytes in the working-set interval, on the colour of its share of the resident.
function fillWss(td, w) {
  setClass(td, w ? 'num wss' : 'num muted');
  setText(td, w ? kb(w.referenced) : '—');
  if (w) td.dataset.bytes = w.referenced;
  else delete td.dataset.bytes;
  td.title = !w ? 'not in the working-set answer'
    : w.rss ? `${pct(w.referenced, w.rss)} of its ${kb(w.rss)} resident referenced in the interval` : 'nothing resident';
  td.style.background = w && w.rss ? heat(w.referenced / w.rss, true) : '';
}

// An element's only text, changed only where it differs (its text node kept).
function setText(el, text) {
  const t = el.firstChild;
  if (t && t.nodeType === Node.TEXT_NODE && !t.nextSibling) {
    if (t.data !== text) t.data = text;
  } else el.textContent = text;
}

function setClass(el, cls) {
  if (el.getAttribute('class') === cls) return;
  if (cls) el.setAttribute('class', cls);
  else el.removeAttribute('class');
}

function legend() {
  const kinds = ['text', 'rodata', 'data', 'bss', 'heap', 'anon', 'file', 'shm', 'stack', 'vdso', 'guard'];
  return h('div', { class: 'legend kinds' }, kinds.map((k) => h('span', { class: `key k-${k}`, text: KIND_LABEL[k] })),
    h('span', { class: 'key resident', text: 'resident part' }));
}

function drawCards(el, p, nregions) {
  clear(el);
  const s = p.status || {};
  const vmSize = statusGet(s, 'vm_size'), vmRss = statusGet(s, 'vm_rss'), swap = statusGet(s, 'vm_swap');
  const roll = p.rollup;
  const card = (key, label, v, sub) => h('div', { class: 'stat', dataset: { key, bytes: v === null || v === undefined ? '' : v } },
    h('div', { class: 'label', text: label }), h('div', { class: 'value', text: bytes(v), title: v === null || v === undefined ? '' : `${int(v)} bytes` }),
    sub ? h('div', { class: 'sub', text: sub }) : null);
  el.append(
    card('VmSize', 'Virtual (VmSize)', vmSize, 'everything mapped: reserved, not necessarily used'),
    card('VmRSS', 'Resident (VmRSS)', vmRss, vmSize ? `in RAM now: ${pct(vmRss, vmSize)} of virtual` : 'in RAM now'),
    card('Pss', 'Proportional (PSS)', roll ? roll.pss : null, 'resident, shared pages divided among their users'),
    card('Uss', 'Unique (USS)', p.uss, 'private resident: freed if this process exits'),
    card('VmSwap', 'Swapped out', swap, 'moved to swap'),
    h('div', { class: 'stat small', dataset: { key: 'faults' } },
      h('div', { class: 'label', text: 'Page faults' }),
      h('div', { class: 'value', text: int(p.faults.minor) }),
      h('div', { class: 'sub', text: `minor (frame mapped without I/O); ${int(p.faults.major)} major (read from disk)` })),
    h('div', { class: 'stat small' },
      h('div', { class: 'label', text: 'Resident by type' }),
      h('div', { class: 'sub', text: `anon ${bytes(statusGet(s, 'rss_anon'))} · file ${bytes(statusGet(s, 'rss_file'))} · shmem ${bytes(statusGet(s, 'rss_shmem'))}` }),
      h('div', { class: 'sub', text: nregions === null ? 'regions: reading the map…' : `${int(nregions)} regions` })));
  if (!roll && p.rollup_error) el.append(h('p', { class: 'hint', text: `PSS/USS unavailable: ${p.rollup_error}` }));
}

// layout.js - the address-space figure: the seed's picture of a process (kernel space on top, then the
// stack, the memory-mapping area, the heap up to brk, data, text) drawn from the real regions.
//
// Every region sits at its place in address order, but heights are not linear in size: a linear scale
// would make a 4 KiB [vdso] a hundred-millionth of a 128 TiB address space.  Each region's height grows
// with log2 of its page count, and each unmapped gap is one thin labelled strip, so tiny and huge
// regions are both visible and their order is exact.
import { h, clear } from './dom.js';
import { bytes, addrNum, pct, int } from './fmt.js';
import { KIND_LABEL } from './kinds.js';

const AREAS = {
  kernel: ['Kernel space', 'Above the top of user space: mapped into every process, but only the kernel may touch it.'],
  stack: ['Stack', 'Local variables and call frames of the main thread; grows down.'],
  mapping: ['Memory-mapping area', 'Shared libraries, files, large mallocs (their own mappings), thread stacks; grows down.'],
  heap: ['Heap', 'What small mallocs hand out; grows up as the program break (brk) moves.'],
  data: ['Data', 'Initialised globals and statics (data), zeroed ones (bss).'],
  text: ['Text', 'The program\'s machine code and its read-only data.'],
  low: ['Below the program', 'Mappings placed under the executable.'],
};

function areaOf(r, L, top) {
  const a = r._s;
  if (a >= top) return 'kernel';
  if (r.kind === 'stack') return 'stack';
  if (!L) {
    if (r.kind === 'heap') return 'heap';
    return 'mapping';
  }
  if (a >= L.startStack) return 'stack';
  if (r.kind === 'heap') return 'heap';
  if (a >= L.brk) return 'mapping';
  if (a >= L.endCode && a < L.brk) return 'data';
  if (a >= L.exeLow) return 'text';
  return 'low';
}

function heightOf(size) {
  const pages = Math.max(1, size / 4096);
  return Math.round(16 + 3.2 * Math.log2(pages));
}

// A run of at least FOLD_MIN neighbouring regions of one kind, none over FOLD_SMALL, is drawn as one
// folded bar that opens on demand: a JVM or a database maps thousands of such regions, and one line
// each would bury the picture (and the page) under them.  When a process still has more than
// MAX_ITEMS lines after that, runs of small regions of any kind fold too, and then runs of any size,
// so the figure stays a few thousand elements however many regions there are.
const FOLD_MIN = 16;
const FOLD_SMALL = 1 << 20;
const MAX_ITEMS = 400;
// Members of an opened fold drawn at once; the rest are a button away.
const OPEN_PAGE = 200;

// The colour of a referenced share (0..1) of a region's resident part in the working-set view: cold
// blue for resident but untouched in the interval, through yellow, to hot red for all of it used.
// light: the pale version, for a background under text.
export function heat(share, light = false) {
  const s = Math.max(0, Math.min(1, share));
  return `hsl(${Math.round(215 - 215 * s)}, 80%, ${light ? 86 : Math.round(55 - 8 * s)}%)`;
}

// A region's (or a fold's) working set: { referenced, rss } from the /wss answer, by start address.
function wssOf(r, wss) {
  if (!wss) return null;
  if (!r.fold) return wss.get(r.start) || null;
  let referenced = 0, rss = 0, any = false;
  for (const m of r.members) {
    const w = wssOf(m, wss);
    if (w) { any = true; referenced += w.referenced; rss += w.rss; }
  }
  return any ? { referenced, rss } : null;
}

// The resident part coloured by its referenced share, and the words for it.
function paintWss(el, res, w) {
  if (!w || !w.rss) return '';
  const share = w.referenced / w.rss;
  el.classList.add('wss');
  el.dataset.wssShare = share.toFixed(4);
  el.dataset.wssReferenced = String(w.referenced);
  res.style.background = heat(share);
  return `, ${bytes(w.referenced)} of it referenced in the working-set interval (${pct(w.referenced, w.rss)})`;
}

// regions: smaps or maps regions (resident bytes in fields.rss from smaps, in rss from maps?rss=1
// and from smaps' rows, see rows.js);
// layout: the process answer's layout;
// wss: a Map of start -> { referenced, rss } from /wss, to colour each resident part by its share used.
export function drawLayout(regions, layout, userTop, { pid, onPick, wss } = {}) {
  const top = addrNum(userTop || '0x7ffffffff000');
  // one small item per region with what placing and folding read, the region itself as reg: a copy
  // of every region (100,000 of them) was most of the figure's time and garbage
  const rs = regions.map((r) => ({
    _s: addrNum(r.start), _e: addrNum(r.end), _a: '', kind: r.kind, size: r.size, start: r.start, end: r.end,
    rss: r.rss !== undefined ? r.rss : r.fields ? r.fields.rss : undefined, reg: r,
  }));
  // the answers come in address order: highest first is then a reversal, not a sort
  let ascending = true;
  for (let i = 1; ascending && i < rs.length; i++) ascending = rs[i - 1]._s <= rs[i]._s;
  if (ascending) rs.reverse();
  else rs.sort((a, b) => b._s - a._s);
  let L = null;
  if (layout && layout.visible) {
    L = { startStack: addrNum(layout.start_stack), brk: addrNum(layout.brk), startBrk: addrNum(layout.start_brk), endCode: addrNum(layout.end_code), startCode: addrNum(layout.start_code) };
    // The executable's first mapping (headers, rodata) lies just below start_code: it belongs to the program image.
    const exePaths = new Set(rs.filter((x) => x.reg.path && x._s <= L.startCode && L.startCode < x._e).map((x) => x.reg.path));
    const exe = rs.filter((r) => r._e <= L.startCode && r.reg.inode && exePaths.has(r.reg.path));
    L.exeLow = exe.length ? Math.min(...exe.map((r) => r._s)) : L.startCode;
  }
  const ctx = { pid, onPick, layout, L, top, wss };
  const fig = h('div', { class: 'aspace', role: 'list', 'aria-label': 'Address space, highest address first' });
  const kernelBox = h('div', { class: 'area-head kernel', role: 'listitem' },
    h('strong', { text: AREAS.kernel[0] }), ` from ${userTop} up · `, h('span', { class: 'muted', text: AREAS.kernel[1] }));
  fig.append(kernelBox);
  for (const r of rs) r._a = areaOf(r, L, top);
  let items = rs;
  items = fold(items, (r) => r.kind !== 'heap' && r._a !== 'kernel' && r.size <= FOLD_SMALL, (r) => `${r._a} ${r.kind}`);
  if (items.length > MAX_ITEMS) items = fold(items, (r) => r.kind !== 'heap' && r._a !== 'kernel' && r.size <= FOLD_SMALL, (r) => r._a);
  if (items.length > MAX_ITEMS) items = fold(items, (r) => r.kind !== 'heap' && r._a !== 'kernel', (r) => r._a);
  fig.dataset.regions = String(rs.length);
  fig.dataset.lines = String(items.length);
  drawItems(fig, items, ctx, { area: 'kernel', upper: top });
  return fig;
}

// Runs of at least FOLD_MIN items that may fold and share a key become one fold item.
function fold(items, may, key) {
  const out = [];
  let i = 0;
  while (i < items.length) {
    const it = items[i];
    if (!may(it)) {
      out.push(it);
      i++;
      continue;
    }
    const k = key(it);
    let j = i + 1;
    while (j < items.length && may(items[j]) && key(items[j]) === k) j++;
    if (j - i >= FOLD_MIN) out.push(makeFold(items.slice(i, j)));
    else for (let x = i; x < j; x++) out.push(items[x]);
    i = j;
  }
  return out;
}

function makeFold(members) {
  let size = 0, rss = 0, hasRss = true, regions = 0;
  const kinds = new Set();
  for (const m of members) {
    size += m.size;
    regions += m.fold ? m.regions : 1;
    if (m.fold) { for (const k of m.kinds) kinds.add(k); } else kinds.add(m.kind);
    const v = m.rss;
    if (v === undefined) hasRss = false;
    else rss += v;
  }
  const last = members[members.length - 1];
  return {
    fold: true, members, size, regions, kinds, rss: hasRss ? rss : undefined,
    kind: kinds.size === 1 ? [...kinds][0] : 'mixed', _a: members[0]._a,
    _s: last._s, _e: members[0]._e, start: last.start, end: members[0].end,
  };
}

// Draws items (highest first) into el; at: { area, upper } of what was drawn above them.
function drawItems(el, items, ctx, at) {
  const { layout, L, top, pid, onPick, wss } = ctx;
  for (const r of items) {
    const a = r._a;
    if (a === 'kernel') {
      el.append(row(r, pid, onPick, true, wss));
      continue;
    }
    if (at.upper > r._e) el.append(gap(at.upper - r._e, at.upper === top));
    if (a !== at.area) {
      at.area = a;
      el.append(h('div', { class: `area-head ${a}`, role: 'listitem' }, h('strong', { text: AREAS[a][0] }), ' · ', h('span', { class: 'muted', text: AREAS[a][1] })));
    }
    if (r.fold) {
      el.append(foldEl(r, ctx));
    } else {
      if (r.kind === 'heap' && L) el.append(mark('brk', layout.brk, 'the program break: the heap ends here; small mallocs move it up'));
      el.append(row(r, pid, onPick, false, wss));
      if (r.kind === 'heap' && L) el.append(mark('start_brk', layout.start_brk, 'where the heap began'));
    }
    at.upper = r._s;
  }
}

// A folded run: one bar for all of it; opening it draws its members a page at a time in its place.
function foldEl(f, ctx) {
  const kindText = f.kind === 'mixed' ? `${f.kinds.size} kinds` : KIND_LABEL[f.kind] || f.kind;
  const label = `${int(f.regions)} regions folded, ${f.start}–${f.end}: ${kindText}, ${bytes(f.size)} mapped` +
    (f.rss !== undefined ? `, ${bytes(f.rss)} resident (${pct(f.rss, f.size)})` : '');
  const virt = h('span', { class: `virt k-${f.kind}` });
  const res = h('span', { class: 'resfill' });
  if (f.rss !== undefined) res.style.width = `${Math.min(100, (100 * f.rss) / f.size)}%`;
  const btn = h('button', { type: 'button', class: 'foldbtn', 'aria-expanded': 'false', title: label, 'aria-label': `Open: ${label}` },
    h('span', { class: 'addr', text: f.start }),
    h('span', { class: 'band' }, virt, res),
    h('span', { class: 'what' },
      h('span', { class: 'kind', text: `${int(f.regions)} × ${kindText}` }), ' ',
      h('span', { class: 'sizes' }, h('span', { class: 'v', text: bytes(f.size) }),
        f.rss !== undefined ? [' · ', h('span', { class: 'r', text: `${bytes(f.rss)} res` })] : null,
        h('span', { class: 'muted', text: ' · folded, open' }))));
  btn.style.height = `${heightOf(f.size) + 6}px`;
  const box = h('div', { class: ['region', 'fold', `k-${f.kind}`], role: 'listitem', dataset: { start: f.start, end: f.end, regions: f.regions } }, btn);
  const said = paintWss(box, res, wssOf(f, ctx.wss));
  if (said) { btn.title += said; btn.setAttribute('aria-label', `Open: ${label}${said}`); }
  const body = h('div', { class: 'foldbody', role: 'list' });
  let page = 0;
  const show = () => {
    clear(body);
    const n = f.members.length;
    const from = page * OPEN_PAGE, to = Math.min(n, from + OPEN_PAGE);
    const nav = (text, p) => h('button', { type: 'button', class: 'foldnav', text, onclick: () => { page = p; show(); } });
    if (from > 0) body.append(nav(`↑ the ${int(Math.min(OPEN_PAGE, from))} before`, page - 1));
    drawItems(body, f.members.slice(from, to), ctx, { area: f._a, upper: from === 0 ? f._e : f.members[from - 1]._s });
    if (to < n) body.append(nav(`↓ the next ${int(Math.min(OPEN_PAGE, n - to))} of ${int(n - to)} more`, page + 1));
  };
  btn.addEventListener('click', () => {
    const open = btn.getAttribute('aria-expanded') !== 'true';
    btn.setAttribute('aria-expanded', String(open));
    box.classList.toggle('open', open);
    if (open) {
      page = 0;
      show();
      box.append(body);
    } else {
      clear(body);
      body.remove();
    }
  });
  return box;
}

function gap(size, fromTop) {
  const el = h('div', { class: 'gap', 'aria-hidden': 'true' }, h('span', { text: `${fromTop ? 'unmapped up to the top of user space' : 'unmapped'} · ${bytes(size)}` }));
  return el;
}

function mark(name, addr, what) {
  return h('div', { class: 'mark', role: 'listitem' }, h('span', { class: 'markname', text: name }), ` ${addr} `, h('span', { class: 'muted', text: what }));
}

function row(r, pid, onPick, kernel, wss) {
  const { rss, reg } = r;
  const name = reg.path || `[${KIND_LABEL[r.kind] || r.kind}]`;
  const ht = heightOf(r.size);
  const virt = h('span', { class: `virt k-${r.kind}` });
  const res = h('span', { class: 'resfill' });
  if (rss !== undefined) res.style.width = `${Math.min(100, (100 * rss) / r.size)}%`;
  const label = `${r.start}–${r.end} ${name}: ${bytes(r.size)} virtual` + (rss !== undefined ? `, ${bytes(rss)} resident (${pct(rss, r.size)})` : '');
  const el = h(kernel ? 'div' : 'a', {
    class: ['region', `k-${r.kind}`], role: 'listitem', title: label, 'aria-label': label,
    href: kernel ? null : `#/process/${pid}/region/${r.start}`, dataset: { start: r.start, kind: r.kind },
  },
  h('span', { class: 'addr', text: r.start }),
  h('span', { class: 'band' }, virt, res),
  h('span', { class: 'what' },
    h('span', { class: 'kind', text: KIND_LABEL[r.kind] || r.kind }), ' ',
    h('span', { class: 'path', text: reg.path ? shortPath(reg.path) : '' }), ' ',
    h('span', { class: 'sizes' }, h('span', { class: 'v', text: bytes(r.size) }),
      rss !== undefined ? [' · ', h('span', { class: 'r', text: `${bytes(rss)} res` })] : null,
      h('span', { class: 'perms', text: ` ${reg.perms}` }))));
  el.style.height = `${ht}px`;
  const said = paintWss(el, res, wssOf(r, wss));
  if (said) { el.title += said; el.setAttribute('aria-label', el.title); }
  if (onPick) el.addEventListener('focus', () => onPick(reg));
  return el;
}

function shortPath(p) {
  if (p.length <= 48) return p;
  const i = p.lastIndexOf('/');
  return i > 0 ? `…${p.slice(i)}` : `${p.slice(0, 45)}…`;
}


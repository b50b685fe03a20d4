// layout.js - the address-space figure: the seed's picture of a process (kernel space on top, then the
// stack, the memory-mapping area, the heap up to brk, data, text) drawn from the real regions.
//
// Every region sits at its place in address order, but heights are not linear in size: a linear scale
// would make a 4 KiB [vdso] a hundred-millionth of a 128 TiB address space.  Each region's height grows
// with log2 of its page count, and each unmapped gap is one thin labelled strip, so tiny and huge
// regions are both visible and their order is exact.
import { h } from './dom.js';
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

// regions: smaps or maps regions (with fields when from smaps); layout: the process answer's layout.
export function drawLayout(regions, layout, userTop, { pid, onPick } = {}) {
  const top = addrNum(userTop || '0x7ffffffff000');
  const rs = regions.map((r) => ({ ...r, _s: addrNum(r.start), _e: addrNum(r.end) })).sort((a, b) => b._s - a._s);
  let L = null;
  if (layout && layout.visible) {
    L = { startStack: addrNum(layout.start_stack), brk: addrNum(layout.brk), startBrk: addrNum(layout.start_brk), endCode: addrNum(layout.end_code), startCode: addrNum(layout.start_code) };
    // The executable's first mapping (headers, rodata) lies just below start_code: it belongs to the program image.
    const exe = rs.filter((r) => r._e <= L.startCode && r.inode && rs.some((x) => x.path === r.path && x._s <= L.startCode && L.startCode < x._e));
    L.exeLow = exe.length ? Math.min(...exe.map((r) => r._s)) : L.startCode;
  }
  const fig = h('div', { class: 'aspace', role: 'list', 'aria-label': 'Address space, highest address first' });
  const kernelBox = h('div', { class: 'area-head kernel', role: 'listitem' },
    h('strong', { text: AREAS.kernel[0] }), ` from ${userTop} up · `, h('span', { class: 'muted', text: AREAS.kernel[1] }));
  fig.append(kernelBox);
  let area = 'kernel';
  let upper = top;   // the lowest address drawn so far in user space
  for (const r of rs) {
    const a = areaOf(r, L, top);
    if (a === 'kernel') {
      fig.append(row(r, pid, onPick, true));
      continue;
    }
    if (upper > r._e) fig.append(gap(upper - r._e, upper === top));
    if (a !== area) {
      area = a;
      fig.append(h('div', { class: `area-head ${a}`, role: 'listitem' }, h('strong', { text: AREAS[a][0] }), ' · ', h('span', { class: 'muted', text: AREAS[a][1] })));
    }
    if (r.kind === 'heap' && L) fig.append(mark('brk', layout.brk, 'the program break: the heap ends here; small mallocs move it up'));
    fig.append(row(r, pid, onPick));
    if (r.kind === 'heap' && L) fig.append(mark('start_brk', layout.start_brk, 'where the heap began'));
    upper = r._s;
  }
  return fig;
}

function gap(size, fromTop) {
  const el = h('div', { class: 'gap', 'aria-hidden': 'true' }, h('span', { text: `${fromTop ? 'unmapped up to the top of user space' : 'unmapped'} · ${bytes(size)}` }));
  return el;
}

function mark(name, addr, what) {
  return h('div', { class: 'mark', role: 'listitem' }, h('span', { class: 'markname', text: name }), ` ${addr} `, h('span', { class: 'muted', text: what }));
}

function row(r, pid, onPick, kernel) {
  const rss = r.fields ? r.fields.rss : undefined;
  const name = r.path || `[${KIND_LABEL[r.kind] || r.kind}]`;
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
    h('span', { class: 'path', text: r.path ? shortPath(r.path) : '' }), ' ',
    h('span', { class: 'sizes' }, h('span', { class: 'v', text: bytes(r.size) }),
      rss !== undefined ? [' · ', h('span', { class: 'r', text: `${bytes(rss)} res` })] : null,
      h('span', { class: 'perms', text: ` ${r.perms}` }))));
  el.style.height = `${ht}px`;
  if (onPick) el.addEventListener('focus', () => onPick(r));
  return el;
}

function shortPath(p) {
  if (p.length <= 48) return p;
  const i = p.lastIndexOf('/');
  return i > 0 ? `…${p.slice(i)}` : `${p.slice(0, 45)}…`;
}


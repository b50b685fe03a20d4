// processes.js - the process list: machine totals from /system above a searchable, sortable table whose
// virtual and resident columns are bars on one shared logarithmic scale, so 1 GiB reserved next to
// 400 KiB resident reads as "long bar, short bar" instead of "full bar, invisible bar".
import { api, qs } from '../api.js';
import { h, clear, debounce } from '../dom.js';
import { bytes, int, pct } from '../fmt.js';
import { virtualTable } from '../vtable.js';

const COLUMNS = [
  { key: 'pid', label: 'PID', num: true },
  { key: 'name', label: 'Name' },
  { key: 'container', label: 'Container', nosort: true },
  { key: 'uid', label: 'User' },
  { key: 'state', label: 'State' },
  { key: 'threads', label: 'Threads', num: true },
  { key: 'vm_size', label: 'Virtual (VmSize)', num: true, bar: 'virt' },
  { key: 'vm_rss', label: 'Resident (VmRSS)', num: true, bar: 'res' },
  { key: 'vm_swap', label: 'Swap', num: true },
  { key: 'minflt', label: 'Minor faults', num: true },
  { key: 'majflt', label: 'Major faults', num: true },
];
const DEFAULT_DESC = new Set(['threads', 'vm_size', 'vm_rss', 'vm_swap', 'minflt', 'majflt']);
const STATES = { R: 'running', S: 'sleeping', D: 'disk sleep', Z: 'zombie', T: 'stopped', t: 'traced', I: 'idle', X: 'dead' };

export function mount(root, params, app) {
  const saved = JSON.parse(sessionStorage.getItem('memscope.plist') || '{}');
  const st = { sort: saved.sort || 'vm_rss', order: saved.order || 'desc', q: saved.q || '', kthreads: !!saved.kthreads,
    container: saved.container || '' };
  const save = () => sessionStorage.setItem('memscope.plist', JSON.stringify({ sort: st.sort, order: st.order, q: st.q, kthreads: st.kthreads, container: st.container }));
  document.title = 'Processes · memscope';

  const totals = h('section', { class: 'machine', 'aria-label': 'This machine' });
  const search = h('input', { type: 'search', id: 'q', placeholder: 'name or command line', value: st.q, autocomplete: 'off' });
  const kth = h('input', { type: 'checkbox', id: 'kthreads', checked: st.kthreads });
  const ctr = h('input', { type: 'search', id: 'ctr', placeholder: 'container or pod id', value: st.container, autocomplete: 'off', size: 16 });
  const count = h('span', { class: 'muted', id: 'pcount' });
  const table = h('table', { class: 'data procs', id: 'proctable' });
  const more = h('div', { class: 'more' });
  const wrap = h('div', { class: 'scroll-x tablewrap', id: 'procwrap' }, table);
  root.append(
    h('h1', { text: 'Processes' }),
    totals,
    h('div', { class: 'toolbar' },
      h('label', { for: 'q', text: 'Search' }), search,
      h('label', { for: 'ctr', text: 'Container' }), ctr,
      h('label', { class: 'check' }, kth, ' show kernel threads'),
      count),
    h('p', { class: 'hint', text: 'Virtual: address space the process has reserved. Resident: the part in RAM now. ' +
      'Both bars use the same logarithmic scale (4 KiB at the left edge).' }),
    wrap,
    more);

  let last = null;
  let all = null;   // the last answer without a search: what typing filters at once
  let ctl = null;
  const refresh = async () => {
    if (ctl) ctl.abort();
    ctl = new AbortController();
    const [list, sys] = await Promise.all([
      api(`/processes${qs({ sort: st.sort, order: st.order, q: st.q, container: st.container })}`, { signal: ctl.signal }),
      api('/system', { signal: ctl.signal }),
    ]);
    app.system = sys;
    last = list;
    if (!st.q && !st.container) all = list;
    drawTotals(totals, sys);
    drawTable();
  };

  // Only the rows in view are drawn (vtable.js), and rows are keyed by pid and kept between
  // refreshes: a row whose figures did not change is the same element, one that changed is refilled
  // in place, so a refresh costs what changed in view, not the table.
  const rowsByPid = new Map();   // pid -> { tr, sig }; only rows on the page are kept
  let max = 4096 * 2;
  const head = h('tr', null, COLUMNS.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null, dataset: { key: c.key } },
    c.nosort ? c.label : h('button', { type: 'button', class: 'sort', text: c.label, onclick: () => {
      if (st.sort === c.key) st.order = st.order === 'asc' ? 'desc' : 'asc';
      else { st.sort = c.key; st.order = DEFAULT_DESC.has(c.key) ? 'desc' : 'asc'; }
      save();
      markSort();
      // sorted here at once; the server's answer, which follows, has the last word
      if (last) { sortLocal(); drawTable(); }
      refresh().catch((e) => app.message(root, 'error', app.errorText(e)));
    } }))));
  const vt = virtualTable(table, wrap, (p) => {
    const sig = `${max}|${p.name}|${p.cmdline}|${p.cgroup}|${p.kernel_thread}|${p.user}|${p.state}|${p.threads}|${p.vm_size}|${p.vm_rss}|${p.vm_swap}|${p.minflt}|${p.majflt}`;
    let r = rowsByPid.get(p.pid);
    if (!r) {
      r = { tr: h('tr', { dataset: { pid: p.pid } }), sig: null };
      rowsByPid.set(p.pid, r);
    }
    if (r.sig !== sig) {
      r.sig = sig;
      clear(r.tr).append(...cells(p, max));
    }
    return r.tr;
  });
  function markSort() {
    for (const th of head.children) th.setAttribute('aria-sort', th.dataset.key === st.sort ? (st.order === 'asc' ? 'ascending' : 'descending') : 'none');
  }
  markSort();

  function drawTable() {
    const list = last;
    const rows = list.processes.filter((p) => st.kthreads || !p.kernel_thread);
    max = 4096 * 2;
    for (const p of rows) if (p.vm_size > max) max = p.vm_size;
    const hidden = list.processes.length - rows.length;
    count.textContent = `${int(rows.length)} listed of ${int(list.total)} processes` +
      (hidden ? ` (${int(hidden)} kernel threads hidden)` : '') + (st.q ? ` matching “${st.q}”` : '') +
      (st.container ? ` in container “${st.container}”` : '');
    markSort();
    for (const [pid, r] of rowsByPid) if (!r.tr.isConnected) rowsByPid.delete(pid);
    vt.set(head, rows);
    table.dataset.count = String(rows.length);
    clear(more);
    if (!rows.length) more.append(h('p', { class: 'msg info', text: 'No process matches.' }));
  }

  function sortLocal() {
    const k = st.sort, dir = st.order === 'asc' ? 1 : -1;
    last = { ...last, processes: last.processes.slice().sort((a, b) => {
      const x = a[k], y = b[k];
      return x === y ? a.pid - b.pid : x === undefined || x === null ? 1 : y === undefined || y === null ? -1 : x < y ? -dir : dir;
    }) };
  }

  // The list narrows as one types (from the last full answer, matched as the server matches: the
  // name or the command line contains the text); the server's answer follows once typing pauses.
  const onSearch = debounce(() => {
    save();
    refresh().catch((e) => app.message(root, 'error', app.errorText(e)));
  }, 250);
  search.addEventListener('input', () => {
    st.q = search.value.trim();
    if (all) {
      const q = st.q;
      last = q ? { ...all, processes: all.processes.filter((p) => p.name.includes(q) || (p.cmdline || '').includes(q)) } : all;
      sortLocal();
      drawTable();
    }
    onSearch();
  });
  kth.addEventListener('change', () => { st.kthreads = kth.checked; save(); if (last) drawTable(); });
  // A container narrows the list on the server (?container= takes an id, its prefix or a pod uid);
  // choosing one in the table fills the field.
  const onContainer = debounce(() => {
    save();
    refresh().catch((e) => app.message(root, 'error', app.errorText(e)));
  }, 250);
  ctr.addEventListener('input', () => { st.container = ctr.value.trim(); onContainer(); });
  table.addEventListener('click', (ev) => {
    const b = ev.target.closest('button.ctr');
    if (!b) return;
    ctr.value = st.container = b.dataset.id;
    onContainer();
  });

  return { refresh, destroy() { if (ctl) ctl.abort(); vt.destroy(); } };
}

function cells(p, max) {
  return [
    h('td', { class: 'num', text: p.pid }),
    h('td', { class: 'name' },
      h('a', { href: `#/process/${p.pid}`, text: p.name, title: p.cmdline || p.name }),
      p.kernel_thread ? h('span', { class: 'tag', text: 'kernel thread' }) : null,
      p.cmdline ? h('div', { class: 'cmd muted', text: p.cmdline }) : null),
    containerCell(p),
    h('td', { text: p.user }),
    h('td', { text: p.state, title: STATES[p.state] || p.state }),
    h('td', { class: 'num', text: p.threads }),
    barCell(p.vm_size, max, 'virt', p.kernel_thread),
    barCell(p.vm_rss, max, 'res', p.kernel_thread, p.vm_size),
    h('td', { class: 'num', dataset: { bytes: p.vm_swap }, text: p.vm_swap ? bytes(p.vm_swap) : '0' }),
    h('td', { class: 'num', text: int(p.minflt) }),
    h('td', { class: 'num', text: int(p.majflt) }),
  ];
}

// The container a process runs in, named by its runtime and short id (the cgroup path on hover).
function containerCell(p) {
  const c = p.container;
  if (!c) return h('td', { class: 'muted', text: '—', title: p.cgroup || 'no cgroup' });
  const id = c.id || c.pod_uid || '';
  return h('td', { class: 'ctr', dataset: { container: id } },
    h('button', { type: 'button', class: 'ctr linkish', dataset: { id }, title: `${p.cgroup || ''}: show only this container's processes`,
      text: `${c.runtime} ${id.slice(0, 12)}` }));
}

// log scale from one page to the largest value in view
function logFrac(v, max) {
  if (!v || v <= 0) return 0;
  const lo = Math.log2(4096), hi = Math.log2(max);
  return Math.max(0.01, Math.min(1, (Math.log2(Math.max(v, 4096)) - lo) / (hi - lo)));
}

function barCell(v, max, kind, kthread, of) {
  if (kthread) return h('td', { class: 'num muted', text: '—', title: 'kernel threads have no user address space' });
  const bar = h('span', { class: `bar ${kind}` });
  bar.style.width = `${(logFrac(v, max) * 100).toFixed(1)}%`;
  return h('td', { class: 'barcell', dataset: { bytes: v }, title: `${int(v)} bytes${of ? ` (${pct(v, of)} of virtual)` : ''}` },
    h('span', { class: 'track' }, bar), h('span', { class: 'val', text: bytes(v) }));
}

// What the kernel says about the whole machine: RAM in use, what processes have been promised
// (Committed_AS, virtual) against what exists, and swap.
function drawTotals(el, sys) {
  clear(el);
  const m = sys.meminfo || {};
  const total = m.MemTotal, avail = m.MemAvailable, used = total - avail;
  const card = (label, value, sub, key) => h('div', { class: 'stat', dataset: { key, bytes: value } },
    h('div', { class: 'label', text: label }), h('div', { class: 'value', text: bytes(value) }), sub ? h('div', { class: 'sub', text: sub }) : null);
  const meter = h('div', { class: 'meter', role: 'img', 'aria-label': `RAM: ${bytes(used)} in use of ${bytes(total)}` });
  const segs = [
    ['anon', m.AnonPages, 'process memory (anonymous)'],
    ['cache', (m.Cached || 0) + (m.Buffers || 0), 'file cache'],
    ['kern', Math.max(0, used - (m.AnonPages || 0)), 'kernel & other'],
  ];
  let left = total;
  for (const [cls, v, what] of segs) {
    const w = Math.max(0, Math.min(v || 0, left));
    left -= w;
    const seg = h('span', { class: `seg ${cls}`, title: `${what}: ${bytes(v)}` });
    seg.style.width = `${(100 * w) / total}%`;
    meter.append(seg);
  }
  el.append(
    h('div', { class: 'stats' },
      card('RAM total', total, `page size ${sys.page_size} B`, 'MemTotal'),
      card('RAM available', avail, `${pct(avail, total)} of total`, 'MemAvailable'),
      card('Anonymous pages', m.AnonPages, 'heap, stacks, private mappings', 'AnonPages'),
      card('File cache', (m.Cached || 0) + (m.Buffers || 0), 'Cached + Buffers', 'Cached'),
      card('Promised (Committed_AS)', m.Committed_AS, `virtual memory handed out; ${pct(m.Committed_AS, total)} of RAM`, 'Committed_AS'),
      card('Swap used', (m.SwapTotal || 0) - (m.SwapFree || 0), m.SwapTotal ? `of ${bytes(m.SwapTotal)}` : 'no swap', 'SwapUsed')),
    h('div', { class: 'meterwrap' }, meter,
      h('div', { class: 'legend' },
        h('span', { class: 'key anon', text: 'anonymous' }), h('span', { class: 'key cache', text: 'file cache' }),
        h('span', { class: 'key kern', text: 'kernel & other' }), h('span', { class: 'key free', text: 'available' }))),
    h('p', { class: 'hint' }, `THP: ${sys.thp ? sys.thp.enabled : '?'} · overcommit mode ${sys.overcommit ? sys.overcommit.memory : '?'} · ` +
      `user space ends at ${sys.user_space_top}`));
}

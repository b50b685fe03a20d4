// process.js - one process: who it is, its totals (VmSize, VmRSS, PSS, USS, swap), the address-space
// figure, and the region table with every smaps field, sortable, filterable, grouped by path on request.
import { api } from '../api.js';
import { h, clear, debounce } from '../dom.js';
import { bytes, int, kb, pct, statusGet } from '../fmt.js';
import { drawLayout } from '../layout.js';
import { KIND_LABEL } from '../kinds.js';
import { gone } from '../gone.js';
import { mountProcessPanels } from '../history.js';

// Fields that are not sizes (the kernel prints them without "kB").
const NOT_BYTES = new Set(['thp_eligible', 'protection_key']);
const HEAD = [
  { key: 'start', label: 'Start', addr: true }, { key: 'end', label: 'End', addr: true },
  { key: 'size', label: 'Size', bytes: true }, { key: 'perms', label: 'Perms' }, { key: 'kind', label: 'Kind' },
  { key: 'path', label: 'Path' },
];

export function mount(root, { pid }, app) {
  document.title = `${pid} · memscope`;
  const st = { sort: 'start', desc: false, filter: '', group: false, exited: false };
  const head = h('div', { class: 'phead' }, h('h1', { text: `Process ${pid}` }));
  const cards = h('section', { class: 'stats', 'aria-label': 'Totals' });
  const figBox = h('div', { class: 'figbox' });
  const filter = h('input', { type: 'search', id: 'rfilter', placeholder: 'path, kind, perms or address', autocomplete: 'off' });
  const group = h('input', { type: 'checkbox', id: 'group' });
  const rcount = h('span', { class: 'muted' });
  const table = h('table', { class: 'data regions', id: 'regtable' });
  const panelBox = h('div', { class: 'panels' });
  root.append(head, cards,
    h('section', { class: 'two' },
      h('div', { class: 'col-fig' },
        h('h2', { text: 'Address space' }),
        h('p', { class: 'hint', text: 'Highest address first, as in the classic picture. Heights grow with the logarithm of each region\'s size, so small regions stay visible; gaps are squeezed. The bar is the region\'s virtual size; the dark part is what is resident in RAM. Choose a region to see its pages.' }),
        legend(),
        figBox)),
    panelBox,
    h('h2', { id: 'regions-h', text: 'Regions' }),
    h('div', { class: 'toolbar' },
      h('label', { for: 'rfilter', text: 'Filter' }), filter,
      h('label', { class: 'check' }, group, ' group by path'),
      rcount,
      h('a', { class: 'button', href: `#/process/${pid}/translate`, text: 'Translate an address…' })),
    h('div', { class: 'scroll-x tablewrap' }, table));

  let data = null;
  let ctl = null;
  const refresh = async () => {
    if (ctl) ctl.abort();
    ctl = new AbortController();
    const signal = ctl.signal;
    try {
      const [p, sm] = await Promise.all([
        api(`/processes/${pid}`, { signal }),
        api(`/processes/${pid}/smaps${st.group ? '?group=path' : ''}`, { signal }),
      ]);
      // the figure always needs the regions themselves
      const regs = st.group ? await api(`/processes/${pid}/maps`, { signal }) : sm;
      data = { p, sm, regs };
    } catch (e) {
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
    draw();
  };

  function draw() {
    const { p, sm, regs } = data;
    document.title = `${p.name} (${p.pid}) · memscope`;
    clear(head).append(
      h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumbs' }, h('a', { href: '#/', text: 'Processes' }), ' › ', `${p.name} (${p.pid})`),
      h('h1', null, `${p.name} `, h('span', { class: 'muted', text: `pid ${p.pid}` })),
      h('p', { class: 'cmdline', text: p.cmdline || '(no command line: kernel thread or zombie)' }),
      h('p', { class: 'muted' }, `user ${p.user} (uid ${p.uid}) · state ${p.state} · ${p.threads} thread${p.threads === 1 ? '' : 's'} · parent `,
        p.ppid ? h('a', { href: `#/process/${p.ppid}`, text: String(p.ppid) }) : '0'));
    drawCards(cards, p, sm);
    clear(figBox);
    if (p.kernel_thread || !regs.regions || !regs.regions.length) {
      figBox.append(h('p', { class: 'msg info', text: 'This process has no user address space (a kernel thread or a zombie): nothing to draw.' }));
    } else {
      if (!p.layout.visible) figBox.append(h('p', { class: 'msg info', text: `Layout pointers hidden: ${p.layout.hidden_reason || 'not readable'}. Areas are placed by region kind only.` }));
      figBox.append(drawLayout(regs.regions, p.layout, (app.system && app.system.user_space_top) || null, { pid }));
    }
    drawTable();
  }

  function drawTable() {
    const { sm } = data;
    clear(table);
    const rows = st.group ? sm.groups : sm.regions;
    const fieldKeys = [];
    const seen = new Set();
    // smaps' own Size line is the Size column already
    for (const r of rows) for (const k of Object.keys(r.fields)) if (k !== 'size' && !seen.has(k)) { seen.add(k); fieldKeys.push(k); }
    const cols = st.group
      ? [{ key: 'path', label: 'Path' }, { key: 'regions', label: 'Regions', num: true }, { key: 'size', label: 'Size', bytes: true }]
      : HEAD.slice();
    for (const k of fieldKeys) cols.push({ key: k, label: k, field: true, bytes: !NOT_BYTES.has(k) });
    if (!st.group) cols.push({ key: 'vm_flags', label: 'VmFlags' });
    const val = (r, c) => (c.field ? r.fields[c.key] : c.key === 'vm_flags' ? (r.vm_flags || []).join(' ') : r[c.key]);
    const f = st.filter.toLowerCase();
    let list = rows.filter((r) => !f || [r.path, r.kind, r.perms, r.start, r.end, KIND_LABEL[r.kind]].some((x) => x && String(x).toLowerCase().includes(f)));
    const sc = cols.find((c) => c.key === st.sort) || cols[0];
    const cmp = (a, b) => {
      let x = val(a, sc), y = val(b, sc);
      if (sc.addr) { x = BigInt(x); y = BigInt(y); }
      if (x === undefined || x === null) return 1;
      if (y === undefined || y === null) return -1;
      return x < y ? -1 : x > y ? 1 : 0;
    };
    list = list.slice().sort((a, b) => (st.desc ? -cmp(a, b) : cmp(a, b)));
    rcount.textContent = `${int(list.length)} of ${int(rows.length)} ${st.group ? 'paths' : 'regions'}`;
    table.append(h('caption', { class: 'sr-only', text: 'Regions with every smaps field; sizes in kB as smaps prints them' }),
      h('thead', null, h('tr', null, cols.map((c) => h('th', {
        scope: 'col', class: c.bytes || c.num ? 'num' : null,
        'aria-sort': st.sort === c.key ? (st.desc ? 'descending' : 'ascending') : 'none',
      }, h('button', { type: 'button', class: 'sort', text: c.label, onclick: () => {
        if (st.sort === c.key) st.desc = !st.desc;
        else { st.sort = c.key; st.desc = !!(c.bytes || c.num); }
        drawTable();
        table.querySelector(`th[aria-sort]:not([aria-sort="none"]) button`).focus();
      } }))))));
    const body = h('tbody');
    for (const r of list) {
      const tr = h('tr', { dataset: st.group ? { path: r.path } : { start: r.start } });
      for (const c of cols) {
        const v = val(r, c);
        let td;
        if (c.key === 'start' && !st.group) td = h('td', { class: 'mono' }, h('a', { href: `#/process/${pid}/region/${r.start}`, text: v, title: 'page map of this region' }));
        else if (c.key === 'end') td = h('td', { class: 'mono', text: v });
        else if (c.key === 'path') td = h('td', { class: 'path', text: v || (st.group ? '[anonymous]' : '') }, r.deleted ? h('span', { class: 'tag', text: 'deleted' }) : null);
        else if (c.key === 'kind') td = h('td', null, h('span', { class: `chip k-${v}`, text: v }));
        else if (c.bytes && typeof v === 'number') td = h('td', { class: 'num', text: kb(v), dataset: { bytes: v } });
        else if (c.num || typeof v === 'number') td = h('td', { class: 'num', text: int(v) });
        else td = h('td', { class: c.key === 'vm_flags' ? 'flags' : null, text: v === undefined ? '' : String(v) });
        td.dataset.col = c.key;
        tr.append(td);
      }
      body.append(tr);
    }
    table.append(body);
  }

  filter.addEventListener('input', debounce(() => { st.filter = filter.value.trim(); if (data) drawTable(); }, 150));
  group.addEventListener('change', () => {
    st.group = group.checked;
    st.sort = st.group ? 'size' : 'start';
    st.desc = st.group;
    refresh().catch((e) => app.message(root, 'error', app.errorText(e)));
  });
  const panels = mountProcessPanels(panelBox, pid, app);
  return { async refresh() { await refresh(); if (!st.exited) await panels.refresh(); }, destroy() { if (ctl) ctl.abort(); panels.destroy(); } };
}

function legend() {
  const kinds = ['text', 'rodata', 'data', 'bss', 'heap', 'anon', 'file', 'shm', 'stack', 'vdso', 'guard'];
  return h('div', { class: 'legend kinds' }, kinds.map((k) => h('span', { class: `key k-${k}`, text: KIND_LABEL[k] })),
    h('span', { class: 'key resident', text: 'resident part' }));
}

function drawCards(el, p, sm) {
  clear(el);
  const s = p.status || {};
  const vmSize = statusGet(s, 'VmSize'), vmRss = statusGet(s, 'VmRSS'), swap = statusGet(s, 'VmSwap');
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
      h('div', { class: 'sub', text: `anon ${bytes(statusGet(s, 'RssAnon'))} · file ${bytes(statusGet(s, 'RssFile'))} · shmem ${bytes(statusGet(s, 'RssShmem'))}` }),
      h('div', { class: 'sub', text: `${int(sm.count)} regions` })));
  if (!roll && p.rollup_error) el.append(h('p', { class: 'hint', text: `PSS/USS unavailable: ${p.rollup_error}` }));
}

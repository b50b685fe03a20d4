// containers.js - memory cgroups: the tree by usage with each bar split anon / file / kernel / other
// and the limit marked, the OOM kills (each with its victim's last sample and snapshot), and one
// cgroup's page with its processes and where its usage goes (#/containers, #/cgroup/<encoded path>).
import { api, qs, ApiError } from '../api.js';
import { h, clear } from '../dom.js';
import { bytes, int, pct } from '../fmt.js';
import { memBar, legend } from '../membar.js';
import { virtualTable } from '../vtable.js';

export function mount(root, params, app) {
  return params.path === undefined ? mountTree(root, app) : mountOne(root, params.path, app);
}

const cgroupHref = (path) => `#/cgroup/${encodeURIComponent(path)}`;
const baseName = (path) => (path === '/' ? '/' : path.slice(path.lastIndexOf('/') + 1));

function containerTag(c) {
  if (!c) return null;
  const what = c.id ? `${c.runtime || 'container'} ${c.id.slice(0, 12)}` : `pod ${c.pod_uid}`;
  return h('span', { class: 'tag ctr', title: [c.runtime, c.id, c.pod_uid && `pod ${c.pod_uid}`].filter(Boolean).join(' · '), text: what });
}

// ---- the tree ----

function mountTree(root, app) {
  document.title = 'Containers · memscope';
  const head = h('p', { class: 'hint', id: 'cgsummary' });
  const tree = h('table', { class: 'data cgtree', id: 'cgtree' });
  const ooms = h('div', { id: 'oomlist' });
  // only the rows in view are drawn: a node with pods of several containers each has thousands
  const wrap = h('div', { class: 'scroll-x tablewrap', id: 'cgwrap' }, tree);
  root.append(h('h1', { text: 'Containers and cgroups' }), head, legend(h), wrap,
    h('h2', { text: 'OOM kills' }), ooms);
  const vt = treeTable(tree, wrap);
  let ctl = null;
  let oomsShown = null;   // the events answer on screen, as text: the same one is not drawn again
  const refresh = async () => {
    if (ctl) ctl.abort();
    ctl = new AbortController();
    // both asked at once; the tree is drawn as soon as its answer is in, not after the kills'
    const evP = api(`/events${qs({ type: 'oom' })}`, { signal: ctl.signal });
    evP.catch(() => {});   // awaited below
    const list = await api('/cgroups', { signal: ctl.signal }).catch((e) => e);
    if (list instanceof ApiError) {
      vt.draw([], 1);
      head.textContent = '';
      app.message(root, 'warn', `No cgroups to show: ${list.message}`);
    } else if (list instanceof Error) {
      throw list;
    } else {
      drawTree(head, vt, list);
    }
    const ev = await evP;
    const text = JSON.stringify(ev);
    if (text !== oomsShown) {
      drawOoms(ooms, ev);
      oomsShown = text;
    }
  };
  return { refresh, destroy() { if (ctl) ctl.abort(); vt.destroy(); } };
}

// Children sorted by usage under their parent, depth-first: the flat list becomes an indented tree.
function ordered(cgroups) {
  const kids = new Map();
  for (const c of cgroups) {
    if (!kids.has(c.parent)) kids.set(c.parent, []);
    kids.get(c.parent).push(c);
  }
  for (const l of kids.values()) l.sort((a, b) => (b.usage ?? usageOf(b)) - (a.usage ?? usageOf(a)) || a.path.localeCompare(b.path));
  const out = [];
  const walk = (parent) => { for (const c of kids.get(parent) || []) { out.push(c); walk(c.path); } };
  walk(null);
  return out;
}

// The v2 root has no memory.current: its usage is what its parts add up to.
const usageOf = (c) => c.usage ?? (c.parts ? c.parts.anon + c.parts.file + c.parts.shmem + (c.parts.kernel || 0) + (c.parts.sock || 0) : 0);

// The tree's virtual table: its header, and one row per cgroup kept (by path) while its figures are
// the same, so a refresh that changes nothing changes nothing in the DOM.
function treeTable(table, wrap) {
  const rows = new Map();
  let scale = 1;
  const vt = virtualTable(table, wrap, (c) => {
    const u = usageOf(c);
    const limited = c.limit !== null && c.limit !== undefined;
    const sig = `${scale}|${u}|${c.limit}|${c.nprocs}|${c.oom_kills}|${c.pressure_some_avg10}|${c.depth}|` +
      `${c.parts ? Object.values(c.parts).join(',') : ''}|${c.container ? c.container.id || c.container.pod_uid : ''}`;
    let r = rows.get(c.path);
    if (r && r.sig === sig) return r.tr;
    const tr = h('tr', { dataset: { path: c.path } },
      h('td', { class: 'cgname', css: { paddingLeft: `${0.3 + c.depth * 1.1}rem` } },
        h('a', { href: cgroupHref(c.path), text: baseName(c.path), title: c.path }), containerTag(c.container)),
      h('td', { class: 'num usage', dataset: { bytes: u }, text: bytes(u) }),
      h('td', { class: 'barcell' }, memBar(h, { usage: u, parts: c.parts, limit: c.limit, scale: limited ? Math.max(c.limit, u) : scale,
        label: `${bytes(u)}${limited ? ` of ${bytes(c.limit)}` : ''}` })),
      h('td', { class: 'num limit', dataset: { bytes: limited ? c.limit : '' }, text: limited ? bytes(c.limit) : 'none' }),
      h('td', { class: 'num', text: int(c.nprocs) }),
      h('td', { class: ['num', c.oom_kills ? 'bad' : null], text: c.oom_kills === null ? '—' : int(c.oom_kills) }),
      h('td', { class: 'num', text: c.pressure_some_avg10 === null ? '—' : `${c.pressure_some_avg10.toFixed(2)}%` }));
    r = { tr, sig };
    rows.set(c.path, r);
    return tr;
  });
  vt.head = h('tr', null, ['cgroup', 'usage', 'split', 'limit', 'processes', 'OOM kills', 'pressure'].map((t, i) =>
    h('th', { scope: 'col', class: i === 1 || i >= 3 ? 'num' : null, text: t })));
  vt.draw = (list, sc) => {
    scale = sc;
    const live = new Set(list.map((c) => c.path));
    for (const p of rows.keys()) if (!live.has(p)) rows.delete(p);
    vt.set(vt.head, list);
    table.dataset.count = String(list.length);
  };
  return vt;
}

function drawTree(head, vt, list) {
  const rows = ordered(list.cgroups);
  let scale = 1;
  for (const c of rows) scale = Math.max(scale, usageOf(c));
  head.textContent = `cgroup v${list.version} memory controller at ${list.root}${list.hybrid ? ' (hybrid host)' : ''}: ` +
    `${int(list.count)} cgroups. Bars share one scale (the largest usage); a limited cgroup's bar is drawn ` +
    'against its limit, marked at the right.';
  vt.draw(rows, scale);
}

function drawOoms(box, ev) {
  clear(box);
  box.append(h('p', { class: 'hint', id: 'oomkept' }, ev.source === 'kmsg' ? 'Read from the kernel log as they happen. '
    : `Victims are not named: ${ev.source_note || 'the kernel log is not read'}. `,
  ev.persistent ? 'Kept in the history store across restarts.' : `Not kept across restarts: ${ev.kept_note}.`));
  if (!ev.events.length) {
    box.append(h('p', { class: 'muted', id: 'nooom', text: 'None so far.' }));
    return;
  }
  const t = h('table', { class: 'data', id: 'oomtable' });
  t.append(h('thead', null, h('tr', null, ['time', 'cgroup', 'victim', 'anon rss', 'file rss', 'shmem rss', 'total vm', 'last sample', 'snapshot'].map((x, i) =>
    h('th', { scope: 'col', class: i >= 3 && i < 8 ? 'num' : null, text: x })))));
  const body = h('tbody');
  for (const e of [...ev.events].reverse()) {
    const v = e.victim;
    body.append(h('tr', { dataset: { seq: e.seq, pid: v ? v.pid : '' } },
      h('td', { text: new Date(e.time_ms).toLocaleString('en-GB') }),
      h('td', null, e.cgroup === 'global' ? 'whole machine' : h('a', { href: cgroupHref(e.cgroup), text: e.cgroup })),
      h('td', null, v ? [h('a', { href: `#/oom/${e.seq}`, text: `${v.name} (${v.pid})` })] : h('span', { class: 'muted', text: `unknown: ${e.victim_unknown_reason}` })),
      ['anon_rss', 'file_rss', 'shmem_rss', 'total_vm'].map((k) =>
        h('td', { class: 'num', dataset: { key: k, bytes: v && v[k] !== undefined ? v[k] : '' }, text: v && v[k] !== undefined ? bytes(v[k]) : '—' })),
      lastSampleCell(e), snapshotCell(e)));
  }
  t.append(body);
  box.append(h('div', { class: 'scroll-x' }, t));
}

// The victim's last sample before the kill (RSS), linking to its history; or why there is none.
function lastSampleCell(e) {
  const s = e.history && e.history.last_sample;
  if (!s) return h('td', { class: 'num muted', dataset: { key: 'last_rss', bytes: '' }, title: e.history_unknown_reason || '', text: '—' });
  return h('td', { class: 'num', dataset: { key: 'last_rss', bytes: s.rss } },
    h('a', { href: `#/oom/${e.seq}`, class: 'hist', title: `RSS ${(s.before_kill_ms / 1000).toFixed(1)} s before the kill`, text: bytes(s.rss) }));
}

function snapshotCell(e) {
  if (!e.snapshot) return h('td', { class: 'muted', dataset: { key: 'snapshot' }, title: e.snapshot_unknown_reason || '', text: '—' });
  return h('td', { dataset: { key: 'snapshot', id: e.snapshot.id } },
    h('a', { href: `#/oom/${e.seq}/snapshot`, class: 'snap', text: `#${e.snapshot.id}` }));
}

// ---- one cgroup ----

function mountOne(root, path, app) {
  document.title = `${path} · memscope`;
  const box = h('div');
  root.append(h('p', null, h('a', { href: '#/containers', text: '← all cgroups' })), box);
  let ctl = null;
  const refresh = async () => {
    if (ctl) ctl.abort();
    ctl = new AbortController();
    const cg = await api(`/cgroups/${encodeURIComponent(path)}`, { signal: ctl.signal });
    drawOne(box, cg);
  };
  return { refresh, destroy() { if (ctl) ctl.abort(); } };
}

function fact(label, value, bytesVal, key) {
  return h('div', { class: 'stat', dataset: { key, bytes: bytesVal === null || bytesVal === undefined ? '' : bytesVal } },
    h('div', { class: 'label', text: label }), h('div', { class: 'value', text: value }));
}

function drawOne(box, cg) {
  clear(box);
  const a = cg.attribution;
  const usage = a ? a.usage : cg.usage;
  box.append(h('h1', null, cg.path, ' ', containerTag(cg.container)),
    h('section', { class: 'stats', 'aria-label': 'Figures' },
      fact('usage', bytes(usage), usage, 'usage'),
      fact('peak', bytes(cg.peak), cg.peak, 'peak'),
      fact('limit', cg.limit === null ? 'none' : bytes(cg.limit), cg.limit, 'limit'),
      fact('processes here', int(cg.nprocs), null, 'nprocs'),
      fact('OOM kills', cg.oom_kills === null ? '—' : int(cg.oom_kills), null, 'oom_kills'),
      fact('cgroup version', `v${cg.version}`, null, 'version')));
  if (cg.parent) box.append(h('p', null, 'Parent: ', h('a', { href: cgroupHref(cg.parent), text: cg.parent })));
  if (a) {
    box.append(h('h2', { text: 'Where the usage goes' }), legend(h),
      memBar(h, { usage, parts: { anon: a.anon.bytes, file: a.file.bytes, kernel: a.kernel ? a.kernel.bytes : 0 }, limit: cg.limit,
        scale: cg.limit ? Math.max(cg.limit, usage) : usage, label: `usage ${bytes(usage)}` }),
      attributionTable(a));
  }
  box.append(h('h2', { text: 'Processes in it and below it' }), procTable(cg.processes));
  box.append(h('h2', { text: 'The kernel\'s files' }),
    h('details', null, h('summary', { text: 'every memory file, under its own name' }),
      h('pre', { class: 'mono', id: 'cgfiles', text: JSON.stringify(cg.files, null, 1) })));
}

function attributionTable(a) {
  const row = (label, key, v, note) => h('tr', { dataset: { key, bytes: v === null || v === undefined ? '' : v } },
    h('th', { scope: 'row', text: label }), h('td', { class: 'num', text: v === null || v === undefined ? '—' : bytes(v) }),
    h('td', { class: 'num', text: v === null || v === undefined ? '' : pct(v, a.usage) }), h('td', { class: 'muted', text: note || '' }));
  const k = a.kernel;
  const t = h('table', { class: 'data', id: 'attribution' },
    h('tbody', null,
      row('anon', 'anon', a.anon.bytes, a.anon.explained_by_pss === null ? '' :
        `the processes' PSS of anonymous memory explains ${pct(a.anon.processes_pss_anon, a.anon.bytes)}`),
      row('file (page cache)', 'file', a.file.bytes, `active ${bytes(a.file.active)}, inactive ${bytes(a.file.inactive)}`),
      row('shmem (tmpfs, shared)', 'shmem', a.shmem),
      row('kernel', 'kernel', k ? k.bytes : null, k ? `slab ${bytes(k.slab)}, stacks ${bytes(k.stacks)}, page tables ${bytes(k.pagetables)}, other ${bytes(k.other)}` : 'no figure for this cgroup'),
      row('sockets', 'sock', a.sock, a.sock === null ? 'v1 counts sockets apart' : ''),
      row('rest', 'rest', a.rest, a.adds_up ? 'the parts add up within 5%' : a.unplaced),
      row('usage', 'usage', a.usage, a.note || '')));
  return h('div', { class: 'scroll-x' }, t);
}

function procTable(procs) {
  if (!procs.length) return h('p', { class: 'muted', text: 'No processes.' });
  const t = h('table', { class: 'data', id: 'cgprocs' });
  t.append(h('thead', null, h('tr', null, ['PID', 'name', 'cgroup', 'RSS', 'PSS', 'PSS anon', 'USS'].map((x, i) =>
    h('th', { scope: 'col', class: i >= 3 || i === 0 ? 'num' : null, text: x })))));
  const body = h('tbody');
  for (const p of procs) {
    body.append(h('tr', { dataset: { pid: p.pid } },
      h('td', { class: 'num' }, h('a', { href: `#/process/${p.pid}`, text: p.pid })),
      h('td', { text: p.name || p.error || '' }),
      h('td', { class: 'mono', text: p.in }),
      ['rss', 'pss', 'pss_anon', 'uss'].map((k) => h('td', { class: 'num', dataset: { key: k, bytes: p[k] ?? '' }, text: bytes(p[k]) }))));
  }
  t.append(body);
  return h('div', { class: 'scroll-x' }, t);
}

// oomkill.js - one OOM kill: the kernel's figures at the kill, the victim's last sample before it,
// its memory over time up to the kill (the history store's series for that process, by its start
// time) with the kill and the last snapshot marked, and that snapshot's largest regions.  Where the
// history has none of these, the API's reason is shown instead.
import { api, qs } from '../api.js';
import { h, clear } from '../dom.js';
import { bytes } from '../fmt.js';
import { drawTimeChart } from '../timechart.js';

const SERIES = [
  { key: 'rss', label: 'RSS', stroke: '#b45309' }, { key: 'pss', label: 'PSS', stroke: '#1d4ed8' },
  { key: 'uss', label: 'USS', stroke: '#047857' }, { key: 'swap', label: 'swap', stroke: '#be123c' },
];
const FIGURES = ['rss', 'pss', 'uss', 'swap', 'rss_anon', 'rss_file', 'rss_shmem', 'vm_size'];
const TOP_REGIONS = 10;

export function mount(root, params, app) {
  document.title = `OOM kill #${params.seq} · memscope`;
  const box = h('div');
  root.append(h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumbs' }, h('a', { href: '#/containers', text: 'Containers' }), ' › ', `OOM kill #${params.seq}`), box);
  let plot = null;
  let ctl = null;
  const refresh = async () => {
    if (ctl) ctl.abort();
    ctl = new AbortController();
    const all = await api(`/events${qs({ type: 'oom' })}`, { signal: ctl.signal });
    const e = all.events.find((x) => x.seq === params.seq);
    clear(box);
    if (!e) {
      box.append(h('div', { class: 'msg warn', role: 'alert', text: `There is no OOM kill #${params.seq} (${all.kept_note || 'it may have passed the retention'}).` }));
      return;
    }
    drawHead(box, e);
    if (plot) { plot.destroy(); plot = null; }
    plot = await drawHistory(box, e, ctl.signal);
    await drawSnapshot(box, e, ctl.signal);
    if (params.focus === 'snapshot') document.getElementById('oomsnap').scrollIntoView();
  };
  return { refresh, destroy() { if (ctl) ctl.abort(); if (plot) plot.destroy(); } };
}

function drawHead(box, e) {
  const v = e.victim;
  box.append(h('h1', null, v ? `${v.name} ` : 'Unknown victim ', v ? h('span', { class: 'muted', text: `pid ${v.pid}` }) : null),
    h('p', { class: 'muted' }, `killed ${new Date(e.time_ms).toLocaleString('en-GB')} in `,
      e.cgroup === 'global' ? 'the whole machine' : h('a', { href: `#/cgroup/${encodeURIComponent(e.cgroup)}`, text: e.cgroup }),
      e.constraint ? ` (${e.constraint})` : ''));
  if (!v) {
    box.append(h('p', { class: 'msg warn', text: e.victim_unknown_reason }));
    return;
  }
  const rows = [['total_vm', 'total vm'], ['anon_rss', 'anon rss'], ['file_rss', 'file rss'], ['shmem_rss', 'shmem rss']]
    .filter(([k]) => v[k] !== undefined)
    .map(([k, label]) => h('tr', { dataset: { key: k, bytes: v[k] } }, h('td', { text: label }), h('td', { class: 'num', text: bytes(v[k]) })));
  box.append(h('section', { class: 'card', id: 'oomkernel' }, h('h2', { text: 'At the kill (the kernel\'s figures)' }),
    rows.length ? h('table', { class: 'data' }, h('tbody', null, rows)) : h('p', { class: 'muted', text: 'The kernel log line had no figures.' })));
}

async function drawHistory(box, e, signal) {
  const sec = h('section', { class: 'card', id: 'oomhistory' }, h('h2', { text: 'Last sample before the kill' }));
  box.append(sec);
  const hist = e.history;
  if (!hist) {
    sec.append(h('p', { class: 'msg info', id: 'oomnohist', text: e.history_unknown_reason }));
    return null;
  }
  const s = hist.last_sample;
  sec.append(h('p', { class: 'hint', text: `${(s.before_kill_ms / 1000).toFixed(1)} s before the kill (${s.tier} tier); found by ${hist.match === 'pid_start_time' ? 'pid and start time' : 'pid, name and time'}.` }),
    h('table', { class: 'data', id: 'oomlast' }, h('tbody', null, FIGURES.map((k) =>
      h('tr', { dataset: { key: k, bytes: s[k] === null ? '' : s[k] } }, h('td', { text: k.replace('_', ' ') }),
        h('td', { class: 'num', text: s[k] === null ? '—' : bytes(s[k]) }))))));
  // the series up to the kill; until is exclusive, and the history route's step fits the span
  const since = hist.first_seen;
  const until = Math.max(e.time_ms, s.t) + 1;
  const series = await api(`/processes/${e.victim.pid}/history${qs({ start_time: hist.start_time, since, until })}`, { signal });
  const chart = h('div', { class: 'chart', id: 'oomchart', dataset: { count: series.count } });
  sec.append(h('h3', { text: 'Its memory up to the kill' }), chart);
  const marks = [{ t: e.time_ms, label: 'killed' }];
  if (e.snapshot) marks.push({ t: e.snapshot.t, label: `#${e.snapshot.id}` });
  return drawTimeChart(chart, series.points, SERIES, marks);
}

async function drawSnapshot(box, e, signal) {
  const sec = h('section', { class: 'card', id: 'oomsnap' }, h('h2', { text: 'Last snapshot before the kill' }));
  box.append(sec);
  if (!e.snapshot) {
    sec.append(h('p', { class: 'msg info', id: 'oomnosnap', text: e.snapshot_unknown_reason }));
    return;
  }
  const snap = await api(`/snapshots/${e.snapshot.id}`, { signal });
  const top = [...snap.regions].sort((a, b) => (b.fields.rss || 0) - (a.fields.rss || 0)).slice(0, TOP_REGIONS);
  sec.append(h('p', { class: 'hint', dataset: { id: e.snapshot.id } },
    `#${e.snapshot.id}, ${e.snapshot.reason}, ${(e.snapshot.before_kill_ms / 1000).toFixed(1)} s before the kill: RSS ${bytes(e.snapshot.rss)} in ${snap.regions.length} regions; the largest:`),
  h('table', { class: 'data', id: 'oomsnapregions' },
    h('thead', null, h('tr', null, ['start', 'perms', 'path', 'rss'].map((x, i) => h('th', { scope: 'col', class: i === 3 ? 'num' : null, text: x })))),
    h('tbody', null, top.map((g) => h('tr', { dataset: { start: g.start } },
      h('td', { class: 'mono', text: g.start }), h('td', { class: 'mono', text: g.perms }), h('td', { text: g.path || '[anon]' }),
      h('td', { class: 'num', dataset: { bytes: g.fields.rss }, text: bytes(g.fields.rss) }))))));
}

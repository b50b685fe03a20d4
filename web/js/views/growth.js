// growth.js - the processes whose RSS grew steadily over a window (the server's fit: slope, r²,
// first and last figures, and the regions and kinds that grew since a snapshot), each linking to its
// process page; below, the system's meminfo history.  Says why when history is off.
import { api, qs } from '../api.js';
import { h, clear } from '../dom.js';
import { bytes, signedBytes, int } from '../fmt.js';
import { drawTimeChart, rangePicker, rangeQuery, historyOffText } from '../timechart.js';

const WINDOWS = ['30s', '1m', '5m', '30m', '1h', '6h', '24h'];
const MEMINFO = [
  { key: 'mem_available', label: 'MemAvailable', stroke: '#047857' }, { key: 'mem_free', label: 'MemFree', stroke: '#65a30d' },
  { key: 'anon_pages', label: 'AnonPages', stroke: '#b45309' }, { key: 'cached', label: 'Cached', stroke: '#1d4ed8' },
  { key: 'slab', label: 'Slab', stroke: '#7c3aed' }, { key: 'shmem', label: 'Shmem', stroke: '#be123c' },
];

export function mount(root, params, app) {
  document.title = 'Growth · memscope';
  const st = { window: '30m', range: '1h' };
  const win = h('select', { id: 'gwindow' }, WINDOWS.map((w) => h('option', { value: w, text: w, selected: w === st.window })));
  const note = h('div', { id: 'gnote' });
  const table = h('table', { class: 'data growth', id: 'growthtable' });
  const sysBox = h('div', { class: 'chart', id: 'syschart' });
  const sysNote = h('div');
  root.append(h('h1', { text: 'Growth' }),
    h('p', { class: 'hint', text: 'Processes whose resident memory grew steadily over the window: a least-squares fit with r² ≥ 0.9, a rise of at least 1 MiB, and every quarter of the window above the one before. A sawtooth or a single jump is not listed.' }),
    h('div', { class: 'toolbar' }, h('label', { for: 'gwindow', text: 'Window' }), win), note,
    h('div', { class: 'scroll-x tablewrap' }, table),
    h('section', { class: 'card', id: 'system' }, h('h2', { text: 'System memory (meminfo)' }),
      h('div', { class: 'toolbar' }, rangePicker('srange', st.range, (r) => { st.range = r; drawSystem().catch(showSys); })), sysNote, sysBox));
  let plot = null;
  const showSys = (e) => clear(sysNote).append(h('div', { class: 'msg error', role: 'alert', text: app.errorText(e) }));
  win.addEventListener('change', () => { st.window = win.value; drawGrowth().catch((e) => app.message(root, 'error', app.errorText(e))); });

  async function drawGrowth() {
    let g;
    try {
      g = await api(`/growth${qs({ window: st.window })}`);
    } catch (e) {
      const why = historyOffText(e);
      if (!why) throw e;
      clear(table);
      clear(note).append(h('div', { class: 'msg warn', text: why }));
      return;
    }
    clear(note).append(h('p', { class: 'muted', text: `${int(g.count)} growing of ${int(g.examined)} processes examined over ${st.window}` }));
    clear(table);
    if (!g.processes.length) { note.append(h('p', { class: 'msg info', text: 'No process grew steadily over this window.' })); return; }
    table.append(h('thead', null, h('tr', null, ['Process', 'Slope', 'r²', 'First', 'Last', 'Grew', 'Where it grew']
      .map((l, i) => h('th', { scope: 'col', class: i >= 1 && i <= 5 ? 'num' : null, text: l })))));
    const body = h('tbody');
    for (const p of g.processes) {
      const kinds = Object.entries(p.kinds || {}).sort((a, b) => b[1] - a[1]);
      body.append(h('tr', { dataset: { pid: p.pid, slope: p.slope } },
        h('td', null, h('a', { href: `#/process/${p.pid}`, text: `${p.name} (${p.pid})` })),
        h('td', { class: 'num', text: `${bytes(p.slope)}/s` }),
        h('td', { class: 'num', text: p.r2.toFixed(3) }),
        h('td', { class: 'num', text: bytes(p.first), title: new Date(p.first_t).toLocaleString('en-GB') }),
        h('td', { class: 'num', text: bytes(p.last), title: new Date(p.last_t).toLocaleString('en-GB') }),
        h('td', { class: 'num', text: signedBytes(p.last - p.first) }),
        h('td', null,
          kinds.map(([k, v]) => h('span', { class: `chip k-${k}`, text: `${k} ${signedBytes(v)}` })), ' ',
          (p.regions || []).slice(0, 3).map((r) => h('div', { class: 'small' },
            h('a', { class: 'mono', href: `#/process/${p.pid}/region/${r.start}`, text: r.start }),
            ` ${r.path || `[${r.kind}]`} ${r.change} ${signedBytes(r.rss_delta)}`)),
          p.regions ? null : h('span', { class: 'muted', text: 'no snapshot to compare with yet' }))));
    }
    table.append(body);
  }

  async function drawSystem() {
    let sh;
    try {
      sh = await api(`/system/history${qs(rangeQuery(st.range))}`);
    } catch (e) {
      const why = historyOffText(e);
      if (!why) throw e;
      clear(sysBox);
      clear(sysNote).append(h('div', { class: 'msg warn', text: why }));
      return;
    }
    clear(sysNote);
    if (plot) plot.destroy();
    const last = sh.points[sh.points.length - 1];
    sysBox.dataset.count = sh.count;
    sysBox.dataset.last = last ? JSON.stringify(last) : '';
    plot = drawTimeChart(sysBox, sh.points, MEMINFO);
  }

  return {
    async refresh() { await Promise.all([drawGrowth(), drawSystem()]); },
    destroy() { if (plot) plot.destroy(); },
  };
}

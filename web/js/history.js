// history.js - the process page's history panel: rss, pss, uss and swap over a chosen range (uPlot),
// the process's snapshots marked on the chart and listed, a button to take one, and the diff of two
// chosen snapshots (or one and now).  When history is off or its store unavailable, it says why.
import { api, qs } from './api.js';
import { h, clear } from './dom.js';
import { bytes } from './fmt.js';
import { drawTimeChart, rangePicker, rangeQuery, historyOffText } from './timechart.js';
import { drawDiff } from './diffview.js';
import { mountWss } from './wss.js';

const SERIES = [
  { key: 'rss', label: 'RSS', stroke: '#b45309' }, { key: 'pss', label: 'PSS', stroke: '#1d4ed8' },
  { key: 'uss', label: 'USS', stroke: '#047857' }, { key: 'swap', label: 'swap', stroke: '#be123c' },
];

export function mountHistory(box, pid, app) {
  const st = { range: '1h', chosen: [] };
  const chartBox = h('div', { class: 'chart', id: 'hchart' });
  const note = h('div', { id: 'hnote' });
  const snapBtn = h('button', { type: 'button', id: 'takesnap', text: 'Take snapshot' });
  const diffBtn = h('button', { type: 'button', id: 'opendiff', text: 'Compare', disabled: true });
  const snapList = h('ul', { class: 'snaps', id: 'snaplist' });
  const diffBox = h('div', { id: 'diffbox', 'aria-live': 'polite' });
  const body = h('div', null, chartBox,
    h('h3', { text: 'Snapshots' }),
    h('p', { class: 'hint', text: 'Choose two snapshots to see what changed between them, or one to compare it with now.' }),
    h('div', { class: 'toolbar' }, snapBtn, diffBtn), snapList, diffBox);
  box.append(h('h2', { text: 'History' }),
    h('div', { class: 'toolbar' }, rangePicker('hrange', st.range, (r) => { st.range = r; refresh().catch(show); })),
    note, body);
  let plot = null;
  let off = false;
  const show = (e) => clear(note).append(h('div', { class: 'msg error', role: 'alert', text: app.errorText(e) }));

  async function refresh() {
    if (off) return;
    let hist = null, snaps;
    try {
      [hist, snaps] = await Promise.all([
        api(`/processes/${pid}/history${qs(rangeQuery(st.range))}`).catch((e) => {
          if (e.status !== 404) throw e;   // never seen by the sampler: there is no curve, snapshots still work
          return null;
        }),
        api(`/snapshots${qs({ pid })}`),
      ]);
    } catch (e) {
      const why = historyOffText(e);
      if (!why) throw e;
      off = true;
      body.hidden = true;
      clear(note).append(h('div', { class: 'msg warn', text: why }));
      return;
    }
    clear(note);
    if (!hist) {
      const h0 = app.health && app.health.history;
      note.append(h('div', { class: 'msg info', text: h0 && h0.sample_interval_ms === 0
        ? 'History is off: this memscoped was started with --sample-interval 0, so nothing records this process over time. Snapshots still work.'
        : 'The sampler has not seen this process yet (it records every --sample-interval); its curve appears after the next round.' }));
      if (plot) { plot.destroy(); plot = null; }
      clear(chartBox);
      drawSnaps(snaps.snapshots);
      return;
    }
    const list = snaps.snapshots.filter((s) => s.start_time === hist.start_time);
    st.chosen = st.chosen.filter((id) => list.some((s) => s.id === id));
    if (plot) plot.destroy();
    chartBox.dataset.count = hist.count;
    chartBox.dataset.stepMs = hist.step_ms;
    plot = drawTimeChart(chartBox, hist.points, SERIES, list.map((s) => ({ t: s.t, label: `#${s.id}` })));
    // what the chart holds at its right edge, for a reader (and the tests) to check against the API
    const n = plot.data[0].length;
    chartBox.dataset.last = n ? JSON.stringify(Object.fromEntries([['t', Math.round(plot.data[0][n - 1] * 1000)],
      ...SERIES.map((s, i) => [s.key, plot.data[i + 1][n - 1]])])) : '';
    drawSnaps(list);
  }

  function drawSnaps(list) {
    clear(snapList);
    if (!list.length) snapList.append(h('li', { class: 'muted', text: 'No snapshots of this process yet.' }));
    for (const s of list) {
      const cb = h('input', { type: 'checkbox', value: s.id, id: `snap-${s.id}`, checked: st.chosen.includes(s.id) });
      cb.addEventListener('change', () => {
        st.chosen = st.chosen.filter((id) => id !== s.id);
        if (cb.checked) st.chosen.push(s.id);
        while (st.chosen.length > 2) {
          const drop = st.chosen.shift();
          const other = snapList.querySelector(`#snap-${drop}`);
          if (other) other.checked = false;
        }
        updateBtn();
      });
      snapList.append(h('li', { dataset: { id: s.id } }, cb, ' ',
        h('label', { for: `snap-${s.id}`, text: `#${s.id} · ${new Date(s.t).toLocaleString('en-GB')} · ${s.reason} · RSS ${bytes(s.rss)} · ${s.region_count} regions` })));
    }
    updateBtn();
  }
  function updateBtn() {
    diffBtn.disabled = st.chosen.length === 0;
    diffBtn.textContent = st.chosen.length === 2 ? 'Compare the two' : 'Compare with now';
  }

  snapBtn.addEventListener('click', async () => {
    snapBtn.disabled = true;
    try {
      const s = await api(`/processes/${pid}/snapshots`, { method: 'POST', body: {} });
      st.chosen = [...st.chosen.slice(-1), s.id];
      await refresh();
    } catch (e) {
      show(e);
    } finally {
      snapBtn.disabled = false;
    }
  });
  diffBtn.addEventListener('click', async () => {
    const [a, b] = st.chosen.slice().sort((x, y) => x - y);
    clear(diffBox).append(h('p', { class: 'muted', text: 'Comparing…' }));
    try {
      drawDiff(diffBox, await api(`/processes/${pid}/diff${qs({ from: a, to: b })}`), pid);
    } catch (e) {
      clear(diffBox).append(h('div', { class: 'msg error', role: 'alert', text: app.errorText(e) }));
    }
  });
  return { refresh, destroy() { if (plot) plot.destroy(); } };
}

// The process page's own panels (history with snapshots and diff, then the working set), so the page
// mounts them with one call; onWss(answer) hears of each working set measured.
export function mountProcessPanels(box, pid, app, onWss) {
  const histBox = h('section', { class: 'card', id: 'history' });
  const wssBox = h('section', { class: 'card', id: 'wss' });
  box.append(histBox, wssBox);
  const hist = mountHistory(histBox, pid, app);
  mountWss(wssBox, pid, app, onWss);
  return hist;
}

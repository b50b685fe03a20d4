// timechart.js - a uPlot chart of byte figures over time (Unix ms), with optional vertical marks (the
// snapshots), shared by the process history and the system's meminfo history.  Also the range
// picker both use: the step is chosen so a range stays within the server's 2,000 points.
import uPlot from '../vendor/uplot/uPlot.esm.js';
import { h, clear } from './dom.js';
import { bytes } from './fmt.js';

export const RANGES = [['15m', 900], ['1h', 3600], ['6h', 21600], ['24h', 86400], ['7d', 604800]];
const MAX_POINTS = 2000;

// The query for a range: since that long ago, at a step giving at most MAX_POINTS points.
export function rangeQuery(range) {
  const secs = (RANGES.find((r) => r[0] === range) || RANGES[1])[1];
  return { since: range, step: `${Math.max(1, Math.ceil(secs / MAX_POINTS))}s` };
}

export function rangePicker(id, value, onChange) {
  const sel = h('select', { id }, RANGES.map(([r]) => h('option', { value: r, text: `last ${r}`, selected: r === value })));
  sel.addEventListener('change', () => onChange(sel.value));
  return h('span', { class: 'fld' }, h('label', { for: id, text: 'Range ' }), sel);
}

// series: [{key, label, stroke}]; marks: [{t, label}] drawn as dashed vertical lines.
export function drawTimeChart(box, points, series, marks = []) {
  clear(box);
  const xs = points.map((p) => p.t / 1000);
  const data = [xs, ...series.map((s) => points.map((p) => (p[s.key] === undefined ? null : p[s.key])))];
  const opts = {
    width: Math.max(280, box.clientWidth || 700), height: 260,
    scales: { y: { range: (u, lo, hi) => [0, Math.max((hi || 0) * 1.08, 4096)] } },
    axes: [{}, { values: (u, ticks) => ticks.map((t) => bytes(t)), size: 80 }],
    series: [{ label: 'time' }, ...series.map((s) => ({
      label: s.label, stroke: s.stroke, width: 2, spanGaps: false, value: (u, v) => (v === null ? '—' : bytes(v)),
    }))],
    hooks: {
      draw: [(u) => {
        const c = u.ctx;
        c.save();
        c.strokeStyle = '#7c3aed';
        c.fillStyle = '#7c3aed';
        c.setLineDash([4, 3]);
        c.font = `${Math.round(11 * devicePixelRatio)}px sans-serif`;
        for (const m of marks) {
          const x = Math.round(u.valToPos(m.t / 1000, 'x', true));
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          c.beginPath();
          c.moveTo(x, u.bbox.top);
          c.lineTo(x, u.bbox.top + u.bbox.height);
          c.stroke();
          c.fillText(m.label, x + 3, u.bbox.top + 12 * devicePixelRatio);
        }
        c.restore();
      }],
    },
  };
  return new uPlot(opts, data, box);
}

// Why history cannot be shown, in words, or null when it is an ordinary error.
export function historyOffText(e) {
  if (e && e.status === 503) return `History is unavailable on this memscoped: ${e.message}. Everything else still works; /api/v1/health's history.status says the same.`;
  return null;
}

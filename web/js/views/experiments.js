// experiments.js - pick a preset (its lesson shown) or build steps, run it in a fresh lab process, and
// watch VmSize against VmRSS step by step (uPlot), the fault counts, and each step's page summary.
import { api } from '../api.js';
import { h, clear } from '../dom.js';
import { bytes, signedBytes, int, pct } from '../fmt.js';
import * as X from '../experiments-adapter.js';
import uPlot from '../../vendor/uplot/uPlot.esm.js';
import { STATE_COLORS } from '../pagestates.js';

export function mount(root, params, app) {
  return params.id ? mountRun(root, params.id, app) : mountPick(root, app);
}

function mountPick(root, app) {
  document.title = 'Experiments · memscope';
  const list = h('div', { class: 'presets', role: 'radiogroup', 'aria-label': 'Presets' });
  const lesson = h('div', { class: 'lesson', id: 'lesson', 'aria-live': 'polite' });
  const runBtn = h('button', { type: 'button', id: 'runpreset', class: 'primary', text: 'Run preset', disabled: true });
  const status = h('div', { 'aria-live': 'polite' });
  let chosen = null;
  root.append(
    h('h1', { text: 'Experiments' }),
    h('p', { class: 'hint', text: 'Each experiment runs in a fresh lab process. After every step memscope measures what changed in virtual memory (VmSize) and in physical memory (VmRSS), and which pages of the block are really there.' }),
    h('section', { class: 'card' }, h('h2', { text: 'A preset' }), list, lesson, runBtn, status),
    builder(app, status));

  async function start(body) {
    clear(status).append(h('p', { class: 'muted', text: 'Starting…' }));
    try {
      const s = X.started(await api(X.PATHS.start, { method: 'POST', body }));
      location.hash = `#/experiments/${s.id}`;
    } catch (e) {
      clear(status).append(h('div', { class: 'msg error', role: 'alert', text: app.errorText(e) }));
    }
  }
  runBtn.addEventListener('click', () => chosen && start(X.startBody({ preset: chosen.name })));

  return {
    async refresh() {
      if (app.health && app.health.experiments === false) {
        clear(list).append(h('div', { class: 'msg warn', text: 'Experiments are off on this memscoped (it listens beyond loopback, or was started with --experiments off).' }));
        return;
      }
      if (list.firstChild) return;
      const ps = X.presets(await api(X.PATHS.presets));
      for (const p of ps) {
        const radio = h('input', { type: 'radio', name: 'preset', value: p.name, id: `preset-${p.name}` });
        radio.addEventListener('change', () => {
          chosen = p;
          runBtn.disabled = false;
          runBtn.textContent = `Run ${p.name}`;
          clear(lesson).append(h('h3', { text: p.title }), h('p', { text: p.lesson }),
            h('ol', { class: 'steps' }, p.steps.map((s) => h('li', { class: 'mono', text: stepText(s) }))));
        });
        list.append(h('label', { class: 'preset', for: `preset-${p.name}` }, radio, h('strong', { text: p.name }), h('span', { class: 'muted', text: ` ${p.title !== p.name ? p.title : ''}` })));
      }
      const first = list.querySelector('input[value="seed-1gib"]') || list.querySelector('input');
      if (first) { first.checked = true; first.dispatchEvent(new Event('change')); }
    },
    destroy() {},
  };

  function builder() {
    const rows = h('ol', { class: 'builder' });
    const hold = h('input', { type: 'number', id: 'hold', min: '0', max: '600', value: '30' });
    const preview = h('pre', { class: 'mono small', id: 'specpreview' });
    const addRow = (op = 'malloc', values = {}) => {
      const sel = h('select', { 'aria-label': 'operation' }, Object.keys(X.OPS).map((o) => h('option', { value: o, text: o, selected: o === op })));
      const fields = h('span', { class: 'fields' });
      const li = h('li', null, sel, fields, h('button', { type: 'button', class: 'small', text: 'Remove', 'aria-label': 'remove step', onclick: () => { li.remove(); update(); } }));
      const drawFields = () => {
        clear(fields);
        for (const k of X.OPS[sel.value]) {
          const input = h('input', { type: 'text', placeholder: X.FIELD_HELP[k] ? X.FIELD_HELP[k].split(',')[0] : k, title: X.FIELD_HELP[k] || k, dataset: { k }, value: values[k] ?? '' });
          input.addEventListener('input', update);
          fields.append(h('label', { class: 'fld' }, h('span', { class: 'muted small', text: k }), input));
        }
        update();
      };
      sel.addEventListener('change', drawFields);
      rows.append(li);
      drawFields();
    };
    const spec = () => X.startBody({
      steps: [...rows.children].map((li) => {
        const vals = {};
        for (const i of li.querySelectorAll('input[data-k]')) vals[i.dataset.k] = i.value;
        return X.buildStep(li.querySelector('select').value, vals);
      }),
      hold_s: Number(hold.value) || 0,
    });
    const update = () => { preview.textContent = JSON.stringify(spec(), null, 1); };
    addRow('malloc', { size: '256MiB', as: 'buf' });
    addRow('touch', { ptr: 'buf', mode: 'read', fraction: '0.5' });
    addRow('touch', { ptr: 'buf', mode: 'write', fraction: '0.25' });
    hold.addEventListener('input', update);
    const form = h('form', { class: 'card', id: 'builder' },
      h('h2', { text: 'Or build your own' }), rows,
      h('div', { class: 'toolbar' },
        h('button', { type: 'button', text: 'Add a step', onclick: () => addRow('touch', { ptr: 'buf', mode: 'write', fraction: '1' }) }),
        h('label', { for: 'hold', text: 'keep the lab alive for (s)' }), hold,
        h('button', { type: 'submit', class: 'primary', text: 'Run these steps' })),
      h('details', null, h('summary', { text: 'The request' }), preview));
    form.addEventListener('submit', (ev) => { ev.preventDefault(); start(spec()); });
    update();
    return form;
  }
}

function stepText(s) {
  const { op, ...rest } = s;
  return `${op}(${Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ')})`;
}

function mountRun(root, id, app) {
  document.title = `Experiment ${id} · memscope`;
  const head = h('div', { class: 'phead' }, h('h1', { text: `Experiment ${id}` }));
  const headline = h('div', { class: 'headline', id: 'headline', 'aria-live': 'polite' });
  const chartBox = h('div', { class: 'chart', id: 'xchart' });
  const table = h('table', { class: 'data steps', id: 'xsteps' });
  const tail = h('div');
  root.append(head, headline,
    h('section', { class: 'card' }, h('h2', { text: 'Virtual (VmSize) against resident (VmRSS), after each step' }), chartBox),
    h('h2', { text: 'Step by step' }), h('div', { class: 'scroll-x' }, table), tail);
  let plot = null;
  let timer = null;
  let last = null;
  let ctl = null;

  async function refresh() {
    if (ctl) ctl.abort();
    ctl = new AbortController();
    const r = X.run(await api(X.PATHS.run(id), { signal: ctl.signal }));
    draw(r);
    clearTimeout(timer);
    if (!r.finished && !r.holding) timer = setTimeout(() => refresh().catch((e) => app.message(root, 'error', app.errorText(e))), 400);
  }

  function draw(r) {
    const sig = JSON.stringify([r.state, r.steps.length, r.alive]);
    if (last === sig) return;
    last = sig;
    clear(head).append(
      h('nav', { class: 'crumbs' }, h('a', { href: '#/experiments', text: 'Experiments' }), ` › ${id}`),
      h('h1', null, r.preset ? `${r.preset} ` : `Experiment ${id} `, h('span', { class: `chip state-${r.state}`, id: 'xstate', text: r.state })),
      h('p', { class: 'muted' }, `lab pid ${r.pid}`, r.alive ? [' · ', h('a', { href: `#/process/${r.pid}`, text: 'look at the lab process' })] : ' (ended)',
        r.stepsTotal !== null ? ` · ${r.steps.length} of ${r.stepsTotal} steps run` : ''));
    drawHeadline(r);
    drawChart(r);
    drawSteps(r);
    clear(tail);
    if (r.signal) tail.append(h('div', { class: 'msg warn', role: 'status' }, `The lab was killed by ${r.signal}${r.faultAddr ? ` touching ${r.faultAddr}` : ''}${r.reason ? `: ${r.reason}` : ''}. `,
      r.access ? `That address lies in the unmapped gap ${r.access.gapStart || '?'}–${r.access.gapEnd || '?'}: no region covers it, so the kernel had no page to give and sent SIGSEGV, exactly as the seed says.` : ''));
    else if (r.state === 'failed') tail.append(h('div', { class: 'msg error', text: `The experiment failed${r.reason ? `: ${r.reason}` : ''}.` }));
    for (const e of r.errors) tail.append(h('div', { class: 'msg error', text: e }));
    if (r.stderr) tail.append(h('details', null, h('summary', { text: 'lab stderr' }), h('pre', { class: 'mono small', text: r.stderr })));
  }

  // One sentence that makes the point: how much each figure moved from the start to the last step.
  function drawHeadline(r) {
    clear(headline);
    if (!r.steps.length || !r.base) {
      headline.append(h('p', { class: 'muted', text: r.finished || r.holding ? 'No step ran.' : 'Running…' }));
      return;
    }
    const lastS = r.steps[r.steps.length - 1];
    const dv = lastS.vmSize - r.base.vmSize, dr = lastS.vmRss - r.base.vmRss;
    headline.append(
      h('div', { class: 'big2' },
        h('div', { class: 'delta virt', dataset: { key: 'dVmSize', bytes: dv } }, h('div', { class: 'label', text: 'virtual (VmSize)' }), h('div', { class: 'value', text: signedBytes(dv) })),
        h('div', { class: 'delta res', dataset: { key: 'dVmRss', bytes: dr } }, h('div', { class: 'label', text: 'resident (VmRSS)' }), h('div', { class: 'value', text: signedBytes(dr) }))),
      h('p', { class: 'lesson-line' }, dv > 0 && dr < dv / 100
        ? `The process reserved ${bytes(dv)} of address space, but only ${bytes(Math.max(0, dr))} (${pct(Math.max(0, dr), dv)}) of it is in RAM: memory that is allocated but never touched costs no physical memory.`
        : `Since the start: VmSize ${signedBytes(dv)}, VmRSS ${signedBytes(dr)}.`));
  }

  function drawChart(r) {
    const xs = [0], vs = [r.base ? r.base.vmSize : null], rs = [r.base ? r.base.vmRss : null];
    const names = ['start'];
    for (const s of r.steps) {
      xs.push(xs.length);
      vs.push(s.vmSize);
      rs.push(s.vmRss);
      names.push(`${s.index + 1} ${s.op}`);
    }
    const width = Math.max(280, chartBox.clientWidth || 600);
    const opts = {
      width, height: 280, cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false, range: [-0.25, Math.max(1, xs.length - 1) + 0.25] }, y: { range: (u, lo, hi) => [0, Math.max(hi * 1.08, 4096)] } },
      axes: [
        { values: (u, ticks) => ticks.map((t) => (Number.isInteger(t) && names[t] ? names[t] : '')), incrs: [1], grid: { show: false } },
        { values: (u, ticks) => ticks.map((t) => bytes(t)), size: 80 },
      ],
      series: [
        { label: 'step', value: (u, v) => (v === null ? '—' : names[v] || v) },
        { label: 'VmSize (virtual)', stroke: '#1d4ed8', width: 2.5, fill: 'rgba(29,78,216,0.08)', points: { size: 9 }, value: (u, v) => (v === null ? '—' : bytes(v)) },
        { label: 'VmRSS (resident)', stroke: '#b45309', width: 2.5, fill: 'rgba(180,83,9,0.18)', points: { size: 9 }, value: (u, v) => (v === null ? '—' : bytes(v)) },
      ],
    };
    if (plot) plot.destroy();
    clear(chartBox);
    plot = new uPlot(opts, [xs, vs, rs], chartBox);
  }

  function drawSteps(r) {
    clear(table);
    table.append(h('thead', null, h('tr', null, ['#', 'Step', 'Where', 'VmSize', 'Δ VmSize', 'VmRSS', 'Δ VmRSS', 'Minor faults', 'Major faults', 'Pages of the block'].map((t) => h('th', { scope: 'col', text: t })))));
    const body = h('tbody');
    if (r.base) body.append(h('tr', { class: 'base' }, h('td', { text: '0' }), h('td', { text: 'start (before any step)' }), h('td'),
      h('td', { class: 'num', text: bytes(r.base.vmSize) }), h('td'), h('td', { class: 'num', text: bytes(r.base.vmRss) }), h('td'), h('td'), h('td'), h('td')));
    for (const s of r.steps) {
      body.append(h('tr', { dataset: { step: s.index }, class: s.ok ? null : 'failed' },
        h('td', { text: String(s.index + 1) }),
        h('td', null, h('span', { class: 'mono', text: stepText({ op: s.op, ...(s.args.op ? (({ op, ...a }) => a)(s.args) : s.args) }) }),
          s.error ? h('div', { class: 'err', text: s.error }) : null),
        h('td', null, s.addr ? h('span', { class: 'mono', text: s.addr }) : null,
          s.placement ? h('div', { class: 'muted', text: s.placement === 'heap' ? 'in [heap]' : s.placement === 'mapping' ? 'a mapping of its own' : s.placement }) : null,
          s.brkDelta ? h('div', { class: 'muted', text: `brk moved ${signedBytes(s.brkDelta)}` }) : null),
        h('td', { class: 'num', dataset: { key: 'vmSize', bytes: s.vmSize }, text: bytes(s.vmSize) }),
        h('td', { class: 'num', text: signedBytes(s.dVmSize) }),
        h('td', { class: 'num', dataset: { key: 'vmRss', bytes: s.vmRss }, text: bytes(s.vmRss) }),
        h('td', { class: 'num', text: signedBytes(s.dVmRss) }),
        h('td', { class: 'num', dataset: { key: 'minflt' }, text: int(s.minflt) }),
        h('td', { class: 'num', dataset: { key: 'majflt' }, text: int(s.majflt) }),
        h('td', { class: 'pagescell' }, pagesBar(s, r))));
    }
    table.append(body);
  }

  function pagesBar(s, r) {
    const p = s.pages;
    if (!p || !p.pages) return s.region === null ? h('span', { class: 'muted', text: 'unmapped' }) : '';
    const zero = p.zero_page || 0, sw = p.swapped || 0, huge = p.huge || 0;
    const priv = Math.max(0, p.present - zero - huge);
    const absent = Math.max(0, p.pages - p.present - sw);
    const bar = h('div', { class: 'pbar', role: 'img', 'aria-label': `${int(p.present)} of ${int(p.pages)} pages present` });
    const part = (n, k) => {
      if (!n) return;
      const seg = h('span', { class: 'pseg', title: `${k}: ${int(n)} pages` });
      seg.style.width = `${Math.max(0.6, (100 * n) / p.pages)}%`;
      seg.style.background = STATE_COLORS[k];
      bar.append(seg);
    };
    part(priv, 'anon'); part(huge, 'huge'); part(zero, 'zero'); part(sw, 'swapped'); part(absent, 'absent');
    const link = r.alive && s.region ? h('a', { href: `#/process/${r.pid}/region/${s.region.start}`, text: 'page map' }) : null;
    return [bar, h('div', { class: 'muted small', dataset: { key: 'present', value: p.present } },
      `${int(p.present)} of ${int(p.pages)} present${p.zero_page ? ` (${int(p.zero_page)} zero page)` : ''} `, link)];
  }

  const onResize = () => { if (plot) plot.setSize({ width: Math.max(280, chartBox.clientWidth), height: 280 }); };
  window.addEventListener('resize', onResize);
  return {
    refresh,
    destroy() {
      clearTimeout(timer);
      if (ctl) ctl.abort();
      window.removeEventListener('resize', onResize);
      if (plot) plot.destroy();
    },
  };
}

// wss.js - the working-set panel of the process page: asks /wss to mark the process's pages unused
// (its accessed bits cleared, or its frames marked idle where the kernel has page_idle), wait N ms
// and count what was referenced again, then lists the regions by referenced bytes with a bar of
// their referenced share of RSS, and hands the answer to the page (onResult), which colours each
// region of its figure and table by that share.  Where clear_refs would be used without
// --allow-clear-refs the server answers 403: say so.
import { api, qs } from './api.js';
import { h, clear } from './dom.js';
import { bytes, pct, int } from './fmt.js';
import { KIND_LABEL } from './kinds.js';

export function mountWss(box, pid, app, onResult) {
  const ms = h('select', { id: 'wssms' }, [200, 1000, 5000, 15000].map((v) => h('option', { value: v, text: `${v / 1000} s`, selected: v === 1000 })));
  const btn = h('button', { type: 'button', id: 'wssbtn', text: 'Measure working set' });
  const out = h('div', { id: 'wssout', 'aria-live': 'polite' });
  box.append(h('h2', { text: 'Working set' }),
    h('p', { class: 'hint', text: app.health && app.health.can_see && app.health.can_see.page_idle
      ? 'Marks the process\'s frames idle in the kernel\'s idle-page bitmap, waits, then counts the resident pages it used again. Its reclaim state is left alone.'
      : 'Clears the process\'s accessed bits, waits, then counts the resident pages it used again. While it runs, the process\'s pages look idle to the kernel\'s reclaim.' }),
    h('div', { class: 'toolbar' }, h('label', { for: 'wssms', text: 'Interval' }), ms, btn), out);
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    clear(out).append(h('p', { class: 'muted', text: `Measuring for ${int(ms.value)} ms…` }));
    try {
      const w = await api(`/processes/${pid}/wss${qs({ interval_ms: ms.value })}`);
      draw(out, w, pid);
      if (onResult) onResult(w);
    } catch (e) {
      const why = e.code === 'clear_refs_not_allowed'
        ? `The working set cannot be measured here: ${e.message}. memscoped must be started with --allow-clear-refs (it writes /proc/PID/clear_refs, which disturbs the process's reclaim).`
        : app.errorText(e);
      clear(out).append(h('div', { class: 'msg warn', role: 'alert', text: why }));
    } finally {
      btn.disabled = false;
    }
  });
}

function draw(out, w, pid) {
  clear(out);
  const regs = (w.regions || []).filter((r) => r.rss > 0).sort((a, b) => b.referenced - a.referenced || b.rss - a.rss);
  out.append(h('p', { class: 'muted', dataset: { referenced: w.totals.referenced, rss: w.totals.rss } },
    `${bytes(w.totals.referenced)} of ${bytes(w.totals.rss)} resident referenced in ${w.measured_interval_ms.toFixed(0)} ms (${pct(w.totals.referenced, w.totals.rss)}) · ${w.method} · cost ${w.cost.kernel_ms} ms kernel time`));
  if (w.caveat) out.append(h('p', { class: 'msg warn', text: w.caveat }));
  const body = h('tbody');
  for (const r of regs) {
    body.append(h('tr', { dataset: { start: r.start, referenced: r.referenced } },
      h('td', { class: 'mono' }, h('a', { href: `#/process/${pid}/region/${r.start}`, text: r.start })),
      h('td', null, h('span', { class: `chip k-${r.kind}`, text: r.kind, title: KIND_LABEL[r.kind] || r.kind })),
      h('td', { class: 'path', text: r.path || '' }),
      h('td', { class: 'num', text: bytes(r.referenced) }),
      h('td', { class: 'num', text: bytes(r.rss) }),
      h('td', { class: 'barcell', title: pct(r.referenced, r.rss) },
        h('span', { class: 'share' }, h('span', { class: 'dbar pos', css: { width: `${r.rss ? (100 * r.referenced) / r.rss : 0}%` } }))),
      h('td', { class: 'num', text: pct(r.referenced, r.rss) })));
  }
  out.append(h('div', { class: 'scroll-x tablewrap' }, h('table', { class: 'data wss', id: 'wsstable' },
    h('thead', null, h('tr', null, ['Start', 'Kind', 'Path', 'Referenced', 'Resident', 'Referenced share', '']
      .map((l, i) => h('th', { scope: 'col', class: i >= 3 && i !== 5 ? 'num' : null, text: l })))), body)));
}

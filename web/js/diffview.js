// diffview.js - what changed between two snapshots of a process (or one and now): one row per matched
// region, largest RSS change first as the server sorts them, with the region's kind in the
// address-space picture's colours and a bar for the size of the change.  Only the rows in view are
// drawn, each placed at its index (vtable.js): a diff of 10,000 regions is 10,000 rows, and a
// scroll lays out only the rows it brings.
import { h, clear } from './dom.js';
import { virtualTable } from './vtable.js';
import { bytes, signedBytes, int } from './fmt.js';
import { KIND_LABEL } from './kinds.js';

export function drawDiff(el, d, pid) {
  if (el._diffTable) { el._diffTable.destroy(); el._diffTable = null; }
  clear(el);
  const t = d.totals && d.totals.delta ? d.totals.delta : {};
  const changed = (d.regions || []).filter((r) => r.change !== 'same');
  const maxAbs = Math.max(1, ...changed.map((r) => Math.abs((r.delta && r.delta.rss) || 0)));
  el.append(
    h('h3', { text: `Snapshot ${d.from} → ${d.to === null || d.to === undefined ? 'now' : `snapshot ${d.to}`}` }),
    h('p', { class: 'muted', dataset: { rssDelta: t.rss ?? '' } },
      `RSS ${signedBytes(t.rss)} · PSS ${signedBytes(t.pss)} · size ${signedBytes(t.size)} · swap ${signedBytes(t.swap)} · ${int(changed.length)} of ${int(d.count)} regions changed`));
  if (!changed.length) {
    el.append(h('p', { class: 'msg info', text: 'No region changed between these two.' }));
    return;
  }
  const row = (r) => {
    const dr = (r.delta && r.delta.rss) || 0;
    const bar = h('span', { class: ['dbar', dr < 0 ? 'neg' : 'pos'], css: { width: `${(100 * Math.abs(dr)) / maxAbs}%` } });
    return h('tr', { dataset: { start: r.start, kind: r.kind, change: r.change, rssDelta: dr } },
      h('td', { class: 'mono' }, h('a', { href: `#/process/${pid}/region/${r.start}`, text: r.start })),
      h('td', null, h('span', { class: `chip k-${r.kind}`, text: r.kind, title: KIND_LABEL[r.kind] || r.kind })),
      h('td', { class: 'path', text: r.path || '' }),
      h('td', { text: r.change + (r.moved ? ' (moved)' : '') }),
      h('td', { class: 'num', text: signedBytes(dr) }),
      h('td', { class: 'barcell' }, bar),
      h('td', { class: 'num', text: `${bytes(r.before ? r.before.rss : null)} → ${bytes(r.after ? r.after.rss : null)}` }),
      h('td', { class: 'num', text: signedBytes(r.delta ? r.delta.size : null) }));
  };
  const table = h('table', { class: 'data diff', id: 'difftable', dataset: { count: changed.length } });
  table.style.setProperty('--vt-cols', '10.5rem 5.5rem minmax(10rem, 1fr) 7.5rem 7rem 11rem 13rem 7rem');
  const wrap = h('div', { class: 'scroll-x tablewrap', id: 'diffwrap' }, table);
  el.append(wrap);
  el._diffTable = virtualTable(table, wrap, row, { rowHeight: 24 });
  el._diffTable.set(h('tr', null, ['Start', 'Kind', 'Path', 'Change', 'RSS change', '', 'RSS before → after', 'Size change']
    .map((l, i) => h('th', { scope: 'col', class: i >= 4 && l ? 'num' : null, text: l }))), changed);
}

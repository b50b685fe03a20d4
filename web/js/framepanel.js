// framepanel.js - the read-out under a region's page map: for one page, its address as page number +
// offset, its state and, where the server may read them, its frame, physical address, flags and map
// count; for a cell of many pages, how many are in each state.
import { h, clear } from './dom.js';
import { int, hex } from './fmt.js';
import { STATES, swatch } from './pagestates.js';

// S: the region view's state ({v0, v1, runs, frames, framesCap, hover}); map: its pageMap.
export function framePanel(readout, S, map, { pid, ps, pageAddr }) {
  const framesWanted = () => S.v1 - S.v0 <= S.framesCap;

  function show(p0, p1 = p0 + 1, offset = 0) {
    S.hover = p0;
    clear(readout);
    if (p1 - p0 > 1) readout.append(...many(p0, p1));
    else readout.append(...one(p0, offset));
  }

  function many(p0, p1) {
    const tally = new Map();
    if (S.runs) for (let i = map.firstRun(p0); i < S.runs.length && S.runs[i][0] < p1; i++) {
      const [a, b, k] = S.runs[i];
      const n = Math.min(b, p1) - Math.max(a, p0);
      if (n > 0) tally.set(k, (tally.get(k) || 0) + n);
    }
    return [h('div', null, h('strong', { text: `${int(p1 - p0)} pages` }), ` from ${hex(pageAddr(p0))} to ${hex(pageAddr(p1))} · `,
      [...tally].map(([k, n]) => h('span', { class: 'tally' }, k >= 0 ? swatch(k) : null, ` ${k >= 0 ? STATES[k][1] : 'unknown state'} ${int(n)} `))),
    h('div', { class: 'muted', text: 'Zoom in (click or +) to see single pages.' })];
  }

  function one(p0, offset) {
    const addr = pageAddr(p0) + BigInt(offset);
    const pn = addr / BigInt(ps);
    const st = map.stateAt(p0);
    return [
      h('div', { class: 'addrline' },
        h('span', { class: 'mono big' }, h('span', { class: 'pn', text: hex(pn) }), h('span', { class: 'off', text: offset.toString(16).padStart(Math.ceil(Math.log2(ps) / 4), '0') })),
        ' = page number ', h('strong', { class: 'mono', text: hex(pn) }), ` (${int(Number(pn))}) + offset `, h('strong', { class: 'mono', text: hex(offset) }),
        ` · page ${int(p0)} of this region`),
      h('div', null, st !== null && st >= 0 ? [swatch(st), ` ${STATES[st][1]}: ${STATES[st][2]}`] : 'state not loaded'),
      frameLine(S.frames.get(p0)),
      h('div', null, h('a', { href: `#/process/${pid}/translate/${hex(addr)}`, text: 'Translate this address →' }))];
  }

  function frameLine(f) {
    if (!f) return framesWanted() ? h('div', { class: 'muted', text: 'loading frame…' }) : null;
    if (!f.present) return h('div', { class: 'muted', text: f.swapped ? `swapped out (swap type ${f.swap_type}, offset ${f.swap_offset})` : 'no frame' });
    return h('div', { class: 'frame' },
      'frame (PFN) ', h('strong', { class: 'mono', text: f.pfn === null ? 'hidden' : `${hex(f.pfn)} (${int(f.pfn)})` }),
      ' · physical address ', h('strong', { class: 'mono', text: f.phys_addr === null ? 'hidden' : f.phys_addr }),
      f.pfn === null && f.pfn_hidden_reason ? h('span', { class: 'muted', text: ` (${f.pfn_hidden_reason})` }) : null,
      f.mapcount !== null && f.mapcount !== undefined ? ` · mapped ${f.mapcount}×` : null,
      f.exclusive ? ' · exclusive' : null,
      f.flags ? h('div', { class: 'flags' }, 'flags: ', f.flags.map((x) => h('code', { text: x }))) : null);
  }

  function error(text) {
    clear(readout).append(h('div', { class: 'msg error' }, text));
  }

  return { show, error, framesWanted };
}

// translate.js - the seed's diagram for one address: virtual address = page number + offset; the page
// table maps the page number to a frame; physical address = frame * page size + offset.
import { api, apiLarge, qs } from '../api.js';
import { h, clear } from '../dom.js';
import { bytes, int, hex, parseAddr } from '../fmt.js';
import { gone } from '../gone.js';
import { KIND_LABEL } from '../kinds.js';
import { swatch } from '../pagestates.js';

export function mount(root, { pid, addr }, app) {
  document.title = `translate · ${pid} · memscope`;
  const input = h('input', { id: 'addr', type: 'text', inputmode: 'text', spellcheck: 'false', autocomplete: 'off',
    placeholder: '0x7ffd12345678', value: addr || '', 'aria-describedby': 'addr-help' });
  const form = h('form', { class: 'toolbar', id: 'tform' },
    h('label', { for: 'addr', text: 'Virtual address' }), input, h('button', { type: 'submit', text: 'Translate' }),
    h('span', { id: 'addr-help', class: 'muted', text: 'hex, e.g. 0x55d0c0de1234' }));
  const picks = h('div', { class: 'picks' });
  const out = h('div', { id: 'tout' });
  root.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumbs' }, h('a', { href: '#/', text: 'Processes' }), ' › ',
      h('a', { href: `#/process/${pid}`, text: `process ${pid}` }), ' › translate'),
    h('h1', { text: `Address translation in process ${pid}` }),
    h('p', { class: 'hint', text: 'A program only ever sees virtual addresses. The MMU splits each into a page number and an offset inside the page, looks the page number up in the page table to find the physical frame, and keeps the offset.' }),
    form, picks, out);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const a = parseAddr(input.value);
    if (a === null) {
      clear(out).append(h('div', { class: 'msg error', role: 'alert', text: `“${input.value}” is not a hex address. Write it like 0x7ffd12345678.` }));
      return;
    }
    const target = `#/process/${pid}/translate/${hex(a)}`;
    if (location.hash === target) refresh().catch((e) => app.message(root, 'error', app.errorText(e)));
    else location.hash = target;
  });

  let ctl = null;
  async function refresh() {
    if (ctl) ctl.abort();
    ctl = new AbortController();
    try {
      if (!picks.firstChild) await drawPicks(ctl.signal);
      if (!addr) return;
      const t = await api(`/processes/${pid}/translate${qs({ addr })}`, { signal: ctl.signal });
      drawResult(t);
    } catch (e) {
      if (e.processGone) { gone(root, pid, app); return; }
      if (e.status === 400 || e.status === 403) {
        clear(out).append(h('div', { class: 'msg error', role: 'alert', text: app.errorText(e) }));
        return;
      }
      throw e;
    }
  }

  // A few addresses worth trying: one in each main area, taken from this process's own regions
  // (parsed by the worker: 100,000 regions of maps would hold the page for a long task).
  async function drawPicks(signal) {
    const maps = await apiLarge(`/processes/${pid}/maps`, { signal });
    const want = ['text', 'data', 'heap', 'anon', 'stack'];
    const btns = [];
    for (const k of want) {
      const r = maps.regions.find((x) => x.kind === k);
      if (!r) continue;
      const a = BigInt(r.start) + 0x123n < BigInt(r.end) ? BigInt(r.start) + 0x123n : BigInt(r.start);
      btns.push(h('a', { class: 'button small', href: `#/process/${pid}/translate/${hex(a)}`, text: `${KIND_LABEL[k]}: ${hex(a)}` }));
    }
    clear(picks).append(...(btns.length ? [h('span', { class: 'muted', text: 'Try: ' }), ...btns] : []));
  }

  function drawResult(t) {
    const shift = t.page_shift;
    const hexDigits = Math.ceil(shift / 4);
    const a = BigInt(t.addr);
    const p = t.page;
    const vBits = 48;
    const bin = a.toString(2).padStart(vBits, '0').slice(-vBits);
    clear(out);
    out.append(
      h('div', { class: 'xlate', id: 'xlate' },
        h('div', { class: 'row vaddr' },
          h('div', { class: 'label', text: 'virtual address' }),
          h('div', { class: 'mono big', dataset: { key: 'addr' }, text: t.addr })),
        h('div', { class: 'row bits', 'aria-label': 'The address in binary' },
          h('span', { class: 'pnbits mono', text: bin.slice(0, vBits - shift) }),
          h('span', { class: 'offbits mono', text: bin.slice(vBits - shift) })),
        h('div', { class: 'row split' },
          h('div', { class: 'box pn' },
            h('div', { class: 'label', text: `page number (bits ${vBits - 1}…${shift})` }),
            h('div', { class: 'mono big', dataset: { key: 'page_number' }, text: t.page_number_hex }),
            h('div', { class: 'sub', text: `= ${int(t.page_number)} = address ÷ ${t.page_size}` })),
          h('div', { class: 'box off' },
            h('div', { class: 'label', text: `offset (bits ${shift - 1}…0)` }),
            h('div', { class: 'mono big', dataset: { key: 'page_offset' }, text: t.page_offset_hex }),
            h('div', { class: 'sub', text: `= ${int(t.page_offset)} bytes into the ${bytes(t.page_size)} page` }))),
        h('div', { class: 'row arrow', text: '↓ page table (read from /proc/<pid>/pagemap)' }),
        h('div', { class: 'row split' },
          h('div', { class: ['box', 'frame', p.present ? 'ok' : 'none'] },
            h('div', { class: 'label', text: 'frame number (PFN)' }),
            h('div', { class: 'mono big', dataset: { key: 'pfn' }, text: p.pfn !== null && p.pfn !== undefined ? hex(p.pfn) : p.present ? 'hidden' : p.swapped ? 'in swap' : 'none yet' }),
            h('div', { class: 'sub', text: p.pfn !== null && p.pfn !== undefined ? `= ${int(p.pfn)}` : p.pfn_hidden_reason || (p.present ? '' : 'no physical frame') })),
          h('div', { class: 'box off' },
            h('div', { class: 'label', text: 'offset (unchanged)' }),
            h('div', { class: 'mono big', text: t.page_offset_hex }))),
        h('div', { class: 'row arrow', text: `↓ frame × ${t.page_size} + offset` }),
        h('div', { class: 'row paddr' },
          h('div', { class: 'label', text: 'physical address' }),
          h('div', { class: 'mono big', dataset: { key: 'phys_addr' }, text: t.phys_addr || '—' }))),
      h('p', { class: ['msg', t.phys_addr ? 'info' : 'warn'], id: 'explain', text: capital(t.explain) }),
      regionLine(t),
      pageLine(p));
  }

  function regionLine(t) {
    if (!t.region) return h('p', { class: 'muted', text: 'No region covers this address.' });
    const r = t.region;
    return h('p', null, 'In region ', h('a', { class: 'mono', href: `#/process/${pid}/region/${r.start}`, text: `${r.start}–${r.end}` }),
      ` (${KIND_LABEL[r.kind] || r.kind}, ${r.perms}, ${bytes(r.size)}${r.path ? `, ${r.path}` : ''}); `,
      `page start ${t.page_start}.`);
  }

  function pageLine(p) {
    const st = !p.present ? (p.swapped ? 'swapped' : 'absent') : p.file_or_shared ? 'file_or_shared' : 'anon';
    return h('div', { class: 'pagefacts' },
      h('span', null, swatch(st), ` present: ${p.present ? 'yes' : 'no'}`), ` · swapped: ${p.swapped ? 'yes' : 'no'}`,
      ` · file or shared: ${p.file_or_shared ? 'yes' : 'no'} · exclusive: ${p.exclusive ? 'yes' : 'no'}`,
      p.mapcount !== null && p.mapcount !== undefined ? ` · mapped ${p.mapcount}×` : '',
      p.flags ? h('div', { class: 'flags' }, 'frame flags (/proc/kpageflags): ', p.flags.length ? p.flags.map((x) => h('code', { text: x })) : 'none') : null);
  }

  return { refresh, destroy() { if (ctl) ctl.abort(); } };
}

function capital(s) {
  return s ? s[0].toUpperCase() + s.slice(1) + (s.endsWith('.') ? '' : '.') : '';
}

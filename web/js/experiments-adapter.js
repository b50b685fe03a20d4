// experiments-adapter.js - the only place that knows the field names of the experiments API.
// The view works on the plain shapes below; when the server's answers change, only this file does.
//
//   preset: { name, title, lesson, steps: [step spec] }
//   run:    { id, pid, state, alive, finished, holding, reason, signal, faultAddr, exitCode, preset,
//             pageSize, base: { vmSize, vmRss }, steps: [snapshot], access, errors: [text], stderr }
//   snapshot: { index, op, args, ok, error, addr, size, placement, brkBefore, brkAfter, brkDelta,
//               vmSize, vmRss, dVmSize, dVmRss, minflt, majflt, region, pages }
//   pages:  { start, end, pages, present, zero_page, swapped, huge, file_or_shared, exclusive }

export const PATHS = {
  presets: '/experiments/presets',
  start: '/experiments',
  run: (id) => `/experiments/${encodeURIComponent(id)}`,
};

// States after which nothing more will come; "holding" means every step has run and the lab is
// kept alive for inspection.
const ENDED = new Set(['done', 'failed', 'killed']);

export function presets(raw) {
  const list = Array.isArray(raw) ? raw : raw.presets || [];
  return list.map((p) => {
    let spec = p.spec ?? { steps: p.steps };
    if (typeof spec === 'string') {
      try { spec = JSON.parse(spec); } catch { spec = {}; }
    }
    return { name: p.name, title: p.title || p.name, lesson: p.lesson || '', steps: (spec && spec.steps) || [] };
  });
}

export function startBody({ preset, steps, hold_s }) {
  if (preset) return hold_s ? { preset, hold_s } : { preset };
  return { steps, hold_s: hold_s || 0 };
}

export function started(raw) {
  return { id: String(raw.id), pid: raw.pid };
}

const num = (v) => (typeof v === 'number' ? v : null);

function pagesOf(p) {
  if (!p) return null;
  const c = p.counts || p;   // counts may be nested as in /pagemap, or flat
  return {
    start: p.start, end: p.end, pages: num(c.pages), present: num(c.present), zero_page: num(c.zero_page),
    swapped: num(c.swapped), huge: num(c.huge), file_or_shared: num(c.file_or_shared), exclusive: num(c.exclusive),
  };
}

export function run(raw) {
  const lines = raw.lines || [];
  const start = lines.find((l) => l.type === 'start');
  const steps = [];
  const errors = [];
  let access = null;
  for (const l of lines) {
    if (l.type === 'step') {
      const st = l.status || {}, d = l.delta || {}, f = l.faults || {};
      steps.push({
        index: l.step, op: l.op, args: l.args || {}, ok: l.ok !== false, error: l.error || null,
        addr: l.addr || null, size: num(l.size), placement: l.placement || null,
        brkBefore: l.brk_before || null, brkAfter: l.brk_after || null, brkDelta: num(l.brk_delta),
        vmSize: num(st.vm_size), vmRss: num(st.vm_rss), dVmSize: num(d.vm_size), dVmRss: num(d.vm_rss),
        rssAnon: num(st.rss_anon), minflt: num(f.minor), majflt: num(f.major),
        region: l.region || null, pages: pagesOf(l.pages), child: null,
      });
    } else if (l.type === 'child' && steps.length) {
      steps[steps.length - 1].child = l;
    } else if (l.type === 'access') {
      access = { addr: l.addr, page: l.page, offset: l.offset_in_page, gapStart: l.gap_start, gapEnd: l.gap_end, below: l.region_below };
    } else if (l.type === 'error') {
      errors.push(`${l.step >= 0 ? `step ${l.step}: ` : ''}${l.message || l.code}${l.field ? ` (${l.field})` : ''}`);
    }
  }
  const base = start && start.status ? { vmSize: num(start.status.vm_size), vmRss: num(start.status.vm_rss) } : null;
  return {
    id: String(raw.id), pid: raw.pid, state: raw.state, alive: !!raw.alive,
    finished: ENDED.has(raw.state), holding: raw.state === 'holding',
    reason: raw.reason || null, signal: raw.signal || null, faultAddr: raw.fault_addr || null,
    exitCode: raw.exit_code ?? null, preset: raw.preset || (start && start.preset) || null,
    stepsTotal: raw.steps_total ?? (start && start.steps ? start.steps.length : null),
    pageSize: (start && start.page_size) || 4096, base, steps, access, errors, stderr: raw.stderr || '',
  };
}

// The step builder's operations and the fields each takes (names as the spec expects them).
export const OPS = {
  malloc: ['size', 'as'],
  calloc: ['size', 'as'],
  mmap: ['size', 'as', 'huge'],
  touch: ['ptr', 'mode', 'fraction'],
  madvise: ['ptr', 'advice'],
  free: ['ptr'],
  munmap: ['ptr'],
  sleep: ['ms'],
};
export const FIELD_HELP = {
  size: 'e.g. 1GiB, 64KiB, 4096', as: 'a name for the result', ptr: 'a name given earlier with “as”',
  mode: 'read or write', fraction: '0 … 1 of the block', advice: 'dontneed, free, pageout, cold, willneed, hugepage, nohugepage',
  huge: 'hugepage or nohugepage (optional)', ms: 'milliseconds',
};

export function buildStep(op, values) {
  const s = { op };
  for (const k of OPS[op] || []) {
    const v = (values[k] ?? '').toString().trim();
    if (!v) continue;
    s[k] = k === 'fraction' || k === 'ms' ? Number(v) : v;
  }
  return s;
}

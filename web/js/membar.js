// membar.js - a cgroup's usage as one bar split by kind (anon / file / kernel / other), with its
// limit marked: shared by the containers list and a cgroup's page.

// The kinds drawn, in order; "other" is usage the named parts do not cover (shmem, sock, the rest).
export const KINDS = [
  { key: 'anon', label: 'anon' },
  { key: 'file', label: 'file (page cache)' },
  { key: 'kernel', label: 'kernel' },
  { key: 'other', label: 'other' },
];

// usage and parts as /cgroups gives them -> { anon, file, kernel, other } in bytes, never negative.
export function kindsOf(usage, parts) {
  const p = parts || {};
  const anon = p.anon || 0, file = p.file || 0, kernel = p.kernel || 0;
  return { anon, file, kernel, other: Math.max(0, (usage || 0) - anon - file - kernel) };
}

// A bar on a scale of `scale` bytes; a limit at or below the scale is drawn as a mark.
export function memBar(h, { usage, parts, limit, scale, label }) {
  const k = kindsOf(usage, parts);
  const bar = h('span', { class: 'membar', role: 'img', 'aria-label': label });
  const total = scale > 0 ? scale : 1;
  for (const { key } of KINDS) {
    if (!k[key]) continue;
    bar.append(h('span', { class: ['seg', `m-${key}`], dataset: { kind: key, bytes: k[key] },
      css: { width: `${Math.min(100, (100 * k[key]) / total)}%` } }));
  }
  if (limit && limit <= total)
    bar.append(h('span', { class: 'limit', dataset: { bytes: limit }, css: { left: `${(100 * limit) / total}%` } }));
  return bar;
}

export function legend(h) {
  return h('ul', { class: 'legend membar-legend' }, KINDS.map(({ key, label }) =>
    h('li', null, h('span', { class: ['swatch', `m-${key}`] }), label)),
  h('li', null, h('span', { class: 'swatch limit-swatch' }), 'limit'));
}

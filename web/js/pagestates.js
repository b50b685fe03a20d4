// pagestates.js - the states a page can be in, as the server's pagemap runs name them, with the
// colour each is drawn in and the words that explain it.  The region's page map, address translation
// and the experiments' page bars all use these, so a state looks the same everywhere.
import { h } from './dom.js';

export const STATES = [
  ['absent', 'not present', 'no frame yet: the first touch will fault one in'],
  ['file_or_shared', 'file or shared', 'backed by a file page or shared with another mapping'],
  ['anon', 'private (anonymous)', 'a private frame of this process'],
  ['zero', 'zero page', 'read but never written: the kernel\'s shared page of zeros; costs no RSS'],
  ['huge', 'huge page', 'part of a 2 MiB transparent huge page'],
  ['swapped', 'swapped out', 'moved to swap; the next touch reads it back'],
];
export const STATE_INDEX = Object.fromEntries(STATES.map(([k], i) => [k, i]));
export const UNKNOWN_STATE = -1;
export const COLORS = ['#e2e8f0', '#16a34a', '#2563eb', '#eab308', '#9333ea', '#dc2626'];
export const STATE_COLORS = Object.fromEntries(STATES.map(([k], i) => [k, COLORS[i]]));

// k: a state's index or its name
export function swatch(k) {
  const el = h('span', { class: 'swatch', 'aria-hidden': 'true' });
  el.style.background = COLORS[typeof k === 'number' ? k : STATE_INDEX[k]];
  return el;
}

export function legendEl() {
  return h('div', { class: 'legend', 'aria-label': 'Page states' }, STATES.map(([, label, what], i) => h('span', { class: 'key2', title: what }, swatch(i), ` ${label}`)));
}

// fmt.js - numbers and addresses as people read them.  Addresses stay strings or BigInts: a vsyscall
// address (0xffffffffff600000) does not fit a double exactly.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

export function bytes(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  const neg = n < 0;
  let v = Math.abs(n);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  const s = u === 0 ? String(v) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return `${neg ? '−' : ''}${s} ${UNITS[u]}`;
}

export function signedBytes(n) {
  if (n === null || n === undefined) return '—';
  return n > 0 ? `+${bytes(n)}` : n === 0 ? '±0' : bytes(n);
}

// Digits grouped by thousands, as Intl.NumberFormat('en-US') writes them (at most three decimals,
// rounded half away from zero).  Written out rather than asked of Intl: making the first
// NumberFormat loads the locale data, tens of milliseconds before a page can show its first
// figure, and toLocaleString builds one per call, which dominates a table of 100,000 rows.
function grouped(n) {
  if (!Number.isFinite(n) || Math.abs(n) >= 1e21) return String(n);
  const v = Math.abs(n);
  let whole = Math.trunc(v);
  let frac = Math.round((v - whole) * 1000);   // v - whole is exact; so are sizes in kB (k / 1024) here
  if (frac === 1000) { whole += 1; frac = 0; }
  let s = String(whole);
  for (let i = s.length - 3; i > 0; i -= 3) s = `${s.slice(0, i)},${s.slice(i)}`;
  if (frac) s += `.${String(frac).padStart(3, '0').replace(/0+$/, '')}`;
  return n < 0 && (whole || frac) ? `-${s}` : s;
}

export function int(n) {
  if (n === null || n === undefined) return '—';
  return grouped(Number(n));
}

// Exact kB, as smaps prints it: the region table's unit, so its numbers can be checked by eye.
export function kb(n) {
  if (n === null || n === undefined) return '—';
  return `${grouped(n / 1024)} kB`;
}

export function pct(part, whole) {
  if (!whole) return '—';
  const p = (100 * part) / whole;
  return p === 0 ? '0%' : p < 0.01 ? '<0.01%' : p < 1 ? `${p.toFixed(2)}%` : `${p.toFixed(1)}%`;
}

export function big(hexStr) {
  return BigInt(hexStr);
}

// "0x7ffd1234" -> Number; exact for page-aligned addresses anywhere in 64 bits (doubles near 2^64 are
// 2048 apart) and for every user-space address (below 2^47).
// Up to 13 hex digits (below 2^52) parseInt is exact and some ten times cheaper than a BigInt, which
// counts when the figure places 100,000 regions.
export function addrNum(hexStr) {
  if (hexStr.length <= 15 && hexStr[1] === 'x') return parseInt(hexStr.slice(2), 16);
  return Number(BigInt(hexStr));
}

export function hex(v, pad = 0) {
  const b = typeof v === 'bigint' ? v : BigInt(Math.round(v));
  return `0x${b.toString(16).padStart(pad, '0')}`;
}

export function parseAddr(s) {
  const t = String(s).trim().toLowerCase().replace(/_/g, '');
  if (!/^(0x)?[0-9a-f]{1,16}$/.test(t)) return null;
  return BigInt(t.startsWith('0x') ? t : `0x${t}`);
}

export function time(d = new Date()) {
  return d.toLocaleTimeString('en-GB');
}

// A figure of /processes/{pid}'s status block by its API name (vm_rss, rss_anon, ...: the server
// names the memory lines from one table, documented in openapi.json); null where the kernel has none.
export function statusGet(status, key) {
  return status && Object.hasOwn(status, key) ? status[key] : null;
}

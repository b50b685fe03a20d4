// apiworker.js - a Web Worker that parses the large answers (a process's maps and smaps:
// tens of megabytes of JSON at 100,000 regions) off the page's main thread, so reading them never
// freezes scrolling or painting.  The parsed answer goes back in pieces of at most CHUNK rows, each
// one short task for the page to take in; and an answer whose text is the same as the last one under
// the same key (an auto-refresh of a process that did not change) goes back as "same", without
// being parsed or sent at all.
//
// A region's vm_flags (smaps) arrive as one space-separated string, not an array: the page only
// shows them, and taking 100,000 arrays of short strings out of the messages cost the page's main
// thread a third of the time it spent on the whole smaps answer.
//
// The arrays of smaps?layout=rows go packed by column (rows.js), their buffers moved, not copied.
//
// A module worker (it shares rows.js with the page).
// The page fetches (its request leaves at once, where a worker just started may take hundreds of
// milliseconds to take its first message) and moves the answer's bytes here.
// Messages in:  {id, url, key, status, body: ArrayBuffer}  |  {cancel: id}  |  {forget: key}
// Messages out: ({id, rows: [...]} | {id, packed: chunk})*  then
//               {id, done: answer-without-its-row-array, field}
//               | {id, same: true}  |  {id, error: {status, code, message}}
import { pack, packedBuffers } from './rows.js';

const CHUNK = 2000;
const ctls = new Map();     // id -> AbortController of a fetch in flight
const lastHash = new Map(); // key -> hash of the last answer's text

// FNV-1a over the UTF-16 units, 32 bits, with the length: a cheap fingerprint of a whole answer.
function hash(text) {
  let x = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    x ^= text.charCodeAt(i);
    x = Math.imul(x, 0x01000193);
  }
  return `${text.length}:${x >>> 0}`;
}

async function run({ id, url, key, status, body }) {
  const ctl = new AbortController();
  ctls.set(id, ctl);
  try {
    const text = new TextDecoder().decode(body);
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      postMessage({ id, error: { status, code: 'bad_json', message: `the answer to GET ${url} is not JSON (HTTP ${status})` } });
      return;
    }
    if (status < 200 || status > 299) {
      const e = data && data.error ? data.error : {};
      postMessage({ id, error: { status, code: e.code || `http_${status}`, message: e.message || `HTTP ${status} from ${url}` } });
      return;
    }
    if (key) {
      const h = hash(text);
      if (lastHash.get(key) === h) { postMessage({ id, same: true }); return; }
      lastHash.set(key, h);
    }
    // the one long array of the answer (regions, groups, processes or a page map's runs) goes in pieces
    const field = data && ['regions', 'groups', 'processes', 'runs'].find((f) => Array.isArray(data[f]));
    if (field) {
      const rows = data[field];
      data[field] = null;
      if (data.layout === 'rows' && field === 'regions') {
        const nf = (data.fields || []).length;
        for (let i = 0; i < rows.length; i += CHUNK) {
          if (ctl.signal.aborted) return;
          const p = pack(rows, i, Math.min(rows.length, i + CHUNK), nf);
          postMessage({ id, packed: p }, packedBuffers(p));
        }
        rows.length = 0;
      }
      if (rows.length && Array.isArray(rows[0].vm_flags)) for (const r of rows) if (Array.isArray(r.vm_flags)) r.vm_flags = r.vm_flags.join(' ');
      for (let i = 0; i < rows.length; i += CHUNK) {
        if (ctl.signal.aborted) return;
        postMessage({ id, rows: rows.slice(i, i + CHUNK) });
      }
    }
    if (!ctl.signal.aborted) postMessage({ id, done: data, field });
  } catch (e) {
    if (e.name !== 'AbortError') postMessage({ id, error: { status: 0, code: 'worker', message: String(e && e.message || e) } });
  } finally {
    ctls.delete(id);
  }
}

onmessage = (ev) => {
  const m = ev.data;
  if (m.cancel !== undefined) {
    const c = ctls.get(m.cancel);
    if (c) c.abort();
    return;
  }
  if (m.forget) { lastHash.delete(m.forget); return; }
  run(m);
};

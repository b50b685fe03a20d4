// api.js - the one place the dashboard talks to memscoped: JSON in, JSON out, every failure an ApiError
// carrying the server's {"error":{"code","message"}} so views can show it instead of going blank.

const TOKEN_KEY = 'memscope.token';

export class ApiError extends Error {
  constructor(status, code, message, url) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.url = url;
  }
  // The process is gone: the server answers 404 no_such_process, also when it exits mid-read.
  get processGone() {
    return this.status === 404 && this.code === 'no_such_process';
  }
}

export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export async function api(path, { method = 'GET', body, signal } = {}) {
  const headers = { Accept: 'application/json' };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const url = `/api/v1${path}`;
  let res;
  try {
    res = await fetch(url, { method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'unreachable', `memscoped did not answer (${e.message}); is it still running?`, url);
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      throw new ApiError(res.status, 'bad_json', `the answer to ${method} ${url} is not JSON (HTTP ${res.status})`, url);
    }
  }
  if (!res.ok) {
    const e = data && data.error ? data.error : {};
    throw new ApiError(res.status, e.code || `http_${res.status}`, e.message || `HTTP ${res.status} from ${url}`, url);
  }
  return data;
}

// Query strings from an object, skipping empty values.
export function qs(o) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

// Large answers (a process's maps and smaps) are fetched here and parsed by a worker (apiworker.js),
// and arrive in pieces, so the main thread never spends one long task on them.  Where workers are not
// available the answer comes through api() instead.
let worker = null;
let nextId = 1;
const waiting = new Map();   // id -> { resolve, reject, rows, packed, url, path, signal }

function apiWorker() {
  if (worker === null) {
    try {
      worker = new Worker(new URL('./apiworker.js', import.meta.url), { type: 'module' });
      worker.onmessage = onWorkerMessage;
      worker.onerror = onWorkerError;
    } catch {
      worker = false;
    }
  }
  return worker;
}

// A worker that cannot run (a browser without module workers reads its imports as a syntax error):
// from here on the large answers come through api(), those waiting included.
function onWorkerError(ev) {
  if (ev && ev.preventDefault) ev.preventDefault();
  worker = false;
  for (const [id, w] of waiting) {
    waiting.delete(id);
    api(w.path, { signal: w.signal }).then(w.resolve, w.reject);
  }
}

// Starts the worker ahead of the first large answer, so its script is loaded and running by then.
export function warmWorker() {
  apiWorker();
}

function onWorkerMessage(ev) {
  const m = ev.data;
  const w = waiting.get(m.id);
  if (!w) return;
  if (m.rows) { for (const r of m.rows) w.rows.push(r); return; }
  if (m.packed) { w.packed.push(m.packed); return; }
  waiting.delete(m.id);
  if (m.error) w.reject(new ApiError(m.error.status, m.error.code, m.error.message, w.url));
  else if (m.same) w.resolve(SAME);
  else {
    if (m.field) m.done[m.field] = w.rows;
    if (w.packed.length) m.done.packed = w.packed;   // rows.js unpacks them
    w.resolve(m.done);
  }
}

const SAME = Symbol('same');
const lastAnswer = new Map();   // key -> the last answer under it, handed out again while unchanged

async function fetchBytes(url, signal) {
  const headers = { Accept: 'application/json' };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(url, { headers, signal });
  return { status: res.status, body: await res.arrayBuffer() };
}

function ask(w, path, signal, key) {
  const id = nextId++;
  const url = new URL(`/api/v1${path}`, location.href).href;
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) { reject(new DOMException('aborted', 'AbortError')); return; }
    waiting.set(id, { resolve, reject, rows: [], packed: [], url, path, signal });
    if (signal) signal.addEventListener('abort', () => {
      if (!waiting.has(id)) return;
      waiting.delete(id);
      w.postMessage({ cancel: id });
      reject(new DOMException('aborted', 'AbortError'));
    }, { once: true });
    // the request leaves from here at once (a worker just started may take hundreds of milliseconds
    // to take its first message); the answer's bytes are moved to the worker, not copied
    fetchBytes(url, signal).then(({ status, body }) => {
      if (waiting.has(id)) w.postMessage({ id, url, key, status, body }, [body]);
    }, (e) => {
      if (!waiting.has(id)) return;
      waiting.delete(id);
      reject(e.name === 'AbortError' ? e : new ApiError(0, 'unreachable', `memscoped did not answer (${e.message}); is it still running?`, url));
    });
  });
}

// GET path through the worker.  key: a name for this caller's repeated question; with it, an answer
// whose text is identical to the last one under that key resolves to the very same object as then
// (nothing parsed or copied), so a caller sees "unchanged" as ===.  forgetKeys(prefix) drops them.
export async function apiLarge(path, { signal, key } = {}) {
  const w = apiWorker();
  if (!w) return api(path, { signal });
  let a = await ask(w, path, signal, key);
  if (a === SAME) {
    if (lastAnswer.has(key)) return lastAnswer.get(key);
    // the worker knew the text but this side never took the answer in (it was aborted): ask anew
    w.postMessage({ forget: key });
    a = await ask(w, path, signal, key);
  }
  if (key) lastAnswer.set(key, a);
  return a;
}

export function forgetKeys(prefix) {
  for (const k of [...lastAnswer.keys()]) {
    if (!k.startsWith(prefix)) continue;
    lastAnswer.delete(k);
    if (worker) worker.postMessage({ forget: k });
  }
}

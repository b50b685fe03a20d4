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

// main.js - the dashboard's shell: hash routes to views, the refresh button and auto-refresh switch,
// and the rule that an error is always shown as a message, never as a blank page.
import { api, ApiError, setToken, warmWorker } from './api.js';
import { h, clear } from './dom.js';
import { time } from './fmt.js';
import * as processes from './views/processes.js';
import * as proc from './views/process.js';
import * as region from './views/region.js';
import * as translate from './views/translate.js';
import * as experiments from './views/experiments.js';
import * as containers from './views/containers.js';
import * as growth from './views/growth.js';
import * as oomkill from './views/oomkill.js';

// Each route: a pattern over the hash and the view that draws it.  Views export
// mount(root, params, app) -> { refresh(), destroy() }.
const ROUTES = [
  [/^#?\/?(?:processes)?$/, processes, () => ({})],
  [/^#\/process\/(\d+)$/, proc, (m) => ({ pid: +m[1] })],
  [/^#\/process\/(\d+)\/region\/(0x[0-9a-fA-F]+)$/, region, (m) => ({ pid: +m[1], start: m[2].toLowerCase() })],
  [/^#\/process\/(\d+)\/translate(?:\/(0x[0-9a-fA-F]+))?$/, translate, (m) => ({ pid: +m[1], addr: m[2] ? m[2].toLowerCase() : null })],
  [/^#\/experiments$/, experiments, () => ({})],
  [/^#\/experiments\/([\w.-]+)$/, experiments, (m) => ({ id: m[1] })],
  [/^#\/containers$/, containers, () => ({})],
  [/^#\/cgroup\/([^/]+)$/, containers, (m) => ({ path: decodeURIComponent(m[1]) })],
  [/^#\/growth$/, growth, () => ({})],
  [/^#\/oom\/(\d+)(?:\/(snapshot))?$/, oomkill, (m) => ({ seq: +m[1], focus: m[2] || null })],
];

const main = document.getElementById('main');
const banner = document.getElementById('banner');
const stamp = document.getElementById('stamp');
const auto = document.getElementById('auto');
const interval = document.getElementById('interval');
let current = null;
let timer = null;
let busy = false;

export const app = {
  health: null,
  system: null,
  // A message above the view; kind: error | warn | info.
  message(root, kind, text, extra) {
    const box = h('div', { class: ['msg', kind, 'transient'], role: kind === 'error' ? 'alert' : 'status' }, text, extra || null);
    root.prepend(box);
    return box;
  },
  errorText(e) {
    if (e instanceof ApiError) return `${e.message} (HTTP ${e.status || '—'}, ${e.code})`;
    return `Something went wrong in the dashboard: ${e && e.message ? e.message : e}`;
  },
  stamp() {
    stamp.textContent = `updated ${time()}`;
  },
  stopAuto() {
    if (auto.checked) {
      auto.checked = false;
      schedule();
    }
  },
};

function showBanner(text) {
  clear(banner);
  if (text) banner.append(h('div', { class: 'msg error' }, text));
}

async function loadBasics() {
  try {
    // both asked at once (the view waits for them); a failed /system still leaves health set
    const sysP = api('/system');
    sysP.catch(() => {});
    app.health = await api('/health');
    const f = app.health;
    document.getElementById('footer').textContent =
      `memscoped ${f.version} · kernel ${f.kernel} · page size ${f.page_size} B · ` +
      `frames ${f.can_see && f.can_see.pfn ? 'visible' : 'hidden (not root)'} · THP ${f.thp}` +
      `${f.experiments ? '' : ' · experiments off'}`;
    app.system = await sysP;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      askToken();
      return;
    }
    showBanner(`Cannot read memscoped's basics: ${app.errorText(e)}`);
  }
}

function askToken() {
  clear(main);
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'off', required: true, minlength: 16 });
  const form = h('form', { class: 'card narrow' },
    h('h1', { text: 'This memscoped needs a token' }),
    h('p', { text: 'It was started with --token-file or MEMSCOPE_TOKEN. Paste the token; it is kept for this tab only.' }),
    h('label', { for: 'token', text: 'Token' }), input, h('button', { type: 'submit', text: 'Use token' }));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    setToken(input.value.trim());
    start();
  });
  main.append(form);
  input.focus();
}

async function route() {
  if (current) {
    try {
      current.destroy && current.destroy();
    } catch (e) {
      console.warn(e);
    }
    current = null;
  }
  clear(main);
  showBanner('');
  const hash = location.hash || '#/';
  let found = null;
  for (const [re, view, params] of ROUTES) {
    const m = hash.match(re);
    if (m) {
      found = [view, params(m)];
      break;
    }
  }
  const section = hash.startsWith('#/experiments') ? 'experiments'
    : /^#\/(containers|cgroup\/|oom\/)/.test(hash) ? 'containers'
    : hash === '#/growth' ? 'growth' : 'processes';
  for (const a of document.querySelectorAll('[data-nav]'))
    a.toggleAttribute('aria-current', a.dataset.nav === section);
  if (!found) {
    main.append(h('div', { class: 'msg error', role: 'alert' }, `There is no view at ${hash}. `, h('a', { href: '#/', text: 'Go to the process list.' })));
    return;
  }
  try {
    current = found[0].mount(main, found[1], app);
    await refresh();
  } catch (e) {
    app.message(main, 'error', app.errorText(e));
  }
}

async function refresh() {
  if (!current || busy) return;
  busy = true;
  main.setAttribute('aria-busy', 'true');
  for (const m of main.querySelectorAll(':scope > .msg.transient')) m.remove();
  try {
    await current.refresh();
    app.stamp();
  } catch (e) {
    if (e.name !== 'AbortError') app.message(main, 'error', app.errorText(e));
  } finally {
    busy = false;
    main.removeAttribute('aria-busy');
  }
}

function schedule() {
  clearInterval(timer);
  timer = null;
  localStorage.setItem('memscope.auto', auto.checked ? interval.value : '');
  if (auto.checked) timer = setInterval(refresh, +interval.value);
}

async function start() {
  warmWorker();   // its script loads while the basics are asked for, not after the view's first large ask
  await loadBasics();
  if (app.health) await route();
}

document.getElementById('refresh').addEventListener('click', refresh);
document.getElementById('skip').addEventListener('click', () => main.focus());
auto.addEventListener('change', schedule);
interval.addEventListener('change', schedule);
window.addEventListener('hashchange', route);
document.addEventListener('keydown', (ev) => {
  const t = ev.target;
  if (ev.key === 'r' && !ev.ctrlKey && !ev.metaKey && !ev.altKey && !/^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName)) refresh();
});
window.addEventListener('error', (ev) => showBanner(`Dashboard error: ${ev.message}`));
window.addEventListener('unhandledrejection', (ev) => showBanner(`Dashboard error: ${app.errorText(ev.reason)}`));

const saved = localStorage.getItem('memscope.auto');
if (saved) {
  interval.value = saved;
  auto.checked = true;
  schedule();
}
start();

// browser.mjs - the dashboard's own benchmark: real headless Chromium (Debian's, through the
// playwright-core the browser tests install) against a real memscoped on loopback, timing what a
// person waits for on the pages that grow with the process: the process page of 1,000-, 10,000- and
// 100,000-region subjects, the process list with 2,000 more processes, and the page map of a 64 GiB
// region.  Prints one JSON document (figures) on stdout; bench/browser.sh writes it into RESULTS.md.
//
//   MEMSCOPE_BIN, MEMSCOPE_SUBJECT   the built memscoped and memscope-subject (required)
//   CHROMIUM                         the browser (default /usr/bin/chromium)
//   MEMSCOPE_WEB                     the dashboard served (default web/): another version's, to
//                                    compare two under the same load
//   BENCH_ONLY                       comma-separated scenarios: r1000,r10000,r100000,list,pagemap
//   BENCH_REPEAT                     runs of each scenario (default 3): the table shows the median of
//                                    each figure and its best; every run is in the JSON ("*_runs")
//
// Times are from the navigation's start (performance.timeOrigin) to the first animation frame in which
// the thing is on screen, read in the page, so they include parsing, layout and the frame itself.
// Long tasks come from PerformanceObserver('longtask') (tasks over 50 ms; none means none over 50 ms).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(HERE, '../tests/browser/package.json'));
const { chromium } = require('playwright-core');
const WEB = process.env.MEMSCOPE_WEB || path.resolve(HERE, '../web');
const BIN = process.env.MEMSCOPE_BIN;
const SUBJECT = process.env.MEMSCOPE_SUBJECT;
const CHROME = process.env.CHROMIUM || '/usr/bin/chromium';
// the browser tests' flags (tests/browser/dashboard.test.mjs)
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync', '--disable-quic', '--enable-precise-memory-info'];
const ONLY = (process.env.BENCH_ONLY || 'r1000,r10000,r100000,list,pagemap').split(',');
const LIST_PROCS = 2000;
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT || 3));

// Runs fn REPEAT times into out[key] (each figure's median), out[key_best] (each one's lowest) and
// out[key_runs] (every run); figures that are not numbers come from the first run.
async function repeat(out, key, fn) {
  const runs = [];
  for (let i = 0; i < REPEAT; i++) {
    runs.push(await fn());
    log(JSON.stringify(runs[i]));
  }
  const med = { ...runs[0] }, best = { ...runs[0] };
  for (const [k, v] of Object.entries(runs[0])) {
    if (typeof v !== 'number') continue;
    const xs = runs.map((r) => r[k]).sort((a, b) => a - b);
    med[k] = xs[(xs.length - 1) >> 1];
    best[k] = xs[0];
  }
  out[key] = med;
  out[`${key}_best`] = best;
  out[`${key}_runs`] = runs;
}

const children = [];
const log = (...a) => console.error('[browser bench]', ...a);

function waitLine(proc, stream, re, ms = 60000) {
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: stream });
    const t = setTimeout(() => { rl.close(); reject(new Error(`timed out waiting for ${re}`)); }, ms);
    const onExit = (code) => { clearTimeout(t); reject(new Error(`exited (${code}) before ${re}`)); };
    proc.once('exit', onExit);
    rl.on('line', (l) => {
      const m = l.match(re);
      if (m) { clearTimeout(t); proc.off('exit', onExit); rl.removeAllListeners('line'); resolve(m); }
    });
  });
}

async function subject(args) {
  const p = spawn(SUBJECT, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(p);
  const m = await waitLine(p, p.stdout, /^(\{.*\})$/);
  return { proc: p, info: JSON.parse(m[1]) };
}

async function stop(p) {
  if (p.exitCode !== null || p.signalCode !== null) return;
  p.kill('SIGTERM');
  await Promise.race([once(p, 'exit'), new Promise((r) => setTimeout(r, 3000))]);
}

// Installed before the page's scripts: long tasks, and the first frame in which each watched
// selector matches (window.__watch(name, selector) adds one).
function instrument() {
  window.__lt = [];
  new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__lt.push({ at: e.startTime, ms: e.duration }); })
    .observe({ type: 'longtask', buffered: true });
  window.__marks = {};
  window.__watched = [];
  window.__watch = (name, sel) => window.__watched.push([name, sel]);
  const tick = () => {
    for (const [name, sel] of window.__watched) if (!(name in window.__marks) && document.querySelector(sel)) window.__marks[name] = performance.now();
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

const nodes = (page) => page.evaluate(() => {
  const it = document.createNodeIterator(document, NodeFilter.SHOW_ALL);
  let n = 0;
  while (it.nextNode()) n++;
  return n;
});

async function heapMiB(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  await cdp.detach();
  return +(usedSize / 2 ** 20).toFixed(1);
}

const longest = (lt, from = 0) => Math.round(Math.max(0, ...lt.filter((e) => e.at >= from).map((e) => e.ms)));

// Opens url in a fresh tab with the marks; watch: [[name, selector]]; waits for every one.
async function open(ctx, url, watch, timeout = 120000) {
  const page = await ctx.newPage();
  await page.addInitScript(instrument);
  await page.addInitScript((w) => { for (const [n, s] of w) window.__watch(n, s); }, watch);
  page.on('pageerror', (e) => log('page error:', e.message));
  await page.goto(url);
  await page.waitForFunction((names) => names.every((n) => n in window.__marks), watch.map((w) => w[0]), { timeout, polling: 50 });
  return page;
}

// The process page of a subject with n extra regions.
async function regionPage(ctx, base, n) {
  const { proc, info } = await subject(['--regions', String(n), '--pages', '256', '--write', '64']);
  try {
    const url = `${base}#/process/${info.pid}`;
    const page = await open(ctx, url, [
      ['summary', '.stat[data-key=VmRSS]'],
      ['figure', '.aspace .region'],
      ['firstRow', '#regtable tbody tr[data-start]'],
      ['table', '#regtable[data-source=maps] tbody tr[data-start]'],
    ]);
    // usable: the table holds every region and the main thread has come back (the frame after the
    // last one it drew)
    const usable = await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(() => r(performance.now()), 0))));
    const marks = await page.evaluate(() => window.__marks);
    const loadLong = longest(await page.evaluate(() => window.__lt));
    const domNodes = await nodes(page);
    const count = await page.$eval('#regtable', (t) => Number(t.dataset.count));
    // scroll the region table through, a wheel turn at a time, then jump to its end
    const t0 = await page.evaluate(() => performance.now());
    await page.$eval('#regwrap', (e) => e.scrollIntoView());
    const box2 = await page.$eval('#regwrap', (e) => { const r = e.getBoundingClientRect(); return { x: r.left + r.width / 2, y: r.top + Math.min(r.height / 2, 200) }; });
    await page.mouse.move(box2.x, box2.y);
    for (let i = 0; i < 60; i++) {
      await page.mouse.wheel(0, 800);
      await page.waitForTimeout(16);
    }
    const maps = await (await fetch(`${base}api/v1/processes/${info.pid}/maps`)).json();
    const lastStart = maps.regions[maps.regions.length - 1].start;
    const tEnd = await page.evaluate(() => performance.now());
    await page.$eval('#regwrap', (e) => { e.scrollTop = e.scrollHeight; });
    await page.waitForSelector(`#regtable tr[data-start="${lastStart}"]`, { timeout: 10000 });
    const toEnd = Math.round((await page.evaluate(() => performance.now())) - tEnd);
    // and the figure
    await page.$eval('.aspace', (e) => { e.scrollTop = e.scrollHeight; });
    await page.waitForTimeout(100);
    const scrollLong = longest(await page.evaluate(() => window.__lt), t0);
    const scrollNodes = await nodes(page);
    const heap = await heapMiB(page);
    const figureLines = await page.$eval('.aspace', (e) => Number(e.dataset.lines));
    // smaps' fields asked for: from the click to the first frame after every region has them
    await page.$eval('#regwrap', (e) => { e.scrollTop = 0; });
    const t1 = await page.evaluate(() => performance.now());
    await page.check('#smapsf');
    await page.waitForSelector('#regtable[data-source=smaps] tbody tr[data-start]', { timeout: 120000 });
    const smapsOn = Math.round(await page.evaluate((t) => new Promise((r) => requestAnimationFrame(() => setTimeout(() => r(performance.now() - t), 0))), t1));
    const smapsLong = longest(await page.evaluate(() => window.__lt), t1);
    const smapsNodes = await nodes(page);
    // the choice is kept in the browser: back to the default for the next page
    await page.uncheck('#smapsf');
    await page.waitForSelector('#regtable[data-source=maps] tbody tr[data-start]', { timeout: 120000 });
    await page.close();
    return {
      regions: count, summary_ms: Math.round(marks.summary), figure_ms: Math.round(marks.figure), first_row_ms: Math.round(marks.firstRow),
      table_ms: Math.round(marks.table), usable_ms: Math.round(usable), longest_task_load_ms: loadLong,
      longest_task_scroll_ms: scrollLong, dom_nodes: Math.max(domNodes, scrollNodes, smapsNodes), js_heap_mib: heap,
      smaps_on_ms: smapsOn, longest_task_smaps_ms: smapsLong,
      figure_lines: figureLines, last_row_after_jump_ms: toEnd,
    };
  } finally {
    proc.stdin.end();
    await stop(proc);
  }
}

// The process list with LIST_PROCS more (sleeping) processes: load, sort, filter, refresh.
async function listPage(ctx, base) {
  const sleepers = [];
  try {
    // in batches, so starting them is not itself a burst of load on the machine
    for (let i = 0; i < LIST_PROCS; i++) {
      sleepers.push(spawn('sleep', ['900'], { stdio: 'ignore' }));
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const page = await open(ctx, base, [['firstRow', '#proctable tbody tr[data-pid]']]);
    const first = (await page.evaluate(() => window.__marks)).firstRow;
    await page.waitForTimeout(300);
    const total = await page.$eval('#pcount', (e) => e.textContent);
    const showAll = await page.$('.more button');
    let showAllMs = null;
    if (showAll) {
      const t = await page.evaluate(() => performance.now());
      await showAll.click();
      await page.waitForFunction(() => !document.querySelector('.more button'));
      showAllMs = Math.round(await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(performance.now())))) - t);
    }
    const rows = await page.$$eval('#proctable tbody tr[data-pid]', (t) => t.length);
    // each operation: from the input to the first frame after the table changed
    async function op(name, act, changed) {
      const t = await page.evaluate(() => { window.__opDone = null; return performance.now(); });
      await page.evaluate(changed);
      await act();
      await page.waitForFunction(() => window.__opDone !== null, null, { timeout: 30000, polling: 10 });
      const done = await page.evaluate(() => window.__opDone);
      const lt = longest(await page.evaluate(() => window.__lt), t);
      return { [`${name}_ms`]: Math.round(done - t), [`${name}_longest_task_ms`]: lt };
    }
    // marks the first frame after #proctable's tbody changes
    const watchBody = () => {
      const tb = document.querySelector('#proctable');
      const mo = new MutationObserver(() => { mo.disconnect(); requestAnimationFrame(() => { window.__opDone = performance.now(); }); });
      mo.observe(tb, { childList: true, subtree: true, characterData: true, attributes: true });
    };
    const sort = await op('sort', () => page.click('#proctable th:nth-child(1) button'), watchBody);
    await page.waitForTimeout(300);
    const sortBack = await op('sort_again', () => page.click('#proctable th:nth-child(1) button'), watchBody);
    await page.waitForTimeout(300);
    const filter = await op('filter', () => page.fill('#q', 'sleep'), () => {
      const c = document.getElementById('pcount');
      const was = c.textContent;
      const tick = () => (c.textContent !== was ? requestAnimationFrame(() => { window.__opDone = performance.now(); }) : setTimeout(tick, 5));
      tick();
    });
    const filtered = await page.$eval('#pcount', (e) => e.textContent);
    await page.fill('#q', '');
    await page.waitForFunction(() => !/matching/.test(document.getElementById('pcount').textContent));
    await page.waitForTimeout(300);
    const refresh = await op('refresh', () => page.click('#refresh'), () => {
      const s = document.getElementById('stamp');
      const main = document.getElementById('main');
      const tick = () => (!main.hasAttribute('aria-busy') && window.__seenBusy ? requestAnimationFrame(() => { window.__opDone = performance.now(); }) : (window.__seenBusy ||= main.hasAttribute('aria-busy'), setTimeout(tick, 2)));
      window.__seenBusy = false;
      tick();
    });
    const domNodes = await nodes(page);
    const heap = await heapMiB(page);
    await page.close();
    return { processes: total, rows_drawn: rows, first_row_ms: Math.round(first), show_all_ms: showAllMs, ...sort, ...sortBack, ...filter, filtered, ...refresh, dom_nodes: domNodes, js_heap_mib: heap };
  } finally {
    for (const p of sleepers) p.kill('SIGKILL');
    await Promise.all(sleepers.map((p) => (p.exitCode === null && p.signalCode === null ? once(p, 'exit') : null)));
  }
}

// The page map of a 64 GiB region (MAP_NORESERVE) with scattered residency: SCATTER pages written,
// one in each of SCATTER equal slices, so the map has about 2 x SCATTER runs (in one answer: the
// server sends up to 100,000) and every zoom and pan redraws from them.
const SCATTER = 20000;
async function pagemapPage(ctx, base) {
  const { proc, info } = await subject(['--heap', String(64 * 2 ** 30), '--heap-noreserve', '1', '--heap-scatter', String(SCATTER)]);
  try {
    const page = await open(ctx, `${base}#/process/${info.pid}/region/${info.heap}`, [['counts', '.stat[data-key=present]'], ['map', '#pagemap[data-states]']]);
    const marks = await page.evaluate(() => window.__marks);
    const present = await page.$eval('.stat[data-key=present]', (e) => Number(e.dataset.value));
    // from the input, dispatched in the page (so the time is the page's, not the round trip of the
    // browser's remote control), to the first frame after the map's caption changed
    const act = (how) => page.evaluate((how) => new Promise((resolve) => {
      const info = document.getElementById('viewinfo');
      const before = info.textContent;
      const t = performance.now();
      if (how === 'next') document.getElementById('pmnext').click();
      else document.getElementById('pagemap').dispatchEvent(new KeyboardEvent('keydown', { key: how, bubbles: true }));
      const tick = () => (info.textContent !== before ? requestAnimationFrame(() => resolve(Math.round(performance.now() - t))) : setTimeout(tick, 1));
      tick();
    }), how);
    const zoom = [];
    for (let i = 0; i < 4; i++) { zoom.push(await act('+')); await page.waitForTimeout(200); }
    const pan = [];
    for (let i = 0; i < 3; i++) { pan.push(await act('next')); await page.waitForTimeout(200); }
    const whole = await act('0');
    const lt = longest(await page.evaluate(() => window.__lt));
    const domNodes = await nodes(page);
    const heap = await heapMiB(page);
    await page.close();
    return { scattered_pages: info.heap_scattered, present_pages: present, counts_ms: Math.round(marks.counts), map_ms: Math.round(marks.map),
      zoom_ms_max: Math.max(...zoom), zoom_ms: zoom, pan_ms_max: Math.max(...pan), pan_ms: pan, whole_ms: whole, longest_task_ms: lt, dom_nodes: domNodes, js_heap_mib: heap };
  } finally {
    proc.stdin.end();
    await stop(proc);
  }
}

// The history chart and the diff view of a 10,000-region subject (scenario "diff"; it runs in a whole
// bench, or with BENCH_ONLY=diff).  Snapshot A, then one byte written into each of the subject's
// one-page regions through /proc/<pid>/mem (so every one of them grows by a page), snapshot B.  The
// diff has no address of its own: it opens on the process page by choosing the two snapshots and
// pressing Compare, so its times are from that click (dispatched in the page) to the first frame
// showing the diff's rows; the chart's are from the process page's navigation.
const DIFF_REGIONS = 10000;
async function diffPage(ctx, base) {
  const { proc, info } = await subject(['--regions', String(DIFF_REGIONS), '--pages', '256', '--write', '64']);
  const api = async (p, opts) => {
    const r = await fetch(`${base}api/v1${p}`, opts);
    if (!r.ok) throw new Error(`${p}: HTTP ${r.status} ${await r.text()}`);
    return r.json();
  };
  try {
    const pid = info.pid;
    // the chart needs the sampler (every 10 s by default) to have seen the subject
    for (let i = 0; ; i++) {
      const r = await fetch(`${base}api/v1/processes/${pid}/history?since=1h`);
      if (r.ok && (await r.json()).count > 0) break;
      if (i > 300) throw new Error('the sampler did not see the subject in 30 s');
      await new Promise((res) => setTimeout(res, 100));
    }
    const a = await api(`/processes/${pid}/snapshots`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const maps = await api(`/processes/${pid}/maps`);
    const fd = fs.openSync(`/proc/${pid}/mem`, 'r+');
    let touched = 0;
    try {
      for (const r of maps.regions) {
        const start = parseInt(r.start, 16), end = parseInt(r.end, 16);
        if (end - start !== 4096 || r.path || (r.rss ?? 0) > 0) continue;   // the subject's one-page regions
        fs.writeSync(fd, Buffer.from([1]), 0, 1, start);
        touched++;
      }
    } finally {
      fs.closeSync(fd);
    }
    const b = await api(`/processes/${pid}/snapshots`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const t = performance.now();
    const d = await api(`/processes/${pid}/diff?from=${a.id}&to=${b.id}`);
    const apiMs = Math.round(performance.now() - t);
    const changed = d.regions.filter((r) => r.change !== 'same').length;
    const page = await open(ctx, `${base}#/process/${pid}`, [
      ['chart', '#hchart canvas'],
      ['snaps', `#snap-${b.id}`],
      ['table', '#regtable[data-source=maps] tbody tr[data-start]'],
    ]);
    const marks = await page.evaluate(() => window.__marks);
    const pageLong = longest(await page.evaluate(() => window.__lt));
    const pageNodes = await nodes(page);
    await page.check(`#snap-${a.id}`);
    await page.check(`#snap-${b.id}`);
    await page.waitForTimeout(300);
    // from the click to the first frame with a diff row, and the frame after it (usable)
    const r = await page.evaluate(() => new Promise((resolve) => {
      const t0 = performance.now();
      document.getElementById('opendiff').click();
      const tick = () => {
        if (!document.querySelector('#difftable tbody tr')) return requestAnimationFrame(tick);
        const first = performance.now();
        requestAnimationFrame(() => setTimeout(() => resolve({ t0, first: first - t0, usable: performance.now() - t0 }), 0));
      };
      requestAnimationFrame(tick);
    }));
    const rows = await page.$$eval('#difftable tbody tr', (trs) => trs.length);
    const diffLong = longest(await page.evaluate(() => window.__lt), r.t0);
    const diffNodes = await nodes(page);
    // scroll the diff's list through, a wheel turn at a time
    const t1 = await page.evaluate(() => performance.now());
    await page.$eval('#difftable', (e) => e.scrollIntoView());
    const box = await page.$eval('#difftable', (e) => { const q = e.getBoundingClientRect(); return { x: q.left + q.width / 2, y: Math.max(q.top, 0) + 200 }; });
    await page.mouse.move(box.x, box.y);
    for (let i = 0; i < 60; i++) {
      await page.mouse.wheel(0, 800);
      await page.waitForTimeout(16);
    }
    await page.waitForTimeout(100);
    const scrollLong = longest(await page.evaluate(() => window.__lt), t1);
    const heap = await heapMiB(page);
    await page.close();
    return {
      regions: d.count, touched, changed, rows_drawn: rows, diff_api_ms: apiMs,
      chart_ms: Math.round(marks.chart), snaps_ms: Math.round(marks.snaps), page_table_ms: Math.round(marks.table),
      page_longest_task_ms: pageLong, page_dom_nodes: pageNodes,
      first_diff_row_ms: Math.round(r.first), diff_usable_ms: Math.round(r.usable), longest_task_diff_ms: diffLong,
      longest_task_scroll_ms: scrollLong, dom_nodes: diffNodes, js_heap_mib: heap,
    };
  } finally {
    proc.stdin.end();
    await stop(proc);
  }
}

// The diff scenario's rows of the targets' table.
function diffTargets(out, mb, v) {
  const d = out.diff;
  if (!d) return [];
  const n = `diff of ${d.changed.toLocaleString('en-US')} changed regions`;
  return [
    [`10k regions: history chart on screen (from navigation)`, mb('diff', 'chart_ms'), '≤ 1000 ms', v(d.chart_ms <= 1000)],
    [`${n}: first rows on screen (from Compare)`, mb('diff', 'first_diff_row_ms'), '≤ 1000 ms', v(d.first_diff_row_ms <= 1000)],
    [`${n}: usable`, mb('diff', 'diff_usable_ms'), '≤ 1500 ms', v(d.diff_usable_ms <= 1500)],
    [`${n}: DOM nodes`, d.dom_nodes.toLocaleString('en-US'), '≤ 20,000', v(d.dom_nodes <= 20000)],
    [`${n}: longest task while scrolling the list`, mb('diff', 'longest_task_scroll_ms'), '≤ 50 ms', v(d.longest_task_scroll_ms <= 50)],
    [`${n}: longest task, loading (JS heap ${d.js_heap_mib} MiB; the diff answer ${d.diff_api_ms} ms)`, mb('diff', 'longest_task_diff_ms'), '—', '—'],
  ];
}

// The Containers page at CG_COUNT memory cgroups: a cgroup v2 tree written into a temporary directory
// as a Kubernetes node lays it out (system.slice services; kubepods.slice, its burstable and
// besteffort slices, pods of a pause and two containers each, four levels deep), every cgroup with the
// files the recorded fixtures have (tests/fixtures/cgroup-v2-make.py), read by a memscoped of its own
// through --cgroup-root.  The page offers no sort, filter or expand: its one interaction is refresh.
// Runs with every scenario, and alone with BENCH_ONLY=containers.
const CG_COUNT = 1000;
function cgroupTree(top) {
  const MiB = 2 ** 20;
  let made = 0, seq = 0;
  const hex = (n) => (n * 2654435761 >>> 0).toString(16).padStart(8, '0').repeat(8);
  const write = (dir, { anon, file, limit = 'max', procs = [], root = false, oom = 0 }) => {
    fs.mkdirSync(dir, { recursive: true });
    made++;
    const slab = Math.round(anon / 20), stack = 16384 * (1 + procs.length), pt = 65536 * (1 + procs.length), percpu = 4096, sock = 0, shmem = Math.round(file / 50);
    const kernel = slab + stack + pt + percpu;
    const total = anon + file + kernel + sock;
    const stat = [['anon', anon], ['file', file], ['kernel', kernel], ['kernel_stack', stack], ['pagetables', pt], ['sec_pagetables', 0],
      ['percpu', percpu], ['sock', sock], ['vmalloc', 0], ['shmem', shmem], ['zswap', 0], ['zswapped', 0], ['file_mapped', Math.round(file / 3)],
      ['file_dirty', 8192], ['file_writeback', 0], ['swapcached', 0], ['anon_thp', 0], ['file_thp', 0], ['shmem_thp', 0],
      ['inactive_anon', anon + shmem - (anon >> 2)], ['active_anon', anon >> 2], ['inactive_file', Math.round((file - shmem) * 2 / 3)],
      ['active_file', file - shmem - Math.round((file - shmem) * 2 / 3)], ['unevictable', 0], ['slab_reclaimable', Math.round(slab * 3 / 5)],
      ['slab_unreclaimable', slab - Math.round(slab * 3 / 5)], ['slab', slab], ['workingset_refault_anon', 0], ['workingset_refault_file', 112],
      ['pgscan', 1520], ['pgsteal', 1498], ['pgfault', 48211 + seq], ['pgmajfault', 37], ['pgactivate', 5120], ['pgdeactivate', 190]]
      .map(([k, v]) => `${k} ${v}\n`).join('');
    const psi = (seq++ % 7) ? '0.00' : '1.25';
    const files = { 'cgroup.procs': procs.map((x) => `${x}\n`).join(''), 'memory.stat': stat,
      'memory.pressure': `some avg10=${psi} avg60=0.40 avg300=0.10 total=${1000 * seq}\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=${500 * seq}\n` };
    if (root) files['cgroup.controllers'] = 'cpuset cpu io memory hugetlb pids rdma misc\n';
    else Object.assign(files, {
      'memory.current': `${total + 8192}\n`, 'memory.peak': `${total + 8192 + MiB}\n`, 'memory.max': `${limit}\n`, 'memory.high': 'max\n',
      'memory.low': '0\n', 'memory.min': '0\n', 'memory.swap.current': '0\n', 'memory.swap.peak': '0\n', 'memory.swap.max': 'max\n',
      'memory.events': `low 0\nhigh 0\nmax ${oom * 3}\noom ${oom}\noom_kill ${oom}\noom_group_kill 0\n`,
      'memory.events.local': `low 0\nhigh 0\nmax 0\noom 0\noom_kill ${oom}\noom_group_kill 0\n`,
    });
    for (const [k, v] of Object.entries(files)) fs.writeFileSync(path.join(dir, k), v);
  };
  write(top, { anon: 40000 * MiB, file: 60000 * MiB, procs: [1], root: true });
  const sys = path.join(top, 'system.slice');
  write(sys, { anon: 900 * MiB, file: 2000 * MiB });
  const kp = path.join(top, 'kubepods.slice');
  write(kp, { anon: 30000 * MiB, file: 40000 * MiB, limit: 120 * 1024 * MiB });
  const qos = ['burstable', 'besteffort'].map((q) => path.join(kp, `kubepods-${q}.slice`));
  for (const q of qos) write(q, { anon: 15000 * MiB, file: 20000 * MiB });
  const pods = Math.floor((CG_COUNT - made) / 4);
  for (let i = 0; i < pods; i++) {
    const q = qos[i % 5 === 4 ? 1 : 0];
    const uid = `${hex(i + 1).slice(0, 8)}_${hex(i + 2).slice(0, 4)}_4${hex(i + 3).slice(0, 3)}_9${hex(i + 4).slice(0, 3)}_${hex(i + 5).slice(0, 12)}`;
    const pod = path.join(q, `${path.basename(q, '.slice')}-pod${uid}.slice`);
    const big = 20 + (i * 37) % 900;
    write(pod, { anon: big * MiB, file: 2 * big * MiB, limit: i % 5 === 4 ? 'max' : (2 * big + 512) * MiB * 2 });
    write(path.join(pod, `cri-containerd-${hex(10000 + i)}.scope`), { anon: 262144, file: 4 * MiB, procs: [100000 + 3 * i] });
    write(path.join(pod, `cri-containerd-${hex(20000 + i)}.scope`), { anon: (big - 10) * MiB, file: big * MiB, procs: [100001 + 3 * i],
      limit: i % 5 === 4 ? 'max' : (big * 3 + 256) * MiB, oom: i % 50 === 0 ? 1 : 0 });
    write(path.join(pod, `cri-containerd-${hex(30000 + i)}.scope`), { anon: 9 * MiB, file: 20 * MiB, procs: [100002 + 3 * i] });
  }
  for (let i = 0; made < CG_COUNT; i++) write(path.join(sys, `svc-${String(i).padStart(3, '0')}.service`), { anon: (5 + i) * MiB, file: (10 + 2 * i) * MiB, procs: [5000 + i] });
  return made;
}

async function containersPage(ctx) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memscope-bench-cgroups-'));
  let server = null;
  try {
    const made = cgroupTree(dir);
    // the browser test's flags (tests/browser/containers.test.mjs), with no store: only the tree is read
    server = spawn(BIN, ['--listen', '127.0.0.1:0', '--web-dir', WEB, '--cgroup-root', dir, '--data-dir', 'none', '--log-level', 'info'],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(server);
    const base = (await waitLine(server, server.stderr, /listening on (http:\/\/127\.0\.0\.1:\d+\/)/))[1];
    server.stderr.resume();
    // this server is another origin than main()'s: warm the browser's cache of its modules once
    const warm = await ctx.newPage();
    await warm.goto(base);
    await warm.waitForSelector('#proctable tbody tr');
    await warm.close();
    const t0 = performance.now();
    const answer = await (await fetch(`${base}api/v1/cgroups`)).json();
    const apiMs = Math.round(performance.now() - t0);
    const page = await open(ctx, `${base}#/containers`, [['firstRow', '#cgtree tbody tr[data-path]'], ['oom', '#oomkept']]);
    // the whole tree: the last of the flat list's cgroups has a row
    const rows = await page.$$eval('#cgtree tbody tr[data-path]', (t) => t.length);
    const marks = await page.evaluate(() => window.__marks);
    const loadLong = longest(await page.evaluate(() => window.__lt));
    // when the page had the server's answer (its part of the time to the tree), from navigation
    const answered = await page.evaluate(() => Math.max(...performance.getEntriesByType('resource').filter((e) => /\/api\/v1\/cgroups$/.test(e.name)).map((e) => e.responseEnd)));
    const domNodes = await nodes(page);
    // scroll the page through the tree, a wheel turn at a time
    const ts = await page.evaluate(() => performance.now());
    await page.mouse.move(640, 450);
    for (let i = 0; i < 60; i++) {
      await page.mouse.wheel(0, 800);
      await page.waitForTimeout(16);
    }
    await page.waitForTimeout(100);
    const scrollLong = longest(await page.evaluate(() => window.__lt), ts);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForTimeout(300);
    // refresh (the button): from the click, dispatched in the page, to the first frame after the
    // tree's rows changed, and to the first frame after the shell says it is done
    const refresh = await page.evaluate(() => new Promise((resolve) => {
      const tb = document.querySelector('#cgtree');
      const main = document.getElementById('main');
      let changed = null, seenBusy = false;
      const mo = new MutationObserver(() => { mo.disconnect(); requestAnimationFrame(() => { changed = performance.now(); }); });
      mo.observe(tb, { childList: true, subtree: true, characterData: true, attributes: true });
      const t = performance.now();
      document.getElementById('refresh').click();
      const tick = () => {
        seenBusy ||= main.hasAttribute('aria-busy');
        if (seenBusy && !main.hasAttribute('aria-busy') && changed !== null) requestAnimationFrame(() => resolve({ changed: changed - t, done: performance.now() - t, t }));
        else setTimeout(tick, 2);
      };
      tick();
    }));
    const refreshLong = longest(await page.evaluate(() => window.__lt), refresh.t);
    const heap = await heapMiB(page);
    await page.close();
    return { cgroups: made, listed: answer.count, rows, api_ms: apiMs, cgroups_answered_ms: Math.round(answered), first_row_ms: Math.round(marks.firstRow), ooms_ms: Math.round(marks.oom),
      longest_task_load_ms: loadLong, longest_task_scroll_ms: scrollLong, refresh_ms: Math.round(refresh.done),
      refresh_rows_ms: Math.round(refresh.changed), refresh_longest_task_ms: refreshLong, dom_nodes: domNodes, js_heap_mib: heap };
  } finally {
    if (server) await stop(server);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// The Containers page's rows of the targets table (table() below calls it).
function containersRows(out, t, mb, v) {
  const c = out.containers;
  if (!c) return;
  const k = 'containers';
  t.push([`Containers page (${c.cgroups.toLocaleString('en-US')} cgroups, ${c.rows.toLocaleString('en-US')} rows drawn): tree on screen (the page had /cgroups at ${mb(k, 'cgroups_answered_ms')}; asked alone it takes ${mb(k, 'api_ms')})`, mb(k, 'first_row_ms'), '≤ 1000 ms', v(c.first_row_ms <= 1000)]);
  t.push(['Containers page: DOM nodes', c.dom_nodes.toLocaleString('en-US'), '≤ 20,000', v(c.dom_nodes <= 20000)]);
  t.push(['Containers page: refresh (the one interaction it offers: no sort, filter or expand)', mb(k, 'refresh_ms'), '< 200 ms', v(c.refresh_ms < 200)]);
  t.push(['Containers page: longest task while loading', mb(k, 'longest_task_load_ms'), '—', '—']);
  t.push(['Containers page: longest task while scrolling', mb(k, 'longest_task_scroll_ms'), '≤ 50 ms', v(c.longest_task_scroll_ms <= 50)]);
  t.push([`Containers page: JS heap ${c.js_heap_mib} MiB; longest task in the refresh`, mb(k, 'refresh_longest_task_ms'), '—', '—']);
}

async function main() {
  if (!BIN || !SUBJECT) throw new Error('set MEMSCOPE_BIN and MEMSCOPE_SUBJECT (bench/browser.sh does)');
  const server = spawn(BIN, ['--listen', '127.0.0.1:0', '--web-dir', WEB, '--log-level', 'info', '--data-dir', 'none'], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(server);
  const m = await waitLine(server, server.stderr, /listening on (http:\/\/127\.0\.0\.1:\d+\/)/);
  server.stderr.resume();
  const base = m[1];
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'memscope-bench-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROME, headless: true, args: ARGS, viewport: { width: 1280, height: 900 } });
  const out = { repeat: REPEAT, ran: new Date().toISOString(), chromium: ctx.browser() ? ctx.browser().version() : null, load: fs.readFileSync('/proc/loadavg', 'utf8').trim() };
  try {
    // warm the browser's cache of the page's modules once
    const warm = await ctx.newPage();
    await warm.goto(base);
    await warm.waitForSelector('#proctable tbody tr');
    await warm.close();
    for (const n of [1000, 10000, 100000]) {
      if (!ONLY.includes(`r${n}`)) continue;
      log(`process page, ${n} regions`);
      // the kernel's default limit of 65,530 mappings per process is below 100,000: raised for this
      // subject only, and put back however we leave
      const MMC = '/proc/sys/vm/max_map_count';
      const old = Number(fs.readFileSync(MMC, 'utf8'));
      if (old < n + 1000) fs.writeFileSync(MMC, String(n * 2));
      try {
        await repeat(out, `regions_${n}`, () => regionPage(ctx, base, n));
      } finally {
        if (old < n + 1000) fs.writeFileSync(MMC, String(old));
      }
    }
    if (ONLY.includes('list')) {
      log(`process list, ${LIST_PROCS} more processes`);
      await repeat(out, 'list', () => listPage(ctx, base));
    }
    if (ONLY.includes('pagemap')) {
      log('page map, 64 GiB region');
      await repeat(out, 'pagemap', () => pagemapPage(ctx, base));
    }
    if (!process.env.BENCH_ONLY || ONLY.includes('diff')) await repeat(out, 'diff', () => diffPage(ctx, base));
    if (ONLY.includes('containers') || !process.env.BENCH_ONLY) { log(`Containers page, ${CG_COUNT} cgroups`); await repeat(out, 'containers', () => containersPage(ctx)); }
  } catch (e) {
    out.error = String(e && e.stack || e);
    log(out.error);
  } finally {
    out.load_end = fs.readFileSync('/proc/loadavg', 'utf8').trim();
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    for (const c of children) await stop(c);
  }
  console.log(JSON.stringify(out, null, 1));
}

// The RESULTS.md section from a run's JSON.
function table(out) {
  const L = [];
  const v = (ok) => (ok ? 'met' : '**MISSED**');
  const ms = (x) => (x === null || x === undefined ? '—' : `${x} ms`);
  // the median, and the best run where it differs
  const mb = (key, f) => {
    const m = out[key] && out[key][f], b = out[`${key}_best`] && out[`${key}_best`][f];
    return b === undefined || b === m ? ms(m) : `${ms(m)} (best ${b})`;
  };
  L.push('## Dashboard in the browser', '');
  L.push(`Ran ${out.ran.slice(0, 16).replace('T', ' ')} UTC, headless Chromium ${out.chromium}, viewport 1280×900, load average ${out.load.split(' ').slice(0, 3).join(' ')} at start and ` +
    `${(out.load_end || '').split(' ').slice(0, 3).join(' ')} at end (2 cores shared with other work: times stretch with the load; DOM nodes and heap do not). ` +
    'Produced by `bench/browser.sh` (bench/browser.mjs). Times are from the navigation\'s start to the first frame showing the thing; ' +
    '"usable" is the first frame after the table holds every region (with its resident bytes; smaps is read only when its fields are asked for, and "smaps fields" is from that click to the first frame after every region has them); long tasks are PerformanceObserver `longtask` entries (over 50 ms; 0: none). ' +
    `Each scenario ran ${out.repeat || 1} time(s): every figure is the median of the runs, with the best run's in parentheses where it differs.`, '');
  if (out.error) L.push(`The run stopped early: \`${out.error.split('\n')[0]}\``, '');
  const pages = [1000, 10000, 100000].filter((n) => out[`regions_${n}`]);
  if (pages.length) L.push('| process page | summary + figure | first region row | usable | smaps fields (from the click) | DOM nodes | longest task, loading | longest task, scrolling | JS heap | figure lines |', '|---|---|---|---|---|---|---|---|---|---|');
  for (const n of pages) {
    const r = out[`regions_${n}`];
    const k = `regions_${n}`;
    L.push(`| ${r.regions.toLocaleString('en-US')} regions | ${mb(k, 'figure_ms')} | ${mb(k, 'first_row_ms')} | ${mb(k, 'usable_ms')} | ${mb(k, 'smaps_on_ms')} | ${r.dom_nodes.toLocaleString('en-US')} | ${mb(k, 'longest_task_load_ms')} | ${mb(k, 'longest_task_scroll_ms')} | ${r.js_heap_mib} MiB | ${r.figure_lines} |`);
  }
  if (pages.length) L.push('');
  const t = [];
  const r10 = out.regions_10000, r100 = out.regions_100000, li = out.list, pm = out.pagemap;
  if (r10) {
    t.push(['10k regions: summary + top of the figure', mb('regions_10000', 'figure_ms'), '≤ 1000 ms', v(r10.figure_ms <= 1000)]);
    t.push(['10k regions: usable', mb('regions_10000', 'usable_ms'), '≤ 1500 ms', v(r10.usable_ms <= 1500)]);
    t.push(['10k regions: smaps fields, from the click', mb('regions_10000', 'smaps_on_ms'), '≤ 1500 ms', v(r10.smaps_on_ms <= 1500)]);
    t.push(['10k regions: longest task while scrolling the table', mb('regions_10000', 'longest_task_scroll_ms'), '≤ 50 ms', v(r10.longest_task_scroll_ms <= 50)]);
  }
  if (r100) {
    t.push(['100k regions: usable', mb('regions_100000', 'usable_ms'), '≤ 3000 ms', v(r100.usable_ms <= 3000)]);
    t.push(['100k regions: smaps fields, from the click', mb('regions_100000', 'smaps_on_ms'), '≤ 3000 ms', v(r100.smaps_on_ms <= 3000)]);
    t.push(['100k regions: DOM nodes', r100.dom_nodes.toLocaleString('en-US'), '≤ 20,000', v(r100.dom_nodes <= 20000)]);
    t.push(['100k regions: longest task while scrolling the table', mb('regions_100000', 'longest_task_scroll_ms'), '≤ 50 ms', v(r100.longest_task_scroll_ms <= 50)]);
  }
  if (li) {
    for (const k of ['sort', 'sort_again', 'filter', 'refresh']) t.push([`process list (${li.processes}): ${k.replace('_', ' ')}`, mb('list', `${k}_ms`), '< 200 ms', v(li[`${k}_ms`] < 200)]);
    t.push(['process list: DOM nodes', li.dom_nodes.toLocaleString('en-US'), '≤ 20,000', v(li.dom_nodes <= 20000)]);
  }
  containersRows(out, t, mb, v);
  if (pm) {
    t.push(['64 GiB region page map: counts on screen', mb('pagemap', 'counts_ms'), '—', '—']);
    t.push(['64 GiB region page map: zoom (slowest of 4)', mb('pagemap', 'zoom_ms_max'), '< 100 ms', v(pm.zoom_ms_max < 100)]);
    if (pm.pan_ms_max !== undefined) t.push(['64 GiB region page map: pan (slowest of 3)', mb('pagemap', 'pan_ms_max'), '< 100 ms', v(pm.pan_ms_max < 100)]);
    t.push(['64 GiB region page map: back to the whole region', mb('pagemap', 'whole_ms'), '< 100 ms', v(pm.whole_ms < 100)]);
  }
  t.push(...diffTargets(out, mb, v));
  L.push('| target | measured | limit | verdict |', '|---|---|---|---|');
  for (const row of t) L.push(`| ${row.join(' | ')} |`);
  L.push('');
  if (li) L.push(`Process list: first row at ${ms(li.first_row_ms)}; ${li.filtered} after the filter; longest tasks: sort ${ms(li.sort_longest_task_ms)}, filter ${ms(li.filter_longest_task_ms)}, refresh ${ms(li.refresh_longest_task_ms)}; JS heap ${li.js_heap_mib} MiB. Sorting and filtering are first done on the rows in the page, then confirmed by the server's answer; the times are to the first frame after the table changed.`, '');
  if (pm) L.push(`Page map (one 64 GiB MAP_NORESERVE mapping with ${(pm.scattered_pages || 0).toLocaleString('en-US')} pages written one per equal slice, so residency is scattered over the whole region; the map showed ${(pm.present_pages || 0).toLocaleString('en-US')} present pages): map drawn at ${ms(pm.map_ms)}, zooms ${(pm.zoom_ms || []).join(', ')} ms, pans ${(pm.pan_ms || []).join(', ')} ms, longest task ${ms(pm.longest_task_ms)}, ${pm.dom_nodes.toLocaleString('en-US')} DOM nodes, JS heap ${pm.js_heap_mib} MiB.`, '');
  return L.join('\n');
}

if (process.argv[2] === '--table') {
  console.log(table(JSON.parse(fs.readFileSync(process.argv[3], 'utf8'))));
  process.exit(0);
}

main().catch(async (e) => {
  console.error(e);
  for (const c of children) await stop(c).catch(() => {});
  process.exit(1);
});

// history.test.mjs - the dashboard's history parts in a real browser against a memscoped sampling
// every second into an in-memory store (--data-dir none), with --allow-clear-refs for the working
// set: the process chart's last point equals the API's sample at that time, two snapshots taken from
// the page open a diff whose first entry is the heap the subject grew between them, the working-set
// panel lists the regions /wss measured, the Growth page lists the leaking subject with its rate, and
// a memscoped without history says why on both pages.  Any console error, page error or failed
// request (other than the expected 503s of the history-off check) fails the run.
//
//   MEMSCOPE_BIN, MEMSCOPE_SUBJECT, CHROMIUM as for dashboard.test.mjs; MEMSCOPE_HISTORY_SUBJECT
//   defaults to memscope-history-subject beside MEMSCOPE_SUBJECT.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { waitLine } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WEB = path.resolve(HERE, '../../web');
const ART = path.join(HERE, 'artifacts');
const CHROME = process.env.CHROMIUM || '/usr/bin/chromium';
const SUBJECT = process.env.MEMSCOPE_HISTORY_SUBJECT || path.join(path.dirname(process.env.MEMSCOPE_SUBJECT || ''), 'memscope-history-subject');
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync', '--disable-quic'];
const RATE = 2 * 1024 * 1024;   // the leak, bytes per second

let server, base, ctx, page, profile, subject, pid, started;
const problems = [];


async function startServer(extra) {
  const s = spawn(process.env.MEMSCOPE_BIN, ['--listen', '127.0.0.1:0', '--web-dir', WEB, '--data-dir', 'none', ...extra],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = (await waitLine(s, s.stderr, /listening on (http:\/\/127\.0\.0\.1:\d+\/)/))[1];
  s.stderr.resume();
  return [s, url];
}
async function stopServer(s) {
  if (s && s.exitCode === null) {
    s.kill('SIGTERM');
    await Promise.race([once(s, 'exit'), new Promise((r) => setTimeout(r, 3000))]);
  }
}

async function api(p, opts = {}) {
  const r = await fetch(`${base}api/v1${p}`, opts);
  const j = await r.json();
  if (!r.ok) throw new Error(`${p}: HTTP ${r.status} ${JSON.stringify(j)}`);
  return j;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const shot = (name) => page.screenshot({ path: path.join(ART, `${name}.png`), fullPage: true });
function noProblems() {
  const p = problems.splice(0);
  assert.deepEqual(p, [], `the page reported errors:\n${p.join('\n')}`);
}

before(async () => {
  fs.mkdirSync(ART, { recursive: true });
  [server, base] = await startServer(['--sample-interval', '1s', '--allow-clear-refs']);
  subject = spawn(SUBJECT, ['leak', String(RATE)], { stdio: ['pipe', 'pipe', 'inherit'] });
  pid = Number((await waitLine(subject, subject.stdout, /^ready (\d+)/))[1]);
  started = Date.now();
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'memscope-chromium-'));
  ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROME, headless: true, args: ARGS, viewport: { width: 1280, height: 900 } });
  page = ctx.pages()[0] || await ctx.newPage();
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => { if (!/ERR_ABORTED/.test(r.failure()?.errorText || '')) problems.push(`request failed: ${r.url()}`); });
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
});

after(async () => {
  if (ctx) await ctx.close();
  if (subject && subject.exitCode === null) { subject.stdin.end(); subject.kill('SIGTERM'); }
  await stopServer(server);
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

test('the process chart ends on the API\'s own sample', async () => {
  await sleep(4000);   // a few samples at 1 s
  await page.goto(`${base}#/process/${pid}`);
  await page.selectOption('#hrange', '15m');   // a 1 s step: raw samples, no averaging
  await page.waitForFunction(() => { const b = document.querySelector('#hchart'); return b && Number(b.dataset.count) >= 3 && b.querySelector('canvas'); });
  const last = JSON.parse(await page.$eval('#hchart', (b) => b.dataset.last));
  const hist = await api(`/processes/${pid}/history?since=15m&step=1s`);
  const same = hist.points.find((p) => p.t === last.t);
  assert.ok(same, `the API has a sample at the chart's last time ${last.t}`);
  for (const k of ['rss', 'pss', 'uss', 'swap']) assert.equal(last[k], same[k], `${k} at the chart's right edge`);
  assert.ok(last.rss > 0);
  await shot('history-chart');
  noProblems();
});

test('two snapshots taken from the page open a diff led by the heap the subject grew', async () => {
  const first = page.waitForResponse((r) => r.url().endsWith(`/processes/${pid}/snapshots`) && r.request().method() === 'POST');
  await page.click('#takesnap');
  const a = await (await first).json();
  await sleep(3000);   // ~6 MiB more heap
  const second = page.waitForResponse((r) => r.url().endsWith(`/processes/${pid}/snapshots`) && r.request().method() === 'POST');
  await page.click('#takesnap');
  const b = await (await second).json();
  await page.waitForSelector(`#snap-${b.id}:checked`);
  assert.ok(await page.$eval(`#snap-${a.id}`, (e) => e.checked), 'both new snapshots are chosen');
  await page.click('#opendiff');
  await page.waitForSelector('#difftable tbody tr');
  const rows = await page.$$eval('#difftable tbody tr', (trs) => trs.map((tr) => ({ ...tr.dataset })));
  const d = await api(`/processes/${pid}/diff?from=${a.id}&to=${b.id}`);
  const changed = d.regions.filter((r) => r.change !== 'same');
  assert.deepEqual(rows.map((r) => r.start), changed.map((r) => r.start), 'the page lists the changed regions in the API\'s order');
  assert.equal(rows[0].kind, 'heap');
  assert.equal(rows[0].change, 'grown');
  assert.equal(Number(rows[0].rssDelta), changed[0].delta.rss);
  assert.ok(changed[0].delta.rss >= 2 * RATE, `the heap grew by ${changed[0].delta.rss} bytes in 3 s at ${RATE} B/s`);
  assert.equal(await page.$eval('#snaplist', (u) => u.closest('section').querySelector('canvas') !== null), true);
  await page.$eval('#diffbox', (e) => e.scrollIntoView());
  await shot('history-diff');
  noProblems();
});

// Measures the working set from the panel (200 ms): the API's answer the page received.
async function measureWss() {
  await page.selectOption('#wssms', '200');
  const resp = page.waitForResponse((r) => r.url().includes(`/processes/${pid}/wss`));
  await page.click('#wssbtn');
  return (await resp).json();
}

test('the working-set panel lists what /wss measured', async () => {
  const w = await measureWss();
  await page.waitForSelector('#wsstable tbody tr');
  const rows = await page.$$eval('#wsstable tbody tr', (trs) => trs.map((tr) => ({ start: tr.dataset.start, referenced: Number(tr.dataset.referenced) })));
  const want = w.regions.filter((r) => r.rss > 0);
  assert.equal(rows.length, want.length);
  for (const r of rows) assert.equal(r.referenced, want.find((x) => x.start === r.start).referenced, r.start);
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1].referenced >= rows[i].referenced, 'most referenced first');
  await page.$eval('#wss', (e) => e.scrollIntoView());
  await shot('history-wss');
  noProblems();
});

test('the working set colours each region of the figure and the table by the share of it referenced', async () => {
  const w = await measureWss();
  // the figure shows this answer, not the one before
  await page.waitForSelector(`.aspace[data-wss-interval="${w.measured_interval_ms}"]`);
  await page.waitForSelector('#wsslegend');
  await page.waitForSelector('#regtable td[data-col=wss_ref]');
  const fig = await page.$$eval('.aspace a.region', (els) => els.map((e) => ({ start: e.dataset.start, share: e.dataset.wssShare, ref: e.dataset.wssReferenced, bg: e.querySelector('.resfill').style.background })));
  let coloured = 0;
  for (const r of w.regions) {
    const f = fig.find((x) => x.start === r.start);
    if (!f) continue;
    if (r.rss > 0) {
      assert.equal(f.share, (r.referenced / r.rss).toFixed(4), `${r.start}: the figure's share is referenced/rss of the answer`);
      assert.equal(Number(f.ref), r.referenced, `${r.start}: referenced bytes`);
      assert.notEqual(f.bg, '', `${r.start}: its resident part is coloured`);
      coloured++;
    } else {
      assert.equal(f.share, undefined, `${r.start}: nothing resident, nothing coloured`);
    }
  }
  assert.ok(coloured >= 3, `${coloured} regions of the figure coloured by their working set`);
  // the heap the subject keeps growing was referenced; the table has the same figure in its column
  const top = w.regions.filter((r) => r.rss > 0).sort((a, b) => b.referenced - a.referenced)[0];
  assert.ok(top.referenced > 0, 'something was referenced in the interval');
  await page.$eval('#regtable', (t, s) => t.dispatchEvent(new CustomEvent('reveal', { detail: s })), top.start);
  const cell = await page.waitForSelector(`#regtable tr[data-start="${top.start}"] td[data-col=wss_ref]`);
  assert.equal(Number(await cell.getAttribute('data-bytes')), top.referenced);
  await page.$eval('.aspace', (e) => e.scrollIntoView());
  await shot('history-wss-figure');
  noProblems();
});

test('the Growth page lists the leaking subject at its rate, and the system chart draws', async () => {
  const wait = 20000 - (Date.now() - started);   // the fit needs points over half the 30 s window
  if (wait > 0) await sleep(wait);
  await page.goto(`${base}#/growth`);
  await page.selectOption('#gwindow', '30s');
  const row = await page.waitForSelector(`#growthtable tr[data-pid="${pid}"]`, { timeout: 15000 });
  const slope = Number(await row.getAttribute('data-slope'));
  assert.ok(Math.abs(slope - RATE) <= 0.1 * RATE, `slope ${slope} within 10% of ${RATE}`);
  assert.match(await row.innerText(), /heap/);
  assert.equal(await row.$eval('a', (a) => a.getAttribute('href')), `#/process/${pid}`);
  await page.waitForSelector('#syschart canvas');
  const last = JSON.parse(await page.$eval('#syschart', (b) => b.dataset.last));
  assert.ok(last.mem_total > 0 && last.mem_available > 0);
  await shot('history-growth');
  noProblems();
});

test('without history both pages say why instead of breaking', async () => {
  // a store that cannot be opened: the history routes answer 503
  const [bad, badBase] = await startServer(['--data-dir', '/proc/memscope-no-such-dir']);
  try {
    await page.goto(`${badBase}#/process/${pid}`);
    await page.waitForSelector('#hnote .msg');
    assert.match(await page.$eval('#hnote', (e) => e.textContent), /History is unavailable on this memscoped: .*cannot create the data directory/);
    assert.ok(await page.$('#regtable tbody tr'), 'the rest of the process page is there');
    await shot('history-unavailable');
    await page.goto(`${badBase}#/growth`);
    await page.waitForSelector('#gnote .msg');
    assert.match(await page.$eval('#gnote', (e) => e.textContent), /History is unavailable/);
  } finally {
    await stopServer(bad);
  }
  // the sampler off: no curve, and the page says so
  const [off, offBase] = await startServer(['--sample-interval', '0']);
  try {
    await page.goto(`${offBase}#/process/${pid}`);
    await page.waitForSelector('#hnote .msg');
    assert.match(await page.$eval('#hnote', (e) => e.textContent), /History is off: .*--sample-interval 0/);
  } finally {
    await stopServer(off);
  }
  // the only failed requests are the history routes' 503s and the 404 of a process never sampled
  // (chromium also logs each as "Failed to load resource", without its address)
  const all = problems.splice(0);
  const expected = all.filter((p) => /^HTTP (503|404): .*\/api\/v1\/(processes\/\d+\/history|snapshots|growth|system\/history)/.test(p));
  const logged = all.filter((p) => /^console: Failed to load resource: .* status of (503|404)/.test(p));
  assert.equal(logged.length, expected.length, 'one console line per expected failure');
  const rest = all.filter((p) => !expected.includes(p) && !logged.includes(p));
  assert.deepEqual(rest, []);
});

// dashboard.test.mjs - the dashboard in a real browser (Debian's chromium through playwright-core)
// against a real memscoped on loopback and a memscope-subject with known memory.  Every number the
// page shows is compared with the API's own answer, fetched by the test; any console error, page
// error or failed request fails the run (except the ones a test provokes on purpose).  Screenshots of
// every view go to artifacts/.
//
//   MEMSCOPE_BIN      the built memscoped          (required)
//   MEMSCOPE_SUBJECT  the built memscope-subject   (required)
//   CHROMIUM          the browser (default /usr/bin/chromium)
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
const BIN = process.env.MEMSCOPE_BIN;
const SUBJECT = process.env.MEMSCOPE_SUBJECT;
const CHROME = process.env.CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync', '--disable-quic'];
const PS = 4096;

let server, subject, subjectInfo, base, ctx, page, profile;
const children = [];
const problems = [];   // console errors, page errors, failed requests, HTTP errors not expected
let expected = [];     // [RegExp] for errors a test provokes on purpose

function must(v, name) {
  if (!v) throw new Error(`${name} is not set: point it at the built binary (ctest sets it; see tests/browser/run.sh)`);
  return v;
}

// Reads lines from a stream until one matches; rejects on exit or timeout.

async function startSubject(args) {
  const p = spawn(must(SUBJECT, 'MEMSCOPE_SUBJECT'), args, { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(p);
  const m = await waitLine(p, p.stdout, /^(\{.*\})$/);
  return { proc: p, info: JSON.parse(m[1]) };
}

async function api(p) {
  const r = await fetch(`${base}api/v1${p}`);
  const j = await r.json();
  if (!r.ok) throw new Error(`${p}: HTTP ${r.status} ${JSON.stringify(j)}`);
  return j;
}

const hex = (n) => `0x${BigInt(n).toString(16)}`;
const shot = (name) => page.screenshot({ path: path.join(ART, `${name}.png`), fullPage: true });
const dataBytes = (sel) => page.$eval(sel, (e) => e.dataset.bytes === '' ? null : Number(e.dataset.bytes));

before(async () => {
  fs.mkdirSync(ART, { recursive: true });
  // 4096 pages: 1024 written, 512 only read (zero page), the rest untouched; and a 1 MiB malloc.
  ({ proc: subject, info: subjectInfo } = await startSubject(['--pages', '4096', '--write', '1024', '--read', '512', '--heap', '1M', '--heap-write', '256K']));
  server = spawn(must(BIN, 'MEMSCOPE_BIN'), ['--listen', '127.0.0.1:0', '--web-dir', WEB, '--log-level', 'info', '--data-dir', 'none'], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(server);
  const m = await waitLine(server, server.stderr, /listening on (http:\/\/127\.0\.0\.1:\d+\/)/);
  base = m[1];
  server.stderr.resume();
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'memscope-chromium-'));
  ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROME, headless: true, args: ARGS, viewport: { width: 1280, height: 900 } });
  page = ctx.pages()[0] || await ctx.newPage();
  // A memscoped without /maps?rss=1 answers it 400 unknown_query_field, and the page falls back to /maps.
  const fallback = /status of 400.*\/maps\?rss=1$|^HTTP 400: .*\/maps\?rss=1$/;
  const bad = (what) => { if (!fallback.test(what) && !expected.some((re) => re.test(what))) problems.push(what); };
  page.on('console', (msg) => { if (msg.type() === 'error') bad(`console: ${msg.text()} @ ${msg.location().url}`); });
  page.on('pageerror', (e) => bad(`page error: ${e.message}`));
  page.on('requestfailed', (r) => { if (!/ERR_ABORTED/.test(r.failure()?.errorText || '')) bad(`request failed: ${r.url()} ${r.failure()?.errorText}`); });
  page.on('response', (r) => { if (r.status() >= 400) bad(`HTTP ${r.status()}: ${r.url()}`); });
});

after(async () => {
  if (ctx) await ctx.close();
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGTERM');
      await Promise.race([once(c, 'exit'), new Promise((r) => setTimeout(r, 3000))]);
    }
  }
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

function noProblems() {
  const p = problems.splice(0);
  assert.deepEqual(p, [], `the page reported errors:\n${p.join('\n')}`);
}

test('the process list shows the machine totals and the subject with the API\'s sizes', async () => {
  await page.goto(base);
  await page.waitForSelector('#proctable tbody tr');
  const sys = await api('/system');
  assert.equal(await dataBytes('.stat[data-key=MemTotal]'), sys.meminfo.MemTotal);
  const name = path.basename(SUBJECT);   // matches the command line (the name is cut to 15 bytes)
  await page.fill('#q', name);
  await page.waitForSelector('#pcount:text-matches("matching")');
  const pid = subjectInfo.pid;
  await page.waitForSelector(`#proctable tr[data-pid="${pid}"]`);
  const list = await api(`/processes?q=${encodeURIComponent(name)}`);
  const me = list.processes.find((p) => p.pid === pid);
  assert.ok(me, 'the API lists the subject');
  const row = `#proctable tr[data-pid="${pid}"]`;
  const cells = await page.$$eval(`${row} td.barcell`, (tds) => tds.map((t) => Number(t.dataset.bytes)));
  assert.deepEqual(cells, [me.vm_size, me.vm_rss]);
  assert.equal(await page.$eval(`${row} td.name a`, (a) => a.getAttribute('href')), `#/process/${pid}`);
  await shot('processes');
  // sorting by a column asks the server again and marks the header
  await page.click('#proctable th:nth-child(6) button');
  await page.waitForSelector('#proctable th:nth-child(6)[aria-sort]:not([aria-sort=none])');
  noProblems();
});

test('index.html preloads exactly the modules the page imports', async () => {
  // a module missing from the list still loads, one import level later: this keeps the list whole
  const fresh = await ctx.newPage();
  await fresh.goto(base);
  await fresh.waitForSelector('#proctable tbody tr');
  const loaded = await fresh.evaluate(() => performance.getEntriesByType('resource')
    .map((e) => new URL(e.name).pathname).filter((p) => p.endsWith('.js')));
  const preloaded = await fresh.$$eval('link[rel=modulepreload]', (ls) => ls.map((l) => new URL(l.href).pathname));
  await fresh.close();
  const imported = [...new Set(loaded)].filter((p) => p !== '/js/main.js' && p !== '/js/apiworker.js').sort();
  assert.ok(imported.length > 10, `the page loaded ${imported.length} modules`);
  assert.deepEqual([...preloaded].sort(), imported);
});

test('a process: totals equal the API, the figure places the subject\'s area, the table has every region', async () => {
  const pid = subjectInfo.pid;
  // PSS moves whenever another process maps or drops a shared library page, so the page's figures are
  // compared with the very answer it drew from, and the stable ones with a fresh fetch as well.
  const answer = page.waitForResponse((r) => r.url().endsWith(`/api/v1/processes/${pid}`));
  const asked = [];
  const onRequest = (r) => { if (r.url().includes('/api/v1/')) asked.push(new URL(r.url()).pathname + new URL(r.url()).search); };
  page.on('request', onRequest);
  await page.goto(`${base}#/process/${pid}`);
  const drawn = await (await answer).json();
  await page.waitForSelector('.aspace .region');
  // the table paints from the regions with their resident bytes: smaps is not read until asked for
  await page.waitForSelector('#regtable[data-source=maps] tbody tr[data-start]');
  const p = await api(`/processes/${pid}`);
  const sm = await api(`/processes/${pid}/smaps`);
  assert.equal(await dataBytes('.stat[data-key=VmSize]'), p.status.vm_size);
  assert.equal(await dataBytes('.stat[data-key=VmRSS]'), p.status.vm_rss);
  assert.ok(p.status.vm_size > 0 && p.status.vm_rss > 0, 'the status block names its figures vm_size and vm_rss');
  assert.equal(await dataBytes('.stat[data-key=VmSwap]'), p.status.vm_swap);
  assert.equal(await dataBytes('.stat[data-key=Uss]'), drawn.uss);
  assert.equal(await dataBytes('.stat[data-key=Pss]'), drawn.rollup.pss);
  // what other processes cannot move (the subject holds still) is the same in a fresh fetch
  assert.equal(drawn.rollup.rss, p.rollup.rss, `RSS drawn ${drawn.rollup.rss}, now ${p.rollup.rss}`);
  assert.equal(drawn.rollup.anonymous, p.rollup.anonymous, 'anonymous drawn, and now');
  // the table holds every region, though it draws only the rows in view
  assert.equal(await page.$eval('#regtable', (t) => Number(t.dataset.count)), sm.count);
  const area = subjectInfo.area;
  const reg = sm.regions.find((r) => r.start === area);
  assert.ok(reg, `smaps has the subject's area ${area}`);
  // the written pages are resident: the table and the figure both say so, in the API's bytes
  // 1024 pages written, 512 only read: those are resident too where a read fault maps a real page
  const zeroOnRead = (await api('/health')).can_see.read_fault_zero_page;
  assert.equal(reg.fields.rss, (zeroOnRead ? 1024 : 1024 + 512) * PS);
  await page.$eval('#regtable', (t, a) => t.dispatchEvent(new CustomEvent('reveal', { detail: a })), area);
  const rssCell = await page.$eval(`#regtable tr[data-start="${area}"] td[data-col=rss]`, (td) => Number(td.dataset.bytes));
  assert.equal(rssCell, reg.fields.rss, 'the resident bytes from the page tables are smaps\' Rss');
  assert.equal(await page.$(`#regtable tr[data-start="${area}"] td[data-col=pss]`), null, 'no smaps column before it is asked for');
  assert.ok(await page.$(`.aspace a.region[data-start="${area}"]`), 'the figure draws the area');
  for (const k of ['Kernel space', 'Stack', 'Memory-mapping area', 'Heap', 'Text'])
    assert.ok(await page.$(`.aspace .area-head strong:text-is("${k}")`), `the figure names ${k}`);
  assert.ok(await page.$('.aspace .mark .markname:text-is("brk")'), 'the figure marks brk');
  await shot('process');
  // group by path: one row per path, as the API groups them, summed here from the same regions
  await page.check('#group');
  const g = await api(`/processes/${pid}/smaps?group=path`);
  await page.waitForFunction((n) => document.querySelectorAll('#regtable tbody tr[data-path]').length === n, g.groups.length);
  const heapG = g.groups.find((x) => x.path === '[heap]');
  assert.ok(heapG, 'the API groups the heap');
  const heapRow = `#regtable tr[data-path="[heap]"]`;
  assert.equal(await page.$eval(`${heapRow} td[data-col=size]`, (td) => Number(td.dataset.bytes)), heapG.size);
  assert.equal(await page.$eval(`${heapRow} td[data-col=rss]`, (td) => Number(td.dataset.bytes)), heapG.fields.rss);
  await page.uncheck('#group');
  await page.waitForSelector('#regtable tbody tr[data-start]');
  assert.deepEqual(asked.filter((u) => u.includes('/smaps')), [], 'the page read no smaps');
  assert.ok(asked.some((u) => u.endsWith(`/processes/${pid}/maps?rss=1&layout=rows`)), `the page read the regions in rows: ${asked.join(', ')}`);
  // smaps' fields on request: every field of every region, the area's the API's; then the paths
  await page.check('#smapsf');
  await page.waitForSelector('#regtable[data-source=smaps] tbody tr[data-start]');
  assert.ok(asked.some((u) => u.endsWith(`/processes/${pid}/smaps?layout=rows`)), 'smaps is read once asked for');
  await page.$eval('#regtable', (t, a) => t.dispatchEvent(new CustomEvent('reveal', { detail: a })), area);
  const sm2 = await api(`/processes/${pid}/smaps?start=${area}&end=${hex(BigInt(area) + 1n)}`);
  // (the table draws only the columns in view: these two are)
  for (const k of ['rss', 'pss'])
    assert.equal(await page.$eval(`#regtable tr[data-start="${area}"] td[data-col=${k}]`, (td) => Number(td.dataset.bytes)), sm2.regions[0].fields[k], k);
  assert.equal(await page.$eval('#regtable', (t) => Number(t.dataset.count)), sm.count);
  await page.check('#group');
  await page.waitForFunction((n) => document.querySelectorAll('#regtable tbody tr[data-path]').length === n && document.querySelector('#regtable[data-source=smaps]'), g.groups.length);
  assert.ok(await page.$(`${heapRow} td[data-col=pss]`), 'the groups have smaps\' fields');
  await page.uncheck('#group');
  // the choice is kept for the next process page; turned off, the page reads the cheap answer again
  await page.reload();
  await page.waitForSelector('#regtable[data-source=smaps] tbody tr[data-start]');
  assert.equal(await page.$eval('#smapsf', (e) => e.checked), true);
  await page.uncheck('#smapsf');
  await page.waitForSelector('#regtable[data-source=maps] tbody tr[data-start]');
  page.off('request', onRequest);
  // filter narrows the rows
  await page.fill('#rfilter', '[stack]');
  await page.waitForFunction(() => document.querySelectorAll('#regtable tbody tr[data-start]').length === 1);
  noProblems();
});

test('a region\'s page map: counts equal the API, hover shows page number + offset and the frame', async () => {
  const pid = subjectInfo.pid;
  const area = subjectInfo.area;
  const regionAsked = [];
  const onRegionRequest = (r) => { const u = new URL(r.url()); if (/\/(s?maps)$/.test(u.pathname)) regionAsked.push(u.pathname + u.search); };
  page.on('request', onRegionRequest);
  await page.goto(`${base}#/process/${pid}/region/${area}`);
  await page.waitForSelector('.stat[data-key=present]');
  const end = hex(BigInt(area) + 4096n * BigInt(PS));
  const pm = await api(`/processes/${pid}/pagemap?start=${area}&end=${end}`);
  const shown = await page.$$eval('.stat[data-key]', (els) => Object.fromEntries(els.map((e) => [e.dataset.key, e.dataset.value === '' ? null : Number(e.dataset.value)])));
  for (const k of ['pages', 'present', 'zero_page', 'swapped', 'file_or_shared', 'exclusive', 'huge'])
    assert.equal(shown[k], pm.counts[k], `count ${k}`);
  assert.equal(pm.counts.pages, 4096);
  // the map draws every page in the state the runs give it: here written (anon) and read-only (zero page)
  const drawn = JSON.parse(await page.$eval('#pagemap', (c) => c.dataset.states));
  const fromRuns = {};
  for (const [a, b, st] of pm.runs) fromRuns[st] = (fromRuns[st] || 0) + Number((BigInt(b) - BigInt(a)) / BigInt(PS));
  assert.deepEqual(drawn, fromRuns);
  // where a read fault maps a real page instead of the zero page (can_see.read_fault_zero_page), none is
  if (pm.counts.zero_page !== null) {
    const zeroOnRead = (await api('/health')).can_see.read_fault_zero_page;
    assert.equal(drawn.zero || 0, zeroOnRead ? 512 : 0, 'the 512 read pages are drawn as the zero page where they are one');
  }
  assert.ok(pm.counts.present >= 1024, 'the written pages are present');
  // the region's smaps figures: the API's for this region alone, read without the whole of smaps
  await page.waitForSelector('#regsmaps .kv[data-key=rss]');
  const one = await api(`/processes/${pid}/smaps?start=${area}&end=${hex(BigInt(area) + 1n)}`);
  assert.equal(one.count, 1);
  assert.equal(one.regions[0].start, area);
  for (const k of ['rss', 'private_dirty', 'anonymous', 'swap'])
    assert.equal(await page.$eval(`#regsmaps .kv[data-key=${k}]`, (e) => Number(e.dataset.value)), one.regions[0].fields[k], k);
  assert.ok(regionAsked.length && regionAsked.every((u) => /[?&]start=/.test(u)), `the page read its region alone: ${regionAsked.join(', ')}`);
  page.off('request', onRegionRequest);
  await shot('region');
  // zoom in to single pages with the keyboard, then hover the first page
  await page.focus('#pagemap');
  for (let i = 0; i < 4; i++) await page.keyboard.press('+');
  await page.waitForFunction(() => /one page per cell/.test(document.getElementById('viewinfo').textContent));
  const box = await page.$eval('#pagemap', (c) => { const r = c.getBoundingClientRect(); return { x: r.left, y: r.top }; });
  const info = await page.$eval('#viewinfo', (e) => e.textContent);
  const first = BigInt(info.match(/\((0x[0-9a-f]+)–/)[1]);
  await page.mouse.move(box.x + 1, box.y + 3);
  await page.waitForSelector('#readout .pn');
  assert.equal(await page.$eval('#readout .pn', (e) => e.textContent), hex(first / BigInt(PS)));
  const health = await api('/health');
  const fr = await api(`/processes/${pid}/pagemap?start=${hex(first)}&end=${hex(first + BigInt(PS))}&frames=1&runs=0`);
  const f = fr.frames[0];
  if (f.present && f.pfn !== null) {
    await page.waitForSelector('#readout .frame');
    const text = await page.$eval('#readout .frame', (e) => e.textContent);
    assert.ok(text.includes(hex(f.pfn)), `readout shows pfn ${hex(f.pfn)}: ${text}`);
    assert.ok(text.includes(f.phys_addr), `readout shows ${f.phys_addr}: ${text}`);
  } else {
    assert.equal(health.can_see.pfn && f.present, false, 'a present page with pfn readable has a pfn');
  }
  await shot('region-zoomed');
  noProblems();
});

test('address translation shows the API\'s page number, offset, frame and physical address', async () => {
  const pid = subjectInfo.pid;
  const addr = hex(BigInt(subjectInfo.area) + 5n * BigInt(PS) + 0x123n);
  await page.goto(`${base}#/process/${pid}/translate/${addr}`);
  await page.waitForSelector('#xlate');
  const t = await api(`/processes/${pid}/translate?addr=${addr}`);
  const text = (k) => page.$eval(`#xlate [data-key=${k}]`, (e) => e.textContent);
  assert.equal(await text('addr'), t.addr);
  assert.equal(await text('page_number'), t.page_number_hex);
  assert.equal(await text('page_offset'), t.page_offset_hex);
  assert.equal(await text('phys_addr'), t.phys_addr || '—');
  if (t.page.pfn !== null) assert.equal(await text('pfn'), hex(t.page.pfn));
  // addresses worth trying, one per main area of this process: the heap's is in its heap
  const heap = (await api(`/processes/${pid}/maps`)).regions.find((r) => r.kind === 'heap');
  const pick = await page.waitForSelector('a.button:text-matches("^heap: ")');
  const picked = BigInt((await pick.getAttribute('href')).split('/').pop());
  assert.ok(picked >= BigInt(heap.start) && picked < BigInt(heap.end), `the heap's pick ${hex(picked)} is in ${heap.start}-${heap.end}`);
  await shot('translate');
  // typing an address and pressing Enter translates it
  const other = hex(BigInt(subjectInfo.area) + 0x2345n);
  await page.fill('#addr', other);
  await page.press('#addr', 'Enter');
  await page.waitForFunction((a) => document.querySelector('#xlate [data-key=addr]')?.textContent === a, other);
  const t2 = await api(`/processes/${pid}/translate?addr=${other}`);
  assert.equal(await text('page_offset'), t2.page_offset_hex);
  // a malformed address is a message, not a blank page
  await page.fill('#addr', 'not-an-address');
  await page.press('#addr', 'Enter');
  await page.waitForSelector('#tout .msg.error');
  noProblems();
});

test('the seed-1gib experiment makes the point: VmSize grows by 1 GiB, VmRSS barely moves', async () => {
  const r = await fetch(`${base}api/v1/experiments/presets`);
  assert.equal(r.status, 200, 'the experiments API answers');
  const presets = await r.json();
  assert.ok(JSON.stringify(presets).includes('seed-1gib'));
  await page.goto(`${base}#/experiments`);
  await page.waitForSelector('#preset-seed-1gib');
  await page.check('#preset-seed-1gib');
  await page.waitForSelector('#lesson h3');
  await shot('experiments');
  await page.click('#runpreset');
  await page.waitForFunction(() => /^#\/experiments\/[\w.-]+$/.test(location.hash));
  const id = page.url().split('/').pop();
  await page.waitForSelector('#xstate:text-matches("holding|done")', { timeout: 60000 });
  await page.waitForSelector('#xchart .uplot canvas');
  const run = await api(`/experiments/${id}`);
  const lines = run.lines || [];
  const start = lines.find((l) => l.type === 'start');
  const steps = lines.filter((l) => l.type === 'step');
  assert.ok(start && steps.length >= 1, 'the run has a start and a step');
  const last = steps[steps.length - 1];
  const dv = last.status.vm_size - start.status.vm_size, dr = last.status.vm_rss - start.status.vm_rss;
  assert.equal(await dataBytes('#headline [data-key=dVmSize]'), dv);
  assert.equal(await dataBytes('#headline [data-key=dVmRss]'), dr);
  assert.ok(dv >= 2 ** 30, `VmSize grew by at least 1 GiB (${dv})`);
  assert.ok(dr < dv / 100, `VmRSS grew by under 1% of that (${dr})`);
  const rows = await page.$$eval('#xsteps tbody tr[data-step]', (trs) => trs.map((tr) => Number(tr.querySelector('[data-key=vmSize]').dataset.bytes)));
  assert.deepEqual(rows, steps.map((s) => s.status.vm_size));
  await shot('experiment-seed-1gib');
  noProblems();
});

test('a process that exits while shown says so; an unknown one is a message, not a blank page', async () => {
  const { proc, info } = await startSubject(['--pages', '16', '--write', '4']);
  await page.goto(`${base}#/process/${info.pid}`);
  await page.waitForSelector('.aspace .region');
  expected = [new RegExp(`/api/v1/processes/${info.pid}\\b`), /status of 404/, /99999999/];
  proc.stdin.end();   // the subject exits when its stdin closes
  await once(proc, 'exit');
  await page.click('#refresh');
  await page.waitForSelector('.msg.gone');
  assert.match(await page.$eval('.msg.gone', (e) => e.textContent), new RegExp(`Process ${info.pid} has exited`));
  assert.ok(await page.$('.aspace .region'), 'the last reading stays on screen');
  await shot('process-exited');
  await page.goto(`${base}#/process/99999999`);
  await page.waitForSelector('main .msg');
  await page.waitForTimeout(200);
  expected = [];
  problems.splice(0);   // only the provoked 404s can be here; the next test checks the rest
});

test('phone width: the process view fits the screen and stays usable', async () => {
  const pid = subjectInfo.pid;
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${base}#/process/${pid}`);
  await page.waitForSelector('.aspace .region');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no sideways scrolling of the page (${overflow}px too wide)`);
  await shot('process-phone');
  await page.goto(base);
  await page.waitForSelector('#proctable tbody tr');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth) <= 1);
  await shot('processes-phone');
  await page.setViewportSize({ width: 1280, height: 900 });
  noProblems();
});

test('keyboard: the process list, a process and its page map are reachable without a mouse', async () => {
  await page.goto(base);
  await page.fill('#q', path.basename(SUBJECT));
  await page.waitForSelector('#pcount:text-matches("matching")');   // the filtered list, not the first one
  await page.waitForSelector(`#proctable tr[data-pid="${subjectInfo.pid}"] a`);
  await page.focus('#skip');   // the first stop on the page
  // Tab from the top reaches the search box, then the subject's link
  const seen = new Set();
  const target = `#/process/${subjectInfo.pid}`;
  for (let i = 0; i < 200 && !seen.has(target); i++) {
    await page.keyboard.press('Tab');
    seen.add(await page.evaluate(() => document.activeElement.id || document.activeElement.getAttribute('href') || document.activeElement.tagName));
  }
  assert.ok(seen.has('q') && seen.has(target), `tab order reached ${[...seen].join(', ')}`);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /^#\/process\/\d+$/.test(location.hash));
  await page.waitForSelector('#regtable tbody tr a');
  // from a region link in the table to its page map, and zoom with the keyboard
  await page.focus(`#regtable tr[data-start="${subjectInfo.area}"] a`);
  await page.keyboard.press('Enter');
  await page.waitForSelector('.stat[data-key=present]');
  await page.focus('#pagemap');
  await page.keyboard.press('+');
  await page.waitForFunction(() => !/pages 0–4,095 of/.test(document.getElementById('viewinfo').textContent), null, { timeout: 3000 });
  noProblems();
});

// scale.test.mjs - the dashboard with a process of 10,000 regions, in a real browser against a real
// memscoped: the process page renders, stays under its bound of DOM nodes (it draws only the table
// rows in view and folds runs of small regions in the figure), and its table reaches the last region
// by scrolling.  Same environment as dashboard.test.mjs (MEMSCOPE_BIN, MEMSCOPE_SUBJECT, CHROMIUM).
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
const CHROME = process.env.CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync', '--disable-quic'];
const REGIONS = 10000;
const NODE_BOUND = 20000;

let server, subject, info, base, ctx, page, profile;
const children = [];
const problems = [];


before(async () => {
  for (const v of ['MEMSCOPE_BIN', 'MEMSCOPE_SUBJECT']) if (!process.env[v]) throw new Error(`${v} is not set (see tests/browser/run.sh)`);
  subject = spawn(process.env.MEMSCOPE_SUBJECT, ['--regions', String(REGIONS), '--pages', '1024', '--write', '16'], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(subject);
  info = JSON.parse((await waitLine(subject, subject.stdout, /^(\{.*\})$/, 30000))[1]);
  server = spawn(process.env.MEMSCOPE_BIN, ['--listen', '127.0.0.1:0', '--web-dir', WEB, '--log-level', 'info', '--data-dir', 'none'], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(server);
  base = (await waitLine(server, server.stderr, /listening on (http:\/\/127\.0\.0\.1:\d+\/)/, 30000))[1];
  server.stderr.resume();
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'memscope-chromium-'));
  ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROME, headless: true, args: ARGS, viewport: { width: 1280, height: 900 } });
  page = ctx.pages()[0] || await ctx.newPage();
  page.on('console', (msg) => { if (msg.type() === 'error' && !/status of 400/.test(msg.text())) problems.push(`console: ${msg.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // a memscoped without /maps?rss=1 answers it 400 unknown_query_field, and the page falls back to /maps
  page.on('response', (r) => { if (r.status() >= 400 && !(r.status() === 400 && /\/maps\?rss=1$/.test(r.url()))) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
});

after(async () => {
  if (ctx) await ctx.close();
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGTERM');
      await Promise.race([once(c, 'exit'), new Promise((r) => setTimeout(r, 3000))]);
    }
  }
  if (profile) fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

const domNodes = () => page.evaluate(() => {
  const it = document.createNodeIterator(document, NodeFilter.SHOW_ALL);
  let n = 0;
  while (it.nextNode()) n++;
  return n;
});

test('a 10,000-region process: the page renders, stays under the node bound, and scrolls to its last region', async () => {
  const maps = await (await fetch(`${base}api/v1/processes/${info.pid}/maps`)).json();
  assert.ok(maps.count >= REGIONS, `the subject has ${maps.count} regions`);
  await page.goto(`${base}#/process/${info.pid}`);
  await page.waitForSelector('#regtable[data-source=maps] tbody tr[data-start]', { timeout: 120000 });
  await page.waitForSelector('.aspace .region');
  assert.equal(await page.$eval('#regtable', (t) => Number(t.dataset.count)), maps.count, 'the table holds every region');
  assert.equal(await page.$eval('.aspace', (e) => Number(e.dataset.regions)), maps.count, 'the figure is drawn from every region');
  // the subject's one-page regions are folded, and its own area is still a region of its own
  assert.ok(await page.$('.aspace .region.fold'), 'runs of small regions are folded');
  assert.ok(await page.$(`.aspace a.region[data-start="${info.area}"]`), 'the subject\'s area is drawn');
  let n = await domNodes();
  assert.ok(n <= NODE_BOUND, `${n} DOM nodes after loading (bound ${NODE_BOUND})`);
  // scroll the table to its end: the last region's row is drawn, with its resident bytes
  const last = maps.regions[maps.regions.length - 1];
  await page.$eval('#regwrap', (e) => { e.scrollTop = e.scrollHeight; });
  await page.waitForSelector(`#regtable tr[data-start="${last.start}"] td[data-col=rss]`);
  assert.ok(!(await page.$(`#regtable tr[data-start="${maps.regions[0].start}"]`)), 'the rows scrolled away are not drawn');
  // and back up with the wheel, row by row, still under the bound
  await page.hover('#regwrap');
  for (let i = 0; i < 10; i++) await page.mouse.wheel(0, -2000);
  n = await domNodes();
  assert.ok(n <= NODE_BOUND, `${n} DOM nodes after scrolling (bound ${NODE_BOUND})`);
  // opening a fold draws its members a page at a time, not all of them
  await page.click('.aspace .region.fold > .foldbtn');
  await page.waitForSelector('.aspace .region.fold.open .foldbody a.region');
  n = await domNodes();
  assert.ok(n <= NODE_BOUND, `${n} DOM nodes with a fold open (bound ${NODE_BOUND})`);
  // smaps' fields on request: every region, with a PSS column, still under the bound
  await page.check('#smapsf');
  await page.waitForSelector('#regtable[data-source=smaps] tbody tr[data-start] td[data-col=pss]', { timeout: 120000 });
  assert.equal(await page.$eval('#regtable', (t) => Number(t.dataset.count)), maps.count, 'the table holds every region from smaps');
  n = await domNodes();
  assert.ok(n <= NODE_BOUND, `${n} DOM nodes with smaps' fields (bound ${NODE_BOUND})`);
  await page.uncheck('#smapsf');
  await page.waitForSelector('#regtable[data-source=maps] tbody tr[data-start]');
  assert.deepEqual(problems.splice(0), []);
});

test('a 64 GiB region with scattered residency: its page map is drawn from runs, zooms and pans', async () => {
  const SCATTER = 2000;
  const big = spawn(process.env.MEMSCOPE_SUBJECT, ['--heap', String(64 * 2 ** 30), '--heap-noreserve', '1', '--heap-scatter', String(SCATTER)], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(big);
  const bi = JSON.parse((await waitLine(big, big.stdout, /^(\{.*\})$/, 30000))[1]);
  assert.equal(bi.heap_scattered, SCATTER);
  const pages = 64 * 2 ** 30 / bi.page_size;
  await page.goto(`${base}#/process/${bi.pid}/region/${bi.heap}`);
  await page.waitForSelector('#pagemap[data-states]', { timeout: 60000 });
  // the whole region: every written page private and present, scattered among the absent ones
  assert.equal(await page.$eval('.stat[data-key=present]', (e) => Number(e.dataset.value)), SCATTER);
  let states = JSON.parse(await page.$eval('#pagemap', (c) => c.dataset.states));
  assert.deepEqual(states, { absent: pages - SCATTER, anon: SCATTER }, 'the map tallies the whole region from its runs');
  // the runs are scattered: the map is not one resident stretch (a pixel row has both colours)
  const mixed = await page.$eval('#pagemap', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, 2).data;
    const seen = new Set();
    for (let i = 0; i < d.length; i += 4) seen.add(`${d[i]},${d[i + 1]},${d[i + 2]}`);
    return seen.size;
  });
  assert.ok(mixed >= 2, `the first row of cells has ${mixed} colours`);
  // zoom in twice and pan once: the caption and the tally follow the view
  const view = () => page.$eval('#viewinfo', (e) => e.textContent);
  await page.focus('#pagemap');
  for (const k of ['+', '+']) {
    const before = await view();
    await page.keyboard.press(k);
    await page.waitForFunction((b) => document.getElementById('viewinfo').textContent !== b, before);
  }
  states = JSON.parse(await page.$eval('#pagemap', (c) => c.dataset.states));
  const inView = (states.absent || 0) + (states.anon || 0);
  assert.equal(inView, pages / 16, 'two zooms by 4 show a sixteenth of the region');
  assert.ok((states.anon || 0) > 0 && states.anon < SCATTER, `${states.anon} written pages in view`);
  const before = await view();
  await page.click('#pmnext');
  await page.waitForFunction((b) => document.getElementById('viewinfo').textContent !== b, before);
  assert.match(await view(), /pages [\d,]+–[\d,]+ of/);
  const n = await domNodes();
  assert.ok(n <= NODE_BOUND, `${n} DOM nodes on the page map`);
  assert.deepEqual(problems.splice(0), []);
  big.stdin.end();
});

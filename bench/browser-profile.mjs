// browser-profile.mjs - where the dashboard's main thread spends its time: opens one page of the
// browser benchmark's (a process page of N regions, or the process list) in headless Chromium under
// the V8 CPU profiler and prints the functions with the most self time, by file and line, with the
// time in the main thread's tasks (Chromium's own parsing, layout and GC show as "(program)" and
// "(garbage collector)").  Complements bench/browser.mjs, which times; this says why.
//
//   MEMSCOPE_BIN=build/server/memscoped MEMSCOPE_SUBJECT=build/tests/memscope-subject \
//     node bench/browser-profile.mjs regions 10000 | list | sort
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(HERE, '../tests/browser/package.json'));
const { chromium } = require('playwright-core');
const WEB = path.resolve(HERE, '../web');
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-sync'];
const [what = 'regions', nArg = '10000'] = process.argv.slice(2);
const kids = [];

function line(stream, re) {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input: stream });
    rl.on('line', (l) => { const m = l.match(re); if (m) { rl.removeAllListeners('line'); resolve(m); } });
  });
}

function summary(profile, top = 25) {
  const self = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const dt = profile.timeDeltas;
  let total = 0;
  profile.samples.forEach((id, i) => {
    const n = byId.get(id);
    const f = n.callFrame;
    const name = `${f.functionName || '(anonymous)'} ${f.url ? `${f.url.replace(/^.*\/js\//, '')}:${f.lineNumber + 1}` : ''}`;
    const d = (dt[i] || 0) / 1000;
    total += d;
    if (f.functionName !== '(idle)') self.set(name, (self.get(name) || 0) + d);
  });
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  return [`busy ${Math.round([...self.values()].reduce((a, b) => a + b, 0))} ms of ${Math.round(total)} ms`, ...rows.map(([k, v]) => `${v.toFixed(1).padStart(8)} ms  ${k}`)].join('\n');
}

async function main() {
  const server = spawn(process.env.MEMSCOPE_BIN, ['--listen', '127.0.0.1:0', '--web-dir', WEB, '--data-dir', 'none'], { stdio: ['ignore', 'ignore', 'pipe'] });
  kids.push(server);
  const base = (await line(server.stderr, /listening on (http:\/\/127\.0\.0\.1:\d+\/)/))[1];
  server.stderr.resume();
  let url = base;
  if (what === 'regions') {
    const subj = spawn(process.env.MEMSCOPE_SUBJECT, ['--regions', nArg, '--pages', '256', '--write', '64'], { stdio: ['pipe', 'pipe', 'inherit'] });
    kids.push(subj);
    url = `${base}#/process/${JSON.parse((await line(subj.stdout, /^(\{.*\})$/))[1]).pid}`;
  }
  const profDir = fs.mkdtempSync(path.join(os.tmpdir(), 'memscope-prof-'));
  const ctx = await chromium.launchPersistentContext(profDir, { executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ARGS, viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  // the renderer's own work (style, layout, paint) from Chromium's timeline trace, by event name
  const events = [];
  cdp.on('Tracing.dataCollected', (m) => events.push(...m.value));
  const section = async (name, act) => {
    events.length = 0;
    await cdp.send('Tracing.start', { categories: 'devtools.timeline,blink', transferMode: 'ReportEvents' });
    await cdp.send('Profiler.start');
    const t = Date.now();
    await act();
    const { profile } = await cdp.send('Profiler.stop');
    const ended = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
    await cdp.send('Tracing.end');
    await ended;
    const by = new Map();
    for (const e of events) if (e.ph === 'X' && e.dur && /^(Layout|UpdateLayoutTree|Paint|PrePaint|Layerize|ParseHTML|HitTest|RecalculateStyles|ScrollLayer|UpdateLayer|FunctionCall|EventDispatch|TimerFire|FireAnimationFrame|GCEvent|MinorGC|MajorGC|V8.GC_SCAVENGER|RunTask)$/.test(e.name))
      by.set(e.name, (by.get(e.name) || 0) + e.dur / 1000);
    const cnt = events.filter((e) => e.ph === "X" && e.name === "Layout").length;
    by.set(`(Layout events: ${cnt})`, 0);
    const trace = [...by.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${v.toFixed(0)} ms ${k}`).join(', ');
    console.log(`== ${name}: ${Date.now() - t} ms wall\ntimeline: ${trace}\n${summary(profile)}\n`);
  };
  if (what === 'regions') {
    await section('load', async () => {
      await page.goto(url);
      await page.waitForSelector('#regtable[data-source=maps] tbody tr[data-start]', { timeout: 120000 });
    });
    await section('smaps fields', async () => {
      await page.check('#smapsf');
      await page.waitForSelector('#regtable[data-source=smaps] tbody tr[data-start]', { timeout: 120000 });
    });
    await section('scroll', async () => {
      const b = await page.$eval('#regwrap', (e) => { e.scrollIntoView(); const r = e.getBoundingClientRect(); return { x: r.left + r.width / 2, y: r.top + 100 }; });
      await page.mouse.move(b.x, b.y);
      for (let i = 0; i < 40; i++) { await page.mouse.wheel(0, 800); await page.waitForTimeout(16); }
    });
    await section('refresh', async () => {
      await page.click('#refresh');
      await page.waitForFunction(() => !document.getElementById('main').hasAttribute('aria-busy'));
    });
  } else {
    const sleepers = [];
    for (let i = 0; i < 2000; i++) sleepers.push(spawn('sleep', ['300'], { stdio: 'ignore' }));
    kids.push(...sleepers);
    await new Promise((r) => setTimeout(r, 1500));
    await page.goto(url);
    await page.waitForSelector('#proctable tbody tr[data-pid]');
    await section('sort', async () => {
      await page.click('#proctable th:nth-child(1) button');
      await page.waitForFunction(() => !document.getElementById('main').hasAttribute('aria-busy'));
    });
    await section('refresh', async () => {
      await page.click('#refresh');
      await page.waitForTimeout(20);
      await page.waitForFunction(() => !document.getElementById('main').hasAttribute('aria-busy'));
    });
  }
  await ctx.close();
  fs.rmSync(profDir, { recursive: true, force: true });
}

main().catch((e) => { console.error(e); process.exitCode = 1; }).finally(() => { for (const k of kids) k.kill('SIGKILL'); });

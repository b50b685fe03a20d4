// containers.test.mjs - the Containers page in a real browser against a memscoped reading the
// written cgroup v2 tree tests/fixtures/cgroup-v2-docker (--cgroup-root), so every figure is known;
// and, where this machine's v1 memory controller is writable, a real OOM kill listed with its
// victim, its last sample before the kill and its last snapshot, and the victim's page those link to.
// Every number the page shows is compared with the API's answer; any console error, page error or
// failed request fails the run.
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
const TREE = path.resolve(HERE, '../fixtures/cgroup-v2-docker');
const ART = path.join(HERE, 'artifacts');
const CHROME = process.env.CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync', '--disable-quic'];
const MEMCG = '/sys/fs/cgroup/memory';
const HSUBJECT = process.env.MEMSCOPE_HISTORY_SUBJECT || path.join(path.dirname(process.env.MEMSCOPE_SUBJECT || ''), 'memscope-history-subject');
const DOCKER = '/system.slice/docker-3f4e2a1b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f.scope';

let server, base, ctx, page, profile, dataDir;
const problems = [];
let madeCgroup = null;


async function api(p) {
  const r = await fetch(`${base}api/v1${p}`);
  const j = await r.json();
  if (!r.ok) throw new Error(`${p}: HTTP ${r.status} ${JSON.stringify(j)}`);
  return j;
}

const shot = (name) => page.screenshot({ path: path.join(ART, `${name}.png`), fullPage: true });
const bytesOf = (sel) => page.$eval(sel, (e) => (e.dataset.bytes === '' ? null : Number(e.dataset.bytes)));
function noProblems() {
  const p = problems.splice(0);
  assert.deepEqual(p, [], `the page reported errors:\n${p.join('\n')}`);
}

function removeCgroup() {
  if (!madeCgroup) return;
  for (let i = 0; i < 50; i++) {
    try { fs.rmdirSync(madeCgroup); madeCgroup = null; return; } catch (e) { if (e.code !== 'EBUSY') return; }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
}

before(async () => {
  fs.mkdirSync(ART, { recursive: true });
  // a store of its own on disk, sampled often: an OOM victim is sampled before it dies
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'memscope-browser-store-'));
  server = spawn(process.env.MEMSCOPE_BIN, ['--listen', '127.0.0.1:0', '--web-dir', WEB, '--cgroup-root', TREE,
    '--data-dir', dataDir, '--sample-interval', '200ms', '--auto-snapshot-growth', '0'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  base = (await waitLine(server, server.stderr, /listening on (http:\/\/127\.0\.0\.1:\d+\/)/))[1];
  server.stderr.resume();
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'memscope-chromium-'));
  ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROME, headless: true, args: ARGS, viewport: { width: 1280, height: 900 } });
  page = ctx.pages()[0] || await ctx.newPage();
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => { if (!/ERR_ABORTED/.test(r.failure()?.errorText || '')) problems.push(`request failed: ${r.url()}`); });
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
});

after(async () => {
  removeCgroup();
  if (ctx) await ctx.close();
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await Promise.race([once(server, 'exit'), new Promise((r) => setTimeout(r, 3000))]);
  }
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

test('the tree has every cgroup with the API\'s usage, split and limit; the container is named', async () => {
  await page.goto(`${base}#/containers`);
  await page.waitForSelector('#cgtree tbody tr');
  const list = await api('/cgroups');
  const paths = await page.$$eval('#cgtree tbody tr', (trs) => trs.map((tr) => tr.dataset.path));
  assert.deepEqual([...paths].sort(), list.cgroups.map((c) => c.path).sort());
  // depth first, children under their parent biggest first
  assert.deepEqual(paths, ['/', '/user.slice', '/user.slice/user-1000.slice', '/user.slice/user-1000.slice/session-3.scope',
    '/system.slice', DOCKER, '/system.slice/docker.service', '/system.slice/ssh.service', '/init.scope']);
  const c = list.cgroups.find((x) => x.path === DOCKER);
  const row = `#cgtree tr[data-path="${DOCKER}"]`;
  assert.equal(await bytesOf(`${row} td.usage`), c.usage);
  assert.equal(await bytesOf(`${row} td.limit`), 512 * 1024 * 1024);
  assert.equal(await bytesOf(`${row} .seg[data-kind=anon]`), c.parts.anon);
  assert.equal(await bytesOf(`${row} .seg[data-kind=file]`), c.parts.file);
  assert.equal(await bytesOf(`${row} .seg[data-kind=kernel]`), c.parts.kernel);
  assert.equal(await bytesOf(`${row} .seg[data-kind=other]`), c.usage - c.parts.anon - c.parts.file - c.parts.kernel);
  assert.equal(await bytesOf(`${row} .limit`), c.limit);
  assert.match(await page.$eval(`${row} .tag.ctr`, (e) => e.textContent), /^docker 3f4e2a1b9c8d$/);
  assert.equal(await page.$eval('[data-nav=containers]', (a) => a.hasAttribute('aria-current')), true);
  await shot('containers');
  noProblems();
});

test('a refresh that changes nothing changes nothing on the page', async () => {
  await page.waitForSelector('#oomkept');
  // the elements on screen now, marked: a refresh that rebuilt them would leave unmarked ones
  const mark = () => page.evaluate(() => {
    for (const e of document.querySelectorAll('#cgtree tbody tr, #oomlist > *')) e.__kept = true;
  });
  const unmarked = () => page.evaluate(() => ({
    rows: [...document.querySelectorAll('#cgtree tbody tr')].filter((e) => !e.__kept).length,
    ooms: [...document.querySelectorAll('#oomlist > *')].filter((e) => !e.__kept).length,
  }));
  const before = JSON.stringify(await api('/events?type=oom'));
  await mark();
  await page.click('#refresh');
  await page.waitForFunction(() => !document.getElementById('main').hasAttribute('aria-busy'));
  const after = JSON.stringify(await api('/events?type=oom'));
  const left = await unmarked();
  // the recorded tree's files do not change; the kernel's OOM kills may (another test's, seen in
  // /dev/kmsg): their list is held to the rule only when the answer was the same on both sides
  assert.equal(left.rows, 0, 'tree rows rebuilt by a refresh of the same tree');
  if (before === after) assert.equal(left.ooms, 0, 'the OOM list rebuilt by a refresh of the same events');
  noProblems();
});

test('a cgroup\'s page: the attribution and the figures are the API\'s, reached from the tree', async () => {
  await page.click(`#cgtree tr[data-path="${DOCKER}"] td.cgname a`);
  await page.waitForSelector('#attribution');
  const cg = await api(`/cgroups/${encodeURIComponent(DOCKER)}`);
  const a = cg.attribution;
  for (const [key, want] of [['anon', a.anon.bytes], ['file', a.file.bytes], ['shmem', a.shmem], ['kernel', a.kernel.bytes],
    ['sock', a.sock], ['rest', a.rest], ['usage', a.usage]])
    assert.equal(await bytesOf(`#attribution tr[data-key=${key}]`), want, key);
  assert.match(await page.$eval('#attribution tr[data-key=rest]', (e) => e.textContent), /add up within 5%/);
  assert.equal(await bytesOf('.stat[data-key=limit]'), cg.limit);
  assert.match(await page.$eval('#cgfiles', (e) => e.textContent), /"memory\.pressure"/);
  await shot('cgroup');
  noProblems();
});

test('a real OOM kill is listed with its victim and the kernel\'s figures', async (t) => {
  let writable = false;
  try { fs.accessSync(`${MEMCG}/memory.usage_in_bytes`, fs.constants.R_OK); fs.accessSync(MEMCG, fs.constants.W_OK); writable = true; } catch { /* below */ }
  if (!writable) { t.skip(`skipped, because there is no writable cgroup v1 memory controller at ${MEMCG}`); return; }
  madeCgroup = `${MEMCG}/memscope-test-${process.pid}-browser`;
  fs.mkdirSync(madeCgroup);
  fs.writeFileSync(`${madeCgroup}/memory.limit_in_bytes`, '67108864');
  if (fs.existsSync(`${madeCgroup}/memory.memsw.limit_in_bytes`)) fs.writeFileSync(`${madeCgroup}/memory.memsw.limit_in_bytes`, '67108864');
  // 65536 pages = 256 MiB written, in a cgroup limited to 64 MiB: the kernel kills it
  const victim = spawn('sh', ['-c', `echo $$ > ${madeCgroup}/cgroup.procs && exec "$0" --pages 65536 --write 65536`, process.env.MEMSCOPE_SUBJECT],
    { stdio: ['pipe', 'ignore', 'inherit'] });
  const [code, sig] = await once(victim, 'exit');
  assert.equal(sig, 'SIGKILL', `the subject was OOM-killed (exit ${code})`);
  await page.goto(`${base}#/containers`);
  await page.waitForSelector(`#oomtable tr[data-pid="${victim.pid}"]`, { timeout: 5000 });
  const ev = (await api('/events?type=oom')).events.find((e) => e.victim && e.victim.pid === victim.pid);
  assert.ok(ev, 'the API has the event');
  const row = `#oomtable tr[data-pid="${victim.pid}"]`;
  assert.equal(await bytesOf(`${row} td[data-key=anon_rss]`), ev.victim.anon_rss);
  assert.equal(await bytesOf(`${row} td[data-key=total_vm]`), ev.victim.total_vm);
  assert.match(await page.$eval(row, (e) => e.textContent), new RegExp(`memscope-test-${process.pid}-browser`));
  await shot('containers-oom');
  removeCgroup();
  noProblems();
});

test('an OOM victim links to its last sample before the kill and its last snapshot', async (t) => {
  let writable = false;
  try { fs.accessSync(`${MEMCG}/memory.usage_in_bytes`, fs.constants.R_OK); fs.accessSync(MEMCG, fs.constants.W_OK); writable = true; } catch { /* below */ }
  if (!writable) { t.skip(`skipped, because there is no writable cgroup v1 memory controller at ${MEMCG}`); return; }
  try { fs.accessSync('/dev/kmsg', fs.constants.R_OK); } catch { t.skip('skipped, because the kernel log (/dev/kmsg) is not readable: victims are not named'); return; }
  madeCgroup = `${MEMCG}/memscope-test-${process.pid}-browser-hist`;
  fs.mkdirSync(madeCgroup);
  fs.writeFileSync(`${madeCgroup}/memory.limit_in_bytes`, '67108864');
  if (fs.existsSync(`${madeCgroup}/memory.memsw.limit_in_bytes`)) fs.writeFileSync(`${madeCgroup}/memory.memsw.limit_in_bytes`, '67108864');
  // small at first (sampled, then snapshotted), then 256 MiB at once: the kernel kills it at 64 MiB
  const victim = spawn('sh', ['-c', `echo $$ > ${madeCgroup}/cgroup.procs && exec "$0" grow 4000 268435456`, HSUBJECT],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  await waitLine(victim, victim.stdout, /^ready/);
  const exited = once(victim, 'exit');
  let points = [];
  for (let i = 0; i < 100 && !points.length; i++) {
    points = (await api(`/processes/${victim.pid}/history?since=1m`).catch(() => ({ points: [] }))).points;
    if (!points.length) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(points.length, 'the sampler saw the victim before it grew');
  const snapRes = await fetch(`${base}api/v1/processes/${victim.pid}/snapshots`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(snapRes.status, 201, 'a snapshot of the victim before it grew');
  const snap = await snapRes.json();
  const [code, sig] = await exited;
  assert.equal(sig, 'SIGKILL', `the subject was OOM-killed (exit ${code})`);
  // the page may be on #/containers already: come to it anew, from a view that has finished drawing
  await page.goto(`${base}#/`);
  await page.waitForSelector('#proctable tbody tr');
  await page.goto(`${base}#/containers`);
  const row = `#oomtable tr[data-pid="${victim.pid}"]`;
  await page.waitForSelector(row, { timeout: 5000 });
  const ev = (await api('/events?type=oom')).events.find((e) => e.victim && e.victim.pid === victim.pid);
  assert.ok(ev && ev.history && ev.snapshot, `the API joins the event to the history: ${JSON.stringify(ev)}`);
  assert.equal(ev.snapshot.id, snap.id);
  assert.equal(await bytesOf(`${row} td[data-key=last_rss]`), ev.history.last_sample.rss);
  assert.equal(await page.$eval(`${row} td[data-key=snapshot]`, (e) => Number(e.dataset.id)), snap.id);
  assert.match(await page.$eval('#oomkept', (e) => e.textContent), /Kept in the history store across restarts/);
  await shot('containers-oom-history');
  // the last sample links to the victim's page: its figures are the API's, the series is drawn
  await page.click(`${row} td[data-key=last_rss] a`);
  await page.waitForSelector('#oomlast');
  for (const k of ['rss', 'swap', 'vm_size', 'rss_anon'])
    assert.equal(await bytesOf(`#oomlast tr[data-key=${k}]`), ev.history.last_sample[k], k);
  await page.waitForSelector('#oomchart .uplot');
  assert.ok(Number(await page.$eval('#oomchart', (e) => e.dataset.count)) >= 1);
  assert.equal(await bytesOf('#oomkernel tr[data-key=anon_rss]'), ev.victim.anon_rss);
  assert.equal(await page.$eval('[data-nav=containers]', (a) => a.hasAttribute('aria-current')), true);
  // and the snapshot link to its largest regions, the snapshot's own figures
  await page.goto(`${base}#/containers`);
  await page.waitForSelector(row);
  await page.click(`${row} td[data-key=snapshot] a`);
  await page.waitForSelector('#oomsnapregions tbody tr');
  const full = await api(`/snapshots/${snap.id}`);
  const biggest = [...full.regions].sort((a, b) => (b.fields.rss || 0) - (a.fields.rss || 0))[0];
  assert.equal(await bytesOf('#oomsnapregions tbody tr:first-child td[data-bytes]'), biggest.fields.rss);
  assert.equal(await page.$eval('#oomsnap p.hint', (e) => Number(e.dataset.id)), snap.id);
  await shot('oom-victim');
  removeCgroup();
  noProblems();
});

test('the process list names each process\'s container, and the container field narrows the list to it', async (t) => {
  let writable = false;
  try { fs.accessSync(`${MEMCG}/memory.usage_in_bytes`, fs.constants.R_OK); fs.accessSync(MEMCG, fs.constants.W_OK); writable = true; } catch { /* below */ }
  if (!writable) { t.skip(`skipped, because there is no writable cgroup v1 memory controller at ${MEMCG}`); return; }
  // A cgroup laid out as Docker's cgroupfs driver names it, with an id of this run's own.
  const id = `${process.pid.toString(16).padStart(8, '0')}`.repeat(8);
  const dockerDir = `${MEMCG}/docker`;
  const madeDocker = !fs.existsSync(dockerDir);
  const dir = `${dockerDir}/${id}`;
  fs.mkdirSync(dir, { recursive: true });
  const subject = spawn('sh', ['-c', `echo $$ > ${dir}/cgroup.procs && exec "$0" --pages 16 --write 16`, process.env.MEMSCOPE_SUBJECT],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    await waitLine(subject, subject.stdout, /^\{/);
    const listed = await api(`/processes?container=${id.slice(0, 16)}&fresh=1`);
    assert.deepEqual(listed.processes.map((p) => p.pid), [subject.pid], 'the API narrows to the subject');
    await page.goto(`${base}#/`);
    await page.waitForSelector('#proctable tbody tr');
    await page.fill('#ctr', id.slice(0, 16));
    const row = `#proctable tr[data-pid="${subject.pid}"]`;
    await page.waitForSelector(row, { timeout: 5000 });
    await page.waitForFunction(() => document.querySelectorAll('#proctable tbody tr[data-pid]').length === 1);
    assert.equal(await page.$eval(`${row} td.ctr`, (e) => e.dataset.container), id);
    assert.equal(await page.$eval(`${row} td.ctr button`, (e) => e.textContent), `docker ${id.slice(0, 12)}`);
    assert.match(await page.$eval('#pcount', (e) => e.textContent), /in container/);
    await shot('processes-container');
    await page.fill('#ctr', '');
  } finally {
    subject.kill('SIGKILL');
    await once(subject, 'exit').catch(() => {});
    for (let i = 0; i < 50; i++) {
      try { fs.rmdirSync(dir); break; } catch (e) { if (e.code !== 'EBUSY') break; }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
    if (madeDocker) try { fs.rmdirSync(dockerDir); } catch { /* another user came */ }
  }
  noProblems();
});

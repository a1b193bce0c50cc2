#!/usr/bin/env node
// pnpm bench web [--records 50000] [--rounds 3] [--dir DIR] [--profile DIR]
//
// The auditors' page (apps/web, as built) in headless Chromium, opened from
// file://, verifying the .tar.gz of `pnpm bench batch` (the same archive,
// built the same way) picked through its file input, with the signing key
// pinned: timed from the pick to the #summary hook, as a person would wait
// for it. Its Web Workers are one per core (navigator.hardwareConcurrency).
//
// Measured in the same run, on the same file:
//   ceiling   erst-batch on the same .tar.gz, one child process per run, as
//             cron runs it (every core, node:zlib, node:crypto).
//   gunzip    the bound a page meets on a .tar.gz: the same file streamed
//             through the browser's DecompressionStream in a Web Worker, and
//             nothing else (no tar, no verifying). One gzip stream inflates
//             on one thread, so no page that streams it (as issue 13 asks)
//             verifies it faster: bound_ratio = gunzip_per_s / ceiling.
//   .jsonl    the page and erst-batch on the same records as one .jsonl (no
//             decompression on either side): jsonl_ratio.
// The last line is the JSON summary; rates are medians over --rounds.
// Diagnostic (Linux): the page's CPU time per record by thread, from the
// last round (worker 1 is the reader, the others verify; the browser's other
// threads are what painting, file reading and WebCrypto cost).
// --profile DIR: the last round also samples each worker with V8's CPU
// profiler (DevTools protocol) up to 90% of the records (the page ends its
// workers at the summary), writes worker-<n>.cpuprofile there (open them in
// DevTools) and prints each worker's heaviest functions by self time, in us
// per record verified so far. Samples are wall time: a thread that waits for
// a core is charged to what it was running. That round's rate carries the
// profiler's cost. Names are the bundles' (minified) unless the page is
// built with `node apps/web/build.mjs --no-minify`.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BIN, batchArchive, runBatch } from './archive.mjs';
import { REPO_ROOT, median, report } from './lib.mjs';
import { threadCpu } from './thread-cpu.mjs';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '50000' },
    rounds: { type: 'string', default: '3' },
    dir: { type: 'string' },
    profile: { type: 'string' },
  },
});
const N = Number(values.records);
const ROUNDS = Number(values.rounds);
const PAGE = join(REPO_ROOT, 'apps', 'web', 'dist', 'index.html');
for (const [built, what] of [
  [BIN, '@erst/batch'],
  [PAGE, '@erst/web'],
]) {
  if (!existsSync(built)) {
    console.error(`${what} is not built: run pnpm turbo run build --filter=${what}...`);
    process.exit(2);
  }
}
// puppeteer-core is a devDependency of the page's tests; Chromium is Debian's.
const requireWeb = createRequire(join(REPO_ROOT, 'apps', 'web', 'package.json'));
const puppeteer = (await import(pathToFileURL(requireWeb.resolve('puppeteer-core')).href)).default;
const chromium = [process.env.CHROMIUM_BIN, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (p) => p && existsSync(p),
);
if (!chromium) {
  console.error('headless Chromium is needed: apt-get install -y chromium, or set CHROMIUM_BIN');
  process.exit(2);
}

const { root, archives, pubHex } = await batchArchive({ N, SMALL: Math.min(N, 5000), dir: values.dir });
const input = archives.big.targz;

const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  // A run of 50,000 records outlasts the default 180 s a single DevTools call may take (the wait for #summary).
  protocolTimeout: 0,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-sync',
    // Headless Chromium 156 keeps the omnibox popup's WebUI renderer busy (a caret blinking in a window nobody
    // sees): measured at an eighth of the CPU a run took on 2 cores. No person's browser runs it while they wait.
    '--disable-features=WebUIOmniboxPopup,WebUIOmniboxFullPopup,WebUIOmniboxAimPopup',
  ],
});

/** CPU seconds by thread of the last page run (null where /proc is missing). */
let lastCpu = null;

/** Self time by function of a CPU profile, heaviest first: [name, ms][]. */
function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const { functionName, url, lineNumber } = byId.get(profile.samples[i]).callFrame;
    // Worker bundles run from Blob URLs: their line says more than their name.
    const where = url ? `:${lineNumber + 1}` : '';
    const name = `${functionName || '(anonymous)'}${where}`;
    self.set(name, (self.get(name) ?? 0) + (profile.timeDeltas[i + 1] ?? 0) / 1000);
  }
  return [...self].sort((a, b) => b[1] - a[1]);
}

/** Samples every worker the page starts (in order: the reader, then the verifiers) until stop(). */
function profileWorkers(page) {
  const sessions = [];
  page.on('workercreated', (worker) => {
    const started = (async () => {
      await worker.client.send('Profiler.enable');
      await worker.client.send('Profiler.setSamplingInterval', { interval: 500 });
      await worker.client.send('Profiler.start');
    })();
    sessions.push({ client: worker.client, started });
  });
  return {
    async stop(records) {
      mkdirSync(values.profile, { recursive: true });
      for (const [i, { client, started }] of sessions.entries()) {
        await started;
        const { profile } = await client.send('Profiler.stop');
        writeFileSync(join(values.profile, `worker-${i + 1}.cpuprofile`), JSON.stringify(profile));
        const top = selfTimes(profile).slice(0, 10);
        console.log(`  worker ${i + 1} (${i === 0 ? 'reader' : 'verifier'}), self time, us per record of ${records}:`);
        for (const [name, ms] of top) console.log(`    ${((1000 * ms) / records).toFixed(1).padStart(7)}  ${name}`);
      }
    },
  };
}

/**
 * Seconds to stream `file` through DecompressionStream('gzip') in a Web
 * Worker, reading every chunk and doing nothing else: what inflating the
 * .tar.gz alone costs a page (a page of its own, from file://, like the app).
 */
async function gunzipOnly(file) {
  const html = join(root, 'gunzip-only.html');
  writeFileSync(
    html,
    `<!doctype html><title>gunzip</title><input type="file" id="f"><script>
const worker = \`onmessage = async (e) => {
  const t = performance.now();
  let bytes = 0;
  const reader = e.data.stream().pipeThrough(new DecompressionStream('gzip')).getReader();
  for (;;) { const { done, value } = await reader.read(); if (done) break; bytes += value.length; }
  postMessage({ bytes, ms: performance.now() - t });
};\`;
document.getElementById('f').onchange = (ev) => {
  const w = new Worker(URL.createObjectURL(new Blob([worker], { type: 'text/javascript' })));
  w.onmessage = (m) => { document.body.dataset.bytes = m.data.bytes; };
  w.postMessage(ev.target.files[0]);
};
</script>`,
  );
  const page = await browser.newPage();
  try {
    await page.goto(pathToFileURL(html).href);
    const t = performance.now();
    await (await page.$('#f')).uploadFile(file);
    await page.waitForSelector('body[data-bytes]', { timeout: 0, polling: 100 });
    const seconds = (performance.now() - t) / 1000;
    if (Number(await page.$eval('body', (b) => b.dataset.bytes)) === 0) throw new Error('nothing inflated');
    return seconds;
  } finally {
    await page.close();
  }
}

/** One run of the page on a fresh tab: seconds from picking the file to the summary. */
async function runPage(input, profiled = false) {
  const page = await browser.newPage();
  const profiler = profiled ? profileWorkers(page) : undefined;
  try {
    await page.goto(pathToFileURL(PAGE).href);
    await page.waitForSelector('body[data-ready="true"]');
    await page.$eval(
      '#keys',
      (el, key) => {
        el.value = key;
      },
      pubHex,
    );
    const file = await page.$('#files');
    const cpu = threadCpu(browser.process().pid);
    const t = performance.now();
    await file.uploadFile(input);
    if (profiler) {
      // Stopped while the workers live: the summary ends them, and their profiles with them.
      const at = Math.floor(0.9 * N);
      await page.waitForFunction(
        (n) => Number(document.getElementById('progress-bar')?.dataset.records ?? 0) >= n,
        { timeout: 0, polling: 50 },
        at,
      );
      const records = await page.$eval('#progress-bar', (el) => Number(el.dataset.records));
      await profiler.stop(records);
    }
    await page.waitForSelector('#summary', { timeout: 0, polling: 'mutation' });
    const seconds = (performance.now() - t) / 1000;
    lastCpu = cpu.stop();
    const valid = await page.$eval('#summary', (el) => Number(el.getAttribute('data-valid')));
    if (valid !== N) throw new Error(`the page verified ${valid} valid records of ${N}`);
    return seconds;
  } finally {
    await page.close();
  }
}

const page = [];
const batch = [];
const gunzip = [];
const jsonlPage = [];
const jsonlBatch = [];
let pageCpu = null;
try {
  // Alternating, so that all see the same machine state (page cache, other load).
  for (let round = 0; round < ROUNDS; round++) {
    const last = round === ROUNDS - 1;
    page.push(await runPage(input, values.profile !== undefined && last));
    if (last) pageCpu = lastCpu; // the .tar.gz run's, for the diagnostic below
    batch.push((await runBatch(root, input, N)).seconds);
    gunzip.push(await gunzipOnly(input));
    jsonlPage.push(await runPage(archives.big.jsonl));
    jsonlBatch.push((await runBatch(root, archives.big.jsonl, N)).seconds);
  }
} finally {
  await browser.close();
}
lastCpu = pageCpu;

const perS = N / median(page);
const ceiling = N / median(batch);
const gunzipPerS = N / median(gunzip);
const jsonlPerS = N / median(jsonlPage);
const jsonlCeiling = N / median(jsonlBatch);
const line = (what, rate, runs) =>
  console.log(`  ${what.padEnd(42)}${rate.toFixed(0).padStart(7)}/s   (${runs.map((s) => s.toFixed(2)).join(', ')} s)`);
console.log(`${N} records, ${ROUNDS} rounds, ${availableParallelism()} cores`);
line('.tar.gz: page in headless Chromium', perS, page);
line('.tar.gz: erst-batch (ceiling)', ceiling, batch);
line('.tar.gz: DecompressionStream alone (bound)', gunzipPerS, gunzip);
line('.jsonl: page in headless Chromium', jsonlPerS, jsonlPage);
line('.jsonl: erst-batch (ceiling)', jsonlCeiling, jsonlBatch);
let cpuPerRecordMs;
if (lastCpu) {
  const ms = (s) => (1000 * s) / N;
  cpuPerRecordMs = Number(ms([...lastCpu.values()].reduce((a, b) => a + b, 0)).toFixed(3));
  const top = [...lastCpu].sort((a, b) => b[1] - a[1]).filter(([, s]) => ms(s) >= 0.005);
  console.log(`  page CPU per record, last round: ${cpuPerRecordMs.toFixed(3)} ms`);
  for (const [name, s] of top) console.log(`    ${ms(s).toFixed(3)} ms  ${name}`);
}
if (!values.dir) rmSync(root, { recursive: true, force: true });
report({
  bench: 'web',
  records: N,
  per_s: Math.round(perS),
  ceiling_per_s: Math.round(ceiling),
  ratio: Number((perS / ceiling).toFixed(3)),
  gunzip_per_s: Math.round(gunzipPerS),
  bound_ratio: Number((gunzipPerS / ceiling).toFixed(3)),
  jsonl_per_s: Math.round(jsonlPerS),
  jsonl_ceiling_per_s: Math.round(jsonlCeiling),
  jsonl_ratio: Number((jsonlPerS / jsonlCeiling).toFixed(3)),
  workers: availableParallelism(),
  rounds: ROUNDS,
  ...(cpuPerRecordMs !== undefined && { page_cpu_ms_per_record: cpuPerRecordMs }),
});

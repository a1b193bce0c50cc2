import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Report } from '@erst/batch-verify';
import { bytesToBase64, generateWithSigner, timestampImprint, withTimestampToken } from '@erst/core';
import {
  SIGNING_KEY_PEM,
  SIGNING_PUBLIC_KEY_HEX,
  chromiumPath,
  readVectorLines,
  runBatch,
  tempDir,
} from '@erst/fixtures';
import { InMemorySigner, generateKeyPair } from '@erst/signer-memory';
import { issueTsa, tsaCa } from '@erst/test-ca';
import { type TestTsa, startTestTsa } from '@erst/test-tsa';
import { requestTimestamp } from '@erst/timestamp/client';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const APP = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PAGE = pathToFileURL(join(APP, 'dist', 'index.html')).href;
/** Where the run leaves its screenshot of the result view, for people to look at. */
const SCREENSHOT = join(APP, '.vitest', 'screenshots', 'results.png');

const signer = InMemorySigner.fromPem(SIGNING_KEY_PEM);
const stranger = generateKeyPair().signer;

async function record(by: InMemorySigner, day: string, n: number): Promise<string> {
  const rec = await generateWithSigner(
    by,
    {
      transactionHash: n.toString(16).padStart(64, 'b'),
      payload: { envelope_xdr: 'AAAA', result_meta_xdr: 'BBBB', events: ['e'], logs: ['l'] },
    },
    { attestation: null, now: () => new Date(`${day}T08:00:00.000Z`) },
  );
  return JSON.stringify(rec);
}

/** Flips one hex digit of the signature: integrity fails, the record still parses. */
function tamper(line: string): string {
  return line.replace(/"signature":"(.)/, (_m, c: string) => `"signature":"${c === '0' ? '1' : '0'}`);
}

async function makeTar(members: { name: string; data: string }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const m of members) pack.entry({ name: m.name, mtime: new Date('2026-11-26T00:00:00Z') }, m.data);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

let dir: string;
let browser: Browser;
/** Every URL the page asked for, over every test. */
const requests: string[] = [];

/**
 * The mixed archive: every format erst reads (Go 1.0.0 and 1.1.0, TypeScript
 * legacy, 2.0.0), a tampered record, one signed by a key nobody pinned, one
 * that does not parse, and a tar whose last member is cut short; as .tar,
 * .tar.gz and .jsonl, as an auditor would be handed them.
 */
async function writeMixedArchive(): Promise<string[]> {
  const go11 = readVectorLines('erst-go-1.1.0.jsonl');
  const go10 = readVectorLines('erst-go-1.0.0.jsonl');
  const ts = readVectorLines('erst-ts-legacy.jsonl');
  const ours = [await record(signer, '2026-11-20', 1), await record(signer, '2026-11-21', 2)];
  const unpinned = await record(stranger, '2026-11-21', 3);
  const members = [
    { name: 'logs/go-1.1.0.jsonl', data: `${go11.join('\n')}\n` },
    { name: 'logs/go-1.0.0/a.json', data: go10[0]! },
    { name: 'logs/ts/legacy.json', data: ts[0]! },
    { name: 'logs/2026-11-20/ours.json', data: ours[0]! },
    { name: 'logs/2026-11-21/ours.json', data: ours[1]! },
    { name: 'logs/2026-11-21/tampered.json', data: tamper(ours[1]!) },
    { name: 'logs/2026-11-21/stranger.json', data: unpinned },
    { name: 'logs/broken.json', data: '{"format_version": "2.0.0", ' },
    { name: 'logs/notes.txt', data: 'not a record' },
  ];
  const whole = await makeTar(members);
  // Cut inside the last member's data: a truncated member, what came before still counts.
  const last = await makeTar([{ name: 'logs/last.json', data: ours[0]! }]);
  const cut = Buffer.concat([whole.subarray(0, whole.length - 1024), last.subarray(0, 512 + 100)]);
  writeFileSync(join(dir, 'mixed.tar'), cut);
  writeFileSync(join(dir, 'mixed.tar.gz'), gzipSync(whole));
  writeFileSync(join(dir, 'more.jsonl'), `${[...ts.slice(1), tamper(go10[1]!), '{', ''].join('\n')}\n`);
  return ['mixed.tar', 'mixed.tar.gz', 'more.jsonl'];
}

async function openPage(): Promise<Page> {
  const page = await browser.newPage();
  await page.setRequestInterception(true);
  page.on('request', (r) => {
    requests.push(r.url());
    // The page's own three files load; anything else (there should be nothing) is refused and shows in `requests`.
    if (r.url().startsWith(`file://${APP}/dist/`)) void r.continue();
    else void r.abort();
  });
  const cdp = await page.createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: join(dir, 'downloads') });
  await page.goto(PAGE);
  await page.waitForSelector('body[data-ready="true"]');
  return page;
}

async function upload(page: Page, names: string[]): Promise<void> {
  const input = await page.$('input#files');
  await input!.uploadFile(...names.map((n) => join(dir, n)));
}

async function summary(page: Page): Promise<Record<string, number>> {
  await page.waitForSelector('#summary', { timeout: 60_000 });
  return page.$eval('#summary', (el) => ({
    records: Number(el.getAttribute('data-records')),
    valid: Number(el.getAttribute('data-valid')),
    invalid: Number(el.getAttribute('data-invalid')),
    unreadable: Number(el.getAttribute('data-unreadable')),
  }));
}

/** Clicks "Download report" and reads the file the browser saved. */
async function downloadReport(page: Page): Promise<Report> {
  const downloads = join(dir, 'downloads');
  rmSync(downloads, { recursive: true, force: true });
  mkdirSync(downloads, { recursive: true });
  await page.click('#download');
  const file = join(downloads, 'erst-report.json');
  for (let i = 0; i < 100 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 100));
  return JSON.parse(readFileSync(file, 'utf8')) as Report;
}

async function batchReport(names: string[], extra: string[] = []): Promise<Report> {
  const r = await runBatch(['verify', ...names, ...extra, '--json', '-', '--quiet'], { cwd: dir });
  return JSON.parse(r.stdout) as Report;
}

/** What must agree with erst-batch: the counts, by every category, and each failure with its code. */
function verdicts(r: Report) {
  return {
    totals: r.totals,
    by_format: r.by_format,
    by_key: r.by_key,
    by_day: r.by_day,
    by_trust: r.by_trust,
    by_code: r.by_code,
    by_input: r.by_input,
    warnings: r.warnings,
    exit_code: r.exit_code,
    failures: r.failures.map((f) => ({ source: f.source, code: f.code, kind: f.kind })),
  };
}

beforeAll(async () => {
  if (!existsSync(join(APP, 'dist', 'index.html')))
    throw new Error('apps/web is not built: pnpm --filter @erst/web build');
  dir = tempDir('erst-web-');
  browser = await puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-sync',
      // Headless Chromium's hidden omnibox popup renderer keeps a core busy for nothing (see tooling/bench/web.mjs).
      '--disable-features=WebUIOmniboxPopup,WebUIOmniboxFullPopup,WebUIOmniboxAimPopup',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the verification page in headless Chromium, opened from file://', () => {
  it("gives exactly erst-batch's counts and failures for a mixed archive, and its report downloads as erst-batch --json", async () => {
    const names = await writeMixedArchive();
    const page = await openPage();
    await upload(page, names);
    const counts = await summary(page);
    const expected = await batchReport(names);
    expect(expected.totals.invalid).toBeGreaterThan(3);
    expect(expected.by_code.ERR_ARCHIVE_CORRUPT).toBe(1);
    expect(counts).toEqual({
      records: expected.totals.records,
      valid: expected.totals.valid,
      invalid: expected.totals.invalid,
      unreadable: expected.totals.unreadable,
    });
    const downloaded = await downloadReport(page);
    expect(Object.keys(downloaded)).toEqual(Object.keys(expected));
    expect(verdicts(downloaded)).toEqual(verdicts(expected));
    expect(downloaded.trust).toEqual(expected.trust);
    // Embedded-only, said as the CLI says it.
    expect(downloaded.by_trust['embedded-only']).toBe(expected.totals.valid);
    expect(await page.$eval('#trust-banner', (el) => el.textContent)).toContain('embedded-only');

    // A failed record opens in the detail view, verified again in the page.
    await page.click('#failures button[data-source$="tampered.json"]');
    await page.waitForSelector('#detail[open]');
    const detail = await page.$eval('#detail-body', (el) => el.textContent ?? '');
    expect(detail).toContain('2.0.0');
    expect(detail).toContain('ERR_SIGNATURE_INVALID');
    await page.keyboard.press('Escape');

    // The failure table sorts and filters.
    await page.select('#failure-code', 'ERR_ARCHIVE_CORRUPT');
    expect(await page.$$eval('#failures tbody tr', (rows) => rows.length)).toBe(1);
    await page.select('#failure-code', '');
    await page.click('#failures th button[data-sort="code"]');
    const codes = await page.$$eval('#failures tbody tr td:nth-child(2)', (tds) => tds.map((td) => td.textContent));
    expect(codes).toEqual([...codes].sort());
    expect(await page.$eval('#failures th:nth-child(2)', (th) => th.getAttribute('aria-sort'))).toBe('ascending');

    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.setViewport({ width: 1100, height: 900 });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
    await page.close();
  }, 90_000);

  it('a pinned key changes trust as erst-batch --public-key does', async () => {
    const names = ['mixed.tar', 'more.jsonl'];
    const page = await openPage();
    await page.type('#keys', SIGNING_PUBLIC_KEY_HEX);
    await upload(page, names);
    await summary(page);
    const downloaded = await downloadReport(page);
    const expected = await batchReport(names, ['--public-key', SIGNING_PUBLIC_KEY_HEX]);
    const unpinned = await batchReport(names);
    expect(verdicts(downloaded)).toEqual(verdicts(expected));
    expect(downloaded.trust).toEqual(expected.trust);
    // Pinning turned the records of the pinned key into `pinned`, and the stranger's into failures.
    expect(downloaded.by_trust.pinned).toBeGreaterThan(0);
    expect(downloaded.totals.valid).toBeLessThan(unpinned.totals.valid);
    expect(downloaded.failures.some((f) => f.source.endsWith('stranger.json'))).toBe(true);
    await page.close();
  }, 60_000);

  it('verifies 20,000 records from a .jsonl with the progress bar advancing and input handled within 200 ms', async () => {
    const line = await record(signer, '2026-11-22', 4);
    writeFileSync(join(dir, 'big.jsonl'), `${line}\n`.repeat(20_000));
    const page = await openPage();
    await page.focus('#log-keys');
    await page.evaluate(() => {
      const w = window as unknown as { inputDelays: number[] };
      w.inputDelays = [];
      // How long each keystroke waited between reaching the page and being handled.
      document.getElementById('log-keys')!.addEventListener('input', (e) => {
        w.inputDelays.push(performance.now() - e.timeStamp);
      });
    });
    await upload(page, ['big.jsonl']);
    const seen: number[] = [];
    for (let i = 0; i < 400; i++) {
      const state = await page.evaluate(() => ({
        done: document.getElementById('summary') !== null,
        records: Number(document.getElementById('progress-bar')!.dataset.records ?? 0),
      }));
      if (state.done) break;
      seen.push(state.records);
      if (i % 3 === 0) await page.keyboard.type('x');
      await new Promise((r) => setTimeout(r, 100));
    }
    const counts = await summary(page);
    expect(counts).toEqual({ records: 20_000, valid: 20_000, invalid: 0, unreadable: 0 });
    const advancing = [...new Set(seen.filter((n) => n > 0 && n < 20_000))];
    expect(advancing.length).toBeGreaterThanOrEqual(3);
    expect(advancing).toEqual([...advancing].sort((a, b) => a - b));
    const delays = await page.evaluate(() => (window as unknown as { inputDelays: number[] }).inputDelays);
    expect(delays.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...delays)).toBeLessThan(200);
    await page.close();
  }, 90_000);

  it('refuses before reading: a pasted key that is not one, a file of no known kind (codes shown, no summary)', async () => {
    const page = await openPage();
    await page.type('#keys', 'not-a-key');
    await upload(page, ['more.jsonl']);
    await page.waitForSelector('#trust-error:not([hidden])');
    expect(await page.$eval('#trust-error', (el) => el.textContent)).toContain('ERR_PUBLIC_KEY_FORMAT');
    expect(await page.$('#summary')).toBeNull();
    await page.$eval('#keys', (el) => {
      (el as HTMLTextAreaElement).value = '';
    });
    writeFileSync(join(dir, 'notes.txt'), 'not an archive');
    await upload(page, ['notes.txt']);
    await page.waitForSelector('#run-error:not([hidden])');
    expect(await page.$eval('#run-error', (el) => el.textContent)).toContain('ERR_ARCHIVE_UNKNOWN_KIND');
    expect(await page.$('#summary')).toBeNull();
    await page.close();
  }, 30_000);

  it('Cancel stops a run part way: no summary, the page ready for another', async () => {
    const page = await openPage();
    await upload(page, ['big.jsonl']);
    await page.waitForFunction(() => Number(document.getElementById('progress-bar')!.dataset.records ?? 0) > 0);
    await page.click('#cancel');
    await page.waitForFunction(() => document.getElementById('progress-text')!.textContent!.startsWith('Cancelled'));
    await new Promise((r) => setTimeout(r, 500));
    expect(await page.$('#summary')).toBeNull();
    expect(await page.$eval('#cancel', (b) => (b as HTMLButtonElement).disabled)).toBe(true);
    expect(await page.$eval('#verify', (b) => (b as HTMLButtonElement).disabled)).toBe(false);
    await page.close();
  }, 60_000);

  it("a folder picked through the folder input gives erst-batch's counts for that directory", async () => {
    const ours = [await record(signer, '2026-11-23', 5), await record(signer, '2026-11-24', 6)];
    const folder = join(dir, 'folder', 'logs');
    mkdirSync(join(folder, 'day'), { recursive: true });
    writeFileSync(join(folder, 'a.json'), ours[0]!);
    writeFileSync(join(folder, 'day', 'b.json'), ours[1]!);
    writeFileSync(join(folder, 'day', 'tampered.json'), tamper(ours[1]!));
    writeFileSync(join(folder, 'notes.txt'), 'not a record, not read');
    const page = await openPage();
    const input = await page.$('input#folder');
    await input!.uploadFile(folder);
    const counts = await summary(page);
    const expected = await batchReport([folder]);
    expect(counts).toEqual({ records: 3, valid: 2, invalid: 1, unreadable: 0 });
    expect(counts.records).toBe(expected.totals.records);
    expect(counts.invalid).toBe(expected.totals.invalid);
    const downloaded = await downloadReport(page);
    expect(downloaded.failures.map((f) => [f.source, f.code])).toEqual([
      ['logs/day/tampered.json', 'ERR_SIGNATURE_INVALID'],
    ]);
    await page.close();
  }, 60_000);

  it('files dropped on the drop zone go through its drop handler: the same counts as picking them', async () => {
    const names = ['mixed.tar.gz', 'more.jsonl'];
    const page = await openPage();
    const files = names.map((n) => ({ name: n, base64: readFileSync(join(dir, n)).toString('base64') }));
    await page.evaluate((list) => {
      const dt = new DataTransfer();
      for (const f of list) {
        const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
        dt.items.add(new File([bytes], f.name));
      }
      const zone = document.getElementById('drop')!;
      zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, files);
    const counts = await summary(page);
    const expected = await batchReport(names);
    expect(counts).toEqual({
      records: expected.totals.records,
      valid: expected.totals.valid,
      invalid: expected.totals.invalid,
      unreadable: expected.totals.unreadable,
    });
    expect(await page.$eval('#chosen', (el) => el.textContent)).toBe('Chosen: mixed.tar.gz, more.jsonl');
    await page.close();
  }, 60_000);

  it('every record opens in the detail view by keyboard: a valid one deep in a .tar.gz, read again from the file', async () => {
    const page = await openPage();
    await upload(page, ['mixed.tar.gz']);
    const counts = await summary(page);
    expect(await page.$eval('#record-count', (el) => el.textContent)).toBe(String(counts.records));
    // A valid record: its bytes were not kept, so the page reads the archive again up to it.
    await page.type('#record-filter', '2026-11-20/ours.json');
    const button = '#records button[data-source="mixed.tar.gz:logs/2026-11-20/ours.json"]';
    await page.waitForSelector(button);
    await page.focus(button);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#detail[open]');
    expect(await page.$eval('#detail-body', (el) => el.getAttribute('data-valid'))).toBe('true');
    const detail = await page.$eval('#detail-body', (el) => el.textContent ?? '');
    expect(detail).toContain('2.0.0');
    expect(detail).toContain('embedded-only');
    expect(detail).toContain('Uncovered fields');
    // What the record states, as erst audit inspect prints it.
    expect(detail).toContain('signed fields:');
    await page.keyboard.press('Escape');
    expect(await page.$('#detail[open]')).toBeNull();
    // The verdict filter: invalid records only.
    await page.$eval('#record-filter', (el) => {
      (el as HTMLInputElement).value = '';
    });
    await page.select('#record-verdict', 'invalid');
    const verdicts = await page.$$eval('#records tbody td:nth-child(2)', (tds) => tds.map((td) => td.textContent));
    expect(verdicts.length).toBeGreaterThan(0);
    expect(new Set(verdicts)).toEqual(new Set(['invalid']));
    await page.close();
  }, 60_000);

  it('a timestamped record shows timestamped with its TSA root pinned, and unproven without', async () => {
    const tsa: TestTsa = await startTestTsa({ credentials: await issueTsa(await tsaCa()) });
    try {
      const rec = await generateWithSigner(
        signer,
        { transactionHash: 'cd'.repeat(32), payload: { logs: ['stamped'] } },
        { schema: '2.1.0', attestation: null },
      );
      const { token } = await requestTimestamp(tsa.url, timestampImprint(rec));
      writeFileSync(join(dir, 'stamped.jsonl'), `${JSON.stringify(withTimestampToken(rec, bytesToBase64(token)))}\n`);
      writeFileSync(join(dir, 'tsa-root.pem'), tsa.rootPem);
    } finally {
      await tsa.close();
    }
    const detailOf = async (pin: boolean) => {
      const page = await openPage();
      if (pin) await (await page.$('input#tsa-roots'))!.uploadFile(join(dir, 'tsa-root.pem'));
      await upload(page, ['stamped.jsonl']);
      expect(await summary(page)).toMatchObject({ records: 1, valid: 1 });
      await page.click('#records button[data-source="stamped.jsonl:1"]');
      await page.waitForSelector('#detail[open]');
      const shown = await page.$eval('#detail-body', (el) => ({
        timestamp: el.getAttribute('data-timestamp'),
        text: el.textContent ?? '',
      }));
      await page.close();
      return shown;
    };
    const pinned = await detailOf(true);
    expect(pinned.timestamp).toBe('verified');
    expect(pinned.text).toMatch(/timestamped \d{4}-\d\d-\d\dT[^ ]+Z .*by "[^"]*TSA[^"]*": verified/);
    const unpinned = await detailOf(false);
    expect(unpinned.timestamp).toBe('unverified');
    expect(unpinned.text).toContain('unproven');
    expect(unpinned.text).toContain('WARN_TIMESTAMP_NOT_CHECKED');
  }, 60_000);

  it('made no network request: only its own files, from file://', () => {
    const own = new Set(['index.html', 'style.css', 'app.js'].map((f) => pathToFileURL(join(APP, 'dist', f)).href));
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((u) => !own.has(u) && !u.startsWith('blob:'))).toEqual([]);
    expect(readdirSync(join(APP, 'dist')).sort()).toEqual(['app.js', 'index.html', 'style.css']);
  });
});

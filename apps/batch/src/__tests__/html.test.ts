import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SIGNING_PUBLIC_KEY_HEX, renderInChromium } from '@erst/fixtures';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../report.js';
import { breakSignature, gzip, makeTar, readReport, record2, runBatch, scratchDir, stranger } from './helpers.js';

/** Loads a page in headless Chromium and returns the DOM after its scripts ran. */
function renderedDom(file: string): Promise<string> {
  return renderInChromium(pathToFileURL(file).href);
}

const EVIL = `evil<img src=x onerror="document.title='pwned'">&amp;.json`;

let d: string;
let report: Report;
let dom: string;
let junit: string;

beforeAll(async () => {
  d = scratchDir('erst-batch-html-');
  mkdirSync(join(d, 'logs'));
  const members = [];
  for (let i = 0; i < 6; i++) members.push({ name: `ok/${i}.json`, data: JSON.stringify(await record2(`2026-11-0${1 + (i % 3)}`)) });
  members.push({ name: `bad/${EVIL}`, data: breakSignature(JSON.stringify(await record2('2026-11-02'))) });
  members.push({ name: 'bad/</td><script>document.title="pwned2"</script>.json', data: 'not json' });
  members.push({ name: 'bad/stranger.json', data: JSON.stringify(await record2('2026-11-03', stranger)) });
  writeFileSync(join(d, 'a.tar.gz'), gzip((await makeTar(members)).tar));
  const r = await runBatch([
    'verify',
    join(d, 'a.tar.gz'),
    '--public-key',
    SIGNING_PUBLIC_KEY_HEX,
    '--html',
    join(d, 'report.html'),
    '--json',
    join(d, 'report.json'),
    '--junit',
    join(d, 'junit.xml'),
    '--state',
    join(d, 'state.json'),
    '-q',
  ]);
  expect(r.code).toBe(1);
  report = readReport(join(d, 'report.json'));
  junit = readFileSync(join(d, 'junit.xml'), 'utf8');
  dom = await renderedDom(join(d, 'report.html'));
}, 90_000);

function byId(id: string): string | undefined {
  const m = new RegExp(`id="${id}"[^>]*>([^<]*)<`).exec(dom);
  return m?.[1];
}

function element(id: string): string {
  const start = dom.indexOf(`id="${id}"`);
  expect(start, id).toBeGreaterThan(-1);
  const tag = dom.lastIndexOf('<', start);
  const name = /^<([a-z]+)/.exec(dom.slice(tag))![1]!;
  const end = dom.indexOf(`</${name}>`, start);
  return dom.slice(tag, end);
}

describe('the HTML report, rendered by headless Chromium', () => {
  it('is self-contained: no external resource, and a policy that forbids any', () => {
    const html = readFileSync(join(d, 'report.html'), 'utf8');
    expect(html).toContain("Content-Security-Policy\" content=\"default-src 'none'");
    expect(html).not.toMatch(/\b(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/<link\b/i);
  });

  it('ran its script and shows the totals', () => {
    expect(dom).toMatch(/<body[^>]*data-ready="true"/);
    expect(report.totals).toEqual({ records: 9, valid: 6, invalid: 3, unreadable: 0 });
    expect(byId('total-records')).toBe('9');
    expect(byId('total-valid')).toBe('6');
    expect(byId('total-invalid')).toBe('3');
    expect(byId('total-unreadable')).toBe('0');
    expect(byId('result')).toBe('FAIL');
    expect(byId('shown')).toBe('3 of 3 shown');
  });

  it('draws results per signing key and per day as SVG bars', () => {
    const keys = element('chart-keys');
    expect(keys.startsWith('<svg')).toBe(true);
    expect(keys.match(/<rect class="bar valid"/g)).toHaveLength(2);
    expect(keys.match(/<rect class="bar invalid"/g)).toHaveLength(2);
    expect(keys).toContain('data-count="6"');
    const days = element('chart-days');
    expect(days.match(/<g class="col" data-day="2026-11-0\d"/g)).toHaveLength(3);
    expect(days.match(/<rect class="bar /g)).toHaveLength(6);
  });

  it('lists every failure, with every string escaped: nothing in a file name runs', () => {
    const table = element('failures');
    const rows = table.match(/<tr data-kind="record">/g) ?? [];
    expect(rows).toHaveLength(report.failures.length);
    for (const f of report.failures) expect(table).toContain(`<td>${f.code}</td>`);
    expect(table).toContain('evil&lt;img src=x onerror="document.title=\'pwned\'"&gt;&amp;amp;.json');
    expect(table).toContain('&lt;/td&gt;&lt;script&gt;document.title="pwned2"&lt;/script&gt;.json');
    expect(dom).not.toMatch(/<img\b/);
    expect(dom).not.toMatch(/<title>pwned/);
    expect(dom).toMatch(/<title>erst-batch report: FAIL<\/title>/);
  });

  it('shows the state section', () => {
    expect(dom).toMatch(/id="state-status" data-status="baseline"/);
  });
});

describe('the JUnit report, parsed by Chromium\'s XML parser', () => {
  it('is well-formed XML with the counts CI systems read', async () => {
    const page = join(d, 'junit-check.html');
    writeFileSync(
      page,
      `<!doctype html><html><body><pre id="out"></pre><script>
const xml = ${JSON.stringify(junit).replace(/</g, '\\u003c')};
const doc = new DOMParser().parseFromString(xml, 'application/xml');
const err = doc.getElementsByTagName('parsererror')[0];
const root = doc.documentElement;
const cases = Array.from(doc.getElementsByTagName('testcase')).map((c) => {
  const f = c.getElementsByTagName('failure')[0];
  return { name: c.getAttribute('name'), failure: f ? f.getAttribute('type') : null };
});
document.getElementById('out').textContent = JSON.stringify({
  error: err ? err.textContent : null,
  root: root.nodeName,
  tests: root.getAttribute('tests'),
  failures: root.getAttribute('failures'),
  errors: root.getAttribute('errors'),
  suites: doc.getElementsByTagName('testsuite').length,
  cases,
});
</script></body></html>`,
    );
    const out = await renderedDom(page);
    const json = /<pre id="out">([^<]*)<\/pre>/.exec(out)![1]!;
    const parsed = JSON.parse(json.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"')) as {
      error: string | null;
      root: string;
      tests: string;
      failures: string;
      errors: string;
      suites: number;
      cases: { name: string; failure: string | null }[];
    };
    expect(parsed.error).toBeNull();
    expect(parsed).toMatchObject({ root: 'testsuites', tests: '4', failures: '3', errors: '0', suites: 1 });
    expect(parsed.cases.map((c) => c.failure)).toEqual([null, ...report.failures.map((f) => f.code)]);
    // Names survive escaping exactly.
    expect(parsed.cases.map((c) => c.name)).toContain(`${join(d, 'a.tar.gz')}:bad/${EVIL}`);
  });
});

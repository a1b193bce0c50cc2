import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { SIGNING_PUBLIC_KEY_HEX, chromiumPath, renderInChromium, run } from '@erst/fixtures';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '@erst/batch-verify';
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
  for (let i = 0; i < 6; i++)
    members.push({ name: `ok/${i}.json`, data: JSON.stringify(await record2(`2026-11-0${1 + (i % 3)}`)) });
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
    expect(html).toContain('Content-Security-Policy" content="default-src \'none\'');
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

describe("the JUnit report, parsed by Chromium's XML parser", () => {
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
    const parsed = JSON.parse(
      json
        .replace(/&amp;/g, '&')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"'),
    ) as {
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

/** Decodes an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium's --screenshot writes). */
function decodePng(png: Buffer): {
  width: number;
  height: number;
  pixel: (x: number, y: number) => [number, number, number];
} {
  let off = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString('latin1', off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect(data[8], 'bit depth').toBe(8);
      expect(data[12], 'interlace').toBe(0);
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0;
      expect(channels, 'colour type').toBeGreaterThan(0);
    } else if (type === 'IDAT') {
      idat.push(data);
    }
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x]!;
      const a = x >= channels ? out[y * stride + x - channels]! : 0;
      const b = y > 0 ? out[(y - 1) * stride + x]! : 0;
      const c = x >= channels && y > 0 ? out[(y - 1) * stride + x - channels]! : 0;
      const p = a + b - c;
      const pred = [
        0,
        a,
        b,
        (a + b) >> 1,
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c,
      ][filter]!;
      out[y * stride + x] = (v + pred) & 0xff;
    }
  }
  return {
    width,
    height,
    pixel: (x, y) => [
      out[y * stride + x * channels]!,
      out[y * stride + x * channels + 1]!,
      out[y * stride + x * channels + 2]!,
    ],
  };
}

describe('the HTML report shows what matters, however small', () => {
  const WINDOW = '--window-size=1200,1600';
  let page: string;
  let html: string;

  beforeAll(async () => {
    const dir = scratchDir('erst-batch-html-small-');
    const good = JSON.stringify(await record2('2026-11-05'));
    // 3,999 valid and 1 invalid under the pinned key, and 1 record by a key nobody pinned.
    const lines = [
      ...Array.from({ length: 3999 }, () => good),
      breakSignature(good),
      JSON.stringify(await record2('2026-11-05', stranger)),
    ];
    writeFileSync(join(dir, 'many.jsonl'), `${lines.join('\n')}\n`);
    page = join(dir, 'report.html');
    const r = await runBatch([
      'verify',
      join(dir, 'many.jsonl'),
      '--public-key',
      SIGNING_PUBLIC_KEY_HEX,
      '--html',
      page,
      '-q',
    ]);
    expect(r.code).toBe(1);
    html = readFileSync(page, 'utf8');
  }, 90_000);

  it('draws every nonzero count at least a few pixels wide, with a marker: a screenshot shows the red', async () => {
    // The same page with a script that measures each invalid bar where the browser laid it out.
    const measured = page.replace('.html', '.measure.html');
    writeFileSync(
      measured,
      html.replace(
        '</body>',
        `<script>document.body.setAttribute('data-bars', JSON.stringify(Array.from(document.querySelectorAll('#chart-keys rect.invalid, #chart-days rect.invalid')).map(function (e) { var b = e.getBoundingClientRect(); return { count: +e.getAttribute('data-count'), x: b.x, y: b.y, w: b.width, h: b.height }; })));</script></body>`,
      ),
    );
    const dom = await renderInChromium(pathToFileURL(measured).href, { extraArgs: [WINDOW, '--hide-scrollbars'] });
    const bars = JSON.parse(/data-bars="([^"]*)"/.exec(dom)![1]!.replace(/&quot;/g, '"')) as {
      count: number;
      x: number;
      y: number;
      w: number;
      h: number;
    }[];
    const keyBars = bars.filter((b) => b.count === 1);
    // Signing key (3,999 / 1), the unpinned key (0 / 1), and the day (3,999 / 2).
    expect(keyBars.length).toBeGreaterThanOrEqual(2);
    for (const b of bars.filter((x) => x.count > 0)) expect(Math.min(b.w, b.h)).toBeGreaterThanOrEqual(2.5);
    expect(html.match(/<path class="marker"/g)?.length).toBeGreaterThanOrEqual(3);

    mkdirSync(join(process.cwd(), '.vitest'), { recursive: true });
    const png = join(process.cwd(), '.vitest', 'html-report-small-failures.png');
    const shot = await run(chromiumPath(), [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--hide-scrollbars',
      '--force-device-scale-factor=1',
      WINDOW,
      `--user-data-dir=${scratchDir('erst-chromium-shot-')}`,
      `--screenshot=${png}`,
      pathToFileURL(page).href,
    ]);
    expect(shot.code, shot.stderr.slice(-500)).toBe(0);
    console.log(`screenshot of the HTML report: ${png}`);
    const img = decodePng(readFileSync(png));
    for (const b of keyBars) {
      expect(b.y + b.h).toBeLessThan(img.height);
      const [r, g, bl] = img.pixel(Math.floor(b.x + b.w / 2), Math.floor(b.y + b.h / 2));
      // The invalid colour, #d1242f.
      expect(r, `pixel at ${b.x},${b.y}`).toBeGreaterThan(170);
      expect(g).toBeLessThan(90);
      expect(bl).toBeLessThan(100);
    }
  }, 60_000);

  it('lists failures and warnings by code, and trust by level', () => {
    expect(html).toMatch(/<table id="by-code"[\s\S]*ERR_SIGNATURE_INVALID[\s\S]*<\/table>/);
    expect(html).toMatch(/<table id="by-trust"[\s\S]*data-trust="pinned"[\s\S]*3,999/);
    // Something was pinned: no "nothing pinned" banner.
    expect(html).not.toContain('id="trust-banner"');
  });

  it("carries the run's date and the tool version, unless --reproducible", async () => {
    expect(html).toMatch(
      /id="generated">Generated <time datetime="\d{4}-\d\d-\d\dT[^"]+">[^<]+<\/time> by erst-batch \d+\.\d+\.\d+/,
    );
    const dir = scratchDir('erst-batch-html-repro-');
    writeFileSync(join(dir, 'r.jsonl'), `${JSON.stringify(await record2('2026-11-05'))}\n`);
    const pages: string[] = [];
    for (const n of [1, 2]) {
      const p = join(dir, `r${n}.html`);
      expect((await runBatch(['verify', join(dir, 'r.jsonl'), '--html', p, '--reproducible', '-q'])).code).toBe(0);
      pages.push(readFileSync(p, 'utf8'));
    }
    expect(pages[0]).toBe(pages[1]);
    expect(pages[0]).not.toContain('id="generated"');
    // Nothing pinned: the banner says what "valid" means then.
    expect(pages[0]).toMatch(/id="trust-banner"[^>]*data-trust="none-pinned"/);
  });
});

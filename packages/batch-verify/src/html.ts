import type { Counts, LogSummary, Report, TimestampCounts } from './report.js';

/** A signing key id (`algorithm:hex`) short enough for a table: `ed25519 0123abcd…6789cdef`. */
export function shortKey(id: string): string {
  const [alg, hex = ''] = id.split(':');
  return `${alg} ${hex.length > 20 ? `${hex.slice(0, 8)}…${hex.slice(-8)}` : hex}`;
}

/** Everything that reaches the page from a report goes through here. */
export function esc(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
    .replace(
      /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
}

const MAX_FAILURE_ROWS = 10_000;
const MAX_LIST_ITEMS = 1_000;
const MAX_KEYS = 40;
const MAX_DAYS = 366;

const num = (x: number): string => x.toLocaleString('en-US');

/**
 * The smallest bar drawn for a count above zero, in chart units (a few
 * pixels on screen). Scaled linearly, 1 invalid record among 4,000 would be
 * a tenth of a unit: invisible, and the chart would read all green.
 */
const MIN_BAR = 4;

/** Lengths of the parts of one stacked bar: each nonzero part at least MIN_BAR, the whole within `full`. */
export function barLengths(counts: readonly number[], max: number, full: number): number[] {
  const nonzero = counts.filter((c) => c > 0).length;
  // Room kept for the minimums, so that a full bar still fits.
  const scale = Math.max(0, full - nonzero * MIN_BAR) / Math.max(1, max);
  return counts.map((c) => (c > 0 ? MIN_BAR + c * scale : 0));
}

/** A red marker beside any bar with failures, so that a thin sliver is not the only sign of them. */
function marker(x: number, y: number, title: string): string {
  return `<path class="marker" d="M${x.toFixed(1)} ${(y - 5).toFixed(1)}l5 9h-10z"><title>${esc(title)}</title></path>`;
}
interface Bar {
  label: string;
  title: string;
  counts: Counts;
}

/** Horizontal stacked bars (valid, invalid) for each row. */
function barsByRow(id: string, rows: Bar[]): string {
  const rowH = 26;
  const labelW = 300;
  const barW = 480;
  const max = Math.max(1, ...rows.map((r) => r.counts.valid + r.counts.invalid));
  const h = rows.length * rowH + 10;
  const parts: string[] = [];
  rows.forEach((r, i) => {
    const y = 5 + i * rowH;
    const [vw = 0, iw = 0] = barLengths([r.counts.valid, r.counts.invalid], max, barW);
    parts.push(
      `<g class="row"><text x="${labelW - 8}" y="${y + 16}" text-anchor="end" class="label">${esc(r.label)}<title>${esc(r.title)}</title></text>` +
        `<rect class="bar valid" x="${labelW}" y="${y + 3}" width="${vw.toFixed(1)}" height="${rowH - 8}" data-count="${r.counts.valid}"><title>${esc(`${r.title}: ${num(r.counts.valid)} valid`)}</title></rect>` +
        `<rect class="bar invalid" x="${(labelW + vw).toFixed(1)}" y="${y + 3}" width="${iw.toFixed(1)}" height="${rowH - 8}" data-count="${r.counts.invalid}"><title>${esc(`${r.title}: ${num(r.counts.invalid)} invalid`)}</title></rect>` +
        (r.counts.invalid > 0
          ? marker(labelW + vw + iw + 10, y + 12, `${r.title}: ${num(r.counts.invalid)} invalid`)
          : '') +
        `<text x="${(labelW + vw + iw + (r.counts.invalid > 0 ? 20 : 6)).toFixed(1)}" y="${y + 16}" class="value${r.counts.invalid > 0 ? ' bad' : ''}">${num(r.counts.valid)} / ${num(r.counts.invalid)}</text></g>`,
    );
  });
  return `<svg id="${id}" class="chart" role="img" viewBox="0 0 ${labelW + barW + 140} ${h}" width="100%" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`;
}

/** Vertical stacked bars per day, on a fixed-width plot so that a few days do not turn into giant bars. */
function barsByDay(id: string, days: [string, Counts][]): string {
  const W = 960;
  const left = 60;
  const plotW = W - left - 20;
  const colW = Math.max(2, Math.min(36, Math.floor(plotW / Math.max(1, days.length))));
  const plotH = 160;
  const max = Math.max(1, ...days.map(([, c]) => c.valid + c.invalid));
  const labelEach = days.length <= 31;
  const parts: string[] = [];
  days.forEach(([day, c], i) => {
    const x = left + i * colW;
    const [vh = 0, ih = 0] = barLengths([c.valid, c.invalid], max, plotH);
    const gap = colW > 6 ? 2 : 0;
    parts.push(
      `<g class="col" data-day="${esc(day)}">` +
        `<rect class="bar valid" x="${x}" y="${(10 + plotH - vh).toFixed(1)}" width="${colW - gap}" height="${vh.toFixed(1)}" data-count="${c.valid}"><title>${esc(`${day}: ${num(c.valid)} valid`)}</title></rect>` +
        `<rect class="bar invalid" x="${x}" y="${(10 + plotH - vh - ih).toFixed(1)}" width="${colW - gap}" height="${ih.toFixed(1)}" data-count="${c.invalid}"><title>${esc(`${day}: ${num(c.invalid)} invalid`)}</title></rect>` +
        (c.invalid > 0
          ? marker(x + (colW - gap) / 2, Math.max(6, 10 + plotH - vh - ih - 6), `${day}: ${num(c.invalid)} invalid`)
          : '') +
        (labelEach
          ? `<text x="${x + (colW - gap) / 2}" y="${plotH + 24}" text-anchor="end" transform="rotate(-45 ${x + (colW - gap) / 2} ${plotH + 24})" class="value">${esc(day.slice(5))}</text>`
          : '') +
        '</g>',
    );
  });
  const first = days[0]?.[0] ?? '';
  const last = days[days.length - 1]?.[0] ?? '';
  const axis =
    `<text x="${left - 6}" y="20" text-anchor="end" class="value">${num(max)}</text><text x="${left - 6}" y="${10 + plotH}" text-anchor="end" class="value">0</text>` +
    `<line x1="${left}" y1="${10 + plotH}" x2="${left + days.length * colW}" y2="${10 + plotH}" stroke="#8a93a3"/>` +
    (labelEach
      ? `<text x="${left}" y="${plotH + 62}" class="value">${esc(first.slice(0, 4))}</text>`
      : `<text x="${left}" y="${plotH + 28}" class="value">${esc(first)}</text><text x="${left + days.length * colW}" y="${plotH + 28}" text-anchor="end" class="value">${esc(last)}</text>`);
  return `<svg id="${id}" class="chart" role="img" viewBox="0 0 ${W} ${plotH + 70}" width="100%" xmlns="http://www.w3.org/2000/svg">${axis}${parts.join('')}</svg>`;
}

function tile(id: string, value: number, label: string, cls = ''): string {
  return `<div class="tile ${cls}"><span class="num" id="${id}">${value}</span><span class="lbl">${esc(label)}</span></div>`;
}

/** The verifiable log: its checkpoint, and completeness both ways (`data-status` is the stable hook). */
function logSection(l: LogSummary): string {
  const status =
    l.status === 'unreadable'
      ? 'The log could not be read.'
      : l.size === null
        ? 'The log does not verify.'
        : `Origin <code>${esc(l.origin ?? '')}</code>, size ${num(l.size)}, root <code>${esc(l.root ?? '')}</code>: ${num(l.records_in_log)} entries have a record.${
            l.consistent === false
              ? ' The log is not consistent with the checkpoint the previous run saw: it was rewritten or rolled back.'
              : l.consistent
                ? ` It grew from size ${num(l.previous!.size)}.`
                : ''
          }`;
  const sizes = l.inconsistent_checkpoints.map((n) => `checkpoint of size ${n}`);
  return `<section id="log"><h2>Verifiable log <code>${esc(l.source)}</code></h2><p id="log-status" data-status="${esc(l.status)}">${status}</p>${list(
    'log-missing',
    'Log entries without a record',
    l.missing.map((i) => `entry ${i}`),
  )}${list('log-not-in-log', 'Records not in the log', l.not_in_log)}${list('log-inconsistent', 'Checkpoints of another history', sizes)}</section>`;
}

function list(id: string, title: string, items: string[] | undefined): string {
  if (!items || items.length === 0) return '';
  const shown = items.slice(0, MAX_LIST_ITEMS);
  const more =
    items.length > shown.length
      ? `<li class="more">… and ${num(items.length - shown.length)} more (see the JSON report)</li>`
      : '';
  return `<h3>${esc(title)} (${num(items.length)})</h3><ul id="${id}">${shown.map((s) => `<li>${esc(s)}</li>`).join('')}${more}</ul>`;
}

/** Rows of name and count, in the report's order. */
function countTable(id: string, head: string, entries: [string, number][]): string {
  return `<table id="${id}" class="counts"><thead><tr><th>${esc(head)}</th><th>Count</th></tr></thead><tbody>${entries
    .map(([k, v]) => `<tr><td><code>${esc(k)}</code></td><td class="n">${num(v)}</td></tr>`)
    .join('')}</tbody></table>`;
}

const TRUST_MEANING: Record<string, string> = {
  pinned: 'signed by a key you pinned',
  attested: 'signed by a key hardware-attested to a root you pinned',
  'embedded-only': 'signed by the key the record names, which nothing vouches for: "someone signed this", not who',
};

/** How far the page can be trusted: a banner when no key was pinned, and valid records by trust level. */
function trustBlock(r: Report): string {
  const nothingPinned = r.trust.pinned_keys === 0 && r.trust.attestation_roots === 0;
  const embeddedOnly = r.by_trust['embedded-only'] ?? 0;
  const banner = nothingPinned
    ? '<p id="trust-banner" class="banner" data-trust="none-pinned"><strong>No key was pinned.</strong> "Valid" here means only that each record verifies under the key it carries itself (embedded-only): someone signed it, not necessarily you. Pin your keys (pinned public keys or a trust file).</p>'
    : embeddedOnly > 0
      ? `<p id="trust-banner" class="banner" data-trust="some-embedded-only"><strong>${num(embeddedOnly)} valid record${embeddedOnly === 1 ? '' : 's'} verified only under the key they carry (embedded-only):</strong> someone signed them, not a key you pinned.</p>`
      : '';
  const levels = Object.entries(r.by_trust);
  const rows = levels
    .map(
      ([level, n]) =>
        `<tr data-trust="${esc(level)}"><td>${esc(level)}</td><td class="n">${num(n)}</td><td>${esc(TRUST_MEANING[level] ?? '')}</td></tr>`,
    )
    .join('');
  return `<section id="trust"><h2>Trust</h2>${banner}<p class="meta">${r.trust.pinned_keys} pinned key(s), ${r.trust.attestation_roots} attestation root(s)${
    r.trust.require_attestation ? ', attestation required' : ''
  }.</p>${
    levels.length
      ? `<table id="by-trust"><thead><tr><th>Valid records</th><th>Count</th><th>Meaning</th></tr></thead><tbody>${rows}</tbody></table>`
      : ''
  }</section>`;
}

/**
 * The per-key chart of a report as SVG markup (every string escaped): the
 * busiest keys, the rest as one row. Shared by this report and the web page.
 */
export function keyChart(r: Report): string {
  const keyEntries = Object.entries(r.by_key).sort(([, a], [, b]) => b.valid + b.invalid - (a.valid + a.invalid));
  const keyRows: Bar[] = keyEntries.slice(0, MAX_KEYS).map(([id, k]) => ({
    label: `${shortKey(id)}${k.label ? ` "${k.label}"` : ''}`,
    title: `${id}${k.label ? ` (${k.label})` : ''}`,
    counts: k,
  }));
  if (keyEntries.length > MAX_KEYS) {
    const rest = keyEntries
      .slice(MAX_KEYS)
      .reduce((c, [, k]) => ({ valid: c.valid + k.valid, invalid: c.invalid + k.invalid }), { valid: 0, invalid: 0 });
    keyRows.push({ label: `${keyEntries.length - MAX_KEYS} other keys`, title: 'other keys', counts: rest });
  }
  return keyRows.length ? barsByRow('chart-keys', keyRows) : '<p id="chart-keys">No record could be parsed.</p>';
}

/** The per-day chart of a report as SVG markup (the last MAX_DAYS days), and a line for records without a day. */
export function dayChart(r: Report): string {
  const shownDays = Object.entries(r.by_day)
    .filter(([d]) => d !== 'unknown')
    .slice(-MAX_DAYS);
  const noDay = r.by_day.unknown;
  return `${shownDays.length ? barsByDay('chart-days', shownDays) : '<p id="chart-days">No record carries a timestamp.</p>'}${
    noDay
      ? `<p class="meta">Without a readable timestamp: ${num(noDay.valid)} valid, ${num(noDay.invalid)} invalid.</p>`
      : ''
  }`;
}

function timestampRow(attr: 'key' | 'day', id: string, label: string, c: TimestampCounts): string {
  return `<tr data-${attr}="${esc(id)}"><td>${esc(label)}</td><td class="n timestamped">${num(c.timestamped)}</td><td class="n not-timestamped">${num(
    c.not_timestamped,
  )}</td><td class="n unverified">${num(c.unverified)}</td></tr>`;
}

function timestampRows(id: string, head: string, rows: string[]): string {
  return `<table id="${id}" class="counts"><thead><tr><th>${esc(head)}</th><th>Timestamped</th><th>Not timestamped</th><th>Of which a token not verified</th></tr></thead><tbody>${rows.join(
    '',
  )}</tbody></table>`;
}

/**
 * Trusted timestamps (RFC 3161) of a report as HTML markup (every string
 * escaped): the totals, and by signing key and by day (the last MAX_DAYS)
 * when any record carries a token. Empty for a report that does not count
 * them. Shared by this report and the web page.
 */
export function timestampTable(r: Report): string {
  const ts = r.timestamps;
  if (!ts) return '';
  const records = ts.timestamped + ts.not_timestamped;
  const head = `<p id="timestamps-total" data-timestamped="${ts.timestamped}" data-not-timestamped="${ts.not_timestamped}" data-unverified="${ts.unverified}">${num(
    ts.timestamped,
  )} of ${num(records)} records carry a timestamp verified against a pinned TSA root${
    ts.unverified > 0 ? `; ${num(ts.unverified)} carry a token that was not verified` : ''
  }.</p>`;
  if (ts.timestamped + ts.unverified === 0) return head;
  const keys = Object.entries(ts.by_key).map(([id, c]) => {
    const label = r.by_key[id]?.label;
    return timestampRow('key', id, `${shortKey(id)}${label ? ` "${label}"` : ''}`, c);
  });
  const days = Object.entries(ts.by_day)
    .slice(-MAX_DAYS)
    .map(([day, c]) => timestampRow('day', day, day, c));
  return `${head}${keys.length ? timestampRows('timestamps-by-key', 'Signing key', keys) : ''}${timestampRows('timestamps-by-day', 'Day', days)}`;
}

export interface HtmlOptions {
  /** When the run happened; left out for reproducible (byte-identical) reports. */
  generatedAt?: Date;
  /** The version of the tool that made the report (erst-batch's); left out for reproducible reports. */
  version?: string;
}

/**
 * A self-contained page: inline CSS, SVG and script, no external resource
 * (its Content-Security-Policy forbids any), every report string escaped.
 */
export function htmlReport(r: Report, options: HtmlOptions = {}): string {
  const t = r.totals;
  const result = r.exit_code === 0 ? 'PASS' : r.exit_code === 1 ? 'FAIL' : 'ERROR';
  const days = Object.entries(r.by_day).filter(([d]) => d !== 'unknown');
  const shownDays = days.slice(-MAX_DAYS);
  const failureRows = r.failures.slice(0, MAX_FAILURE_ROWS);
  const formats = Object.entries(r.by_format)
    .map(
      ([f, c]) => `<tr><td>${esc(f)}</td><td class="n">${num(c.valid)}</td><td class="n">${num(c.invalid)}</td></tr>`,
    )
    .join('');
  const codes = Object.entries(r.by_code);
  const warnings = Object.entries(r.warnings);
  const codesBlock = `<section id="codes"><h2>Failures by code</h2>${codes.length ? countTable('by-code', 'Code', codes) : '<p id="by-code">None.</p>'}<h2>Warnings</h2>${
    warnings.length ? countTable('warnings', 'Warning', warnings) : '<p id="warnings">None.</p>'
  }</section>`;
  const generated =
    options.generatedAt || options.version
      ? `<p class="meta" id="generated">Generated${options.generatedAt ? ` <time datetime="${esc(options.generatedAt.toISOString())}">${esc(options.generatedAt.toISOString())}</time>` : ''}${
          options.version ? ` by erst-batch ${esc(options.version)}` : ''
        }</p>`
      : '';
  const stateBlock = r.state
    ? `<section id="state"><h2>Since the previous run</h2><p id="state-status" data-status="${esc(r.state.status)}">${
        r.state.status === 'baseline'
          ? `No previous state: a baseline of ${num(r.state.records)} records was recorded.`
          : r.state.status === 'tampered'
            ? r.failures.some((f) => f.code === 'ERR_STATE_ROLLBACK')
              ? 'The state file is not the one the expected digest names (rolled back or replaced): it was not used.'
              : 'The previous state file cannot be trusted (tampered): it was not used.'
            : `Compared with ${num(r.state.previous_records)} records seen before.`
      }</p>${(r.state.digests ?? [])
        .map(
          (s) =>
            `<p class="meta state-digest">State <code>${esc(s.file)}</code> in place: sequence ${s.sequence}, digest <code>${esc(s.digest)}</code></p>`,
        )
        .join(
          '',
        )}${list('missing', 'Missing', r.missing)}${list('changed', 'Changed', r.changed)}${list('new', 'New', r.new)}</section>`
    : '';
  const logBlock = r.log ? logSection(r.log) : '';

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>erst-batch report: ${result}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header,section{max-width:1100px;margin:0 auto;padding:12px 24px}
h1{font-size:22px;margin:16px 0 4px}h2{font-size:17px;margin:18px 0 8px}h3{font-size:15px}
.result{display:inline-block;padding:2px 10px;border-radius:4px;font-weight:600;color:#fff}
.result.PASS{background:#1a7f37}.result.FAIL{background:#c62828}.result.ERROR{background:#8a5a00}
#totals{display:flex;flex-wrap:wrap;gap:10px}
.tile{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:10px 16px;min-width:110px}
.tile .num{display:block;font-size:24px;font-weight:600}.tile .lbl{color:#5b6473}
.tile.bad .num{color:#c62828}.tile.good .num{color:#1a7f37}
.chart{background:#fff;border:1px solid #dde1e6;border-radius:6px}
.bar.valid{fill:#2da44e}.bar.invalid{fill:#d1242f}
.label,.value{font-size:12px;fill:#1d2330}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #dde1e6;padding:4px 8px;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
#failures td:first-child{font-family:ui-monospace,monospace;word-break:break-all}
#failures td:nth-child(2){font-family:ui-monospace,monospace;white-space:nowrap}
#filter{padding:4px 8px;width:320px;margin-bottom:8px}
.meta{color:#5b6473}
.legend{color:#5b6473;font-size:13px}.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 10px}
.sw.valid{background:#2da44e}.sw.invalid{background:#d1242f}
.marker{fill:#d1242f}.value.bad{fill:#d1242f;font-weight:600}
.banner{background:#fff4e5;border:1px solid #d18b00;border-radius:6px;padding:8px 12px}
table.counts{width:auto;min-width:320px}
</style>
</head>
<body data-result="${result}">
<header>
<h1>erst-batch audit report <span class="result ${result}" id="result">${result}</span></h1>
<p class="meta">Inputs: ${r.inputs.map((i) => `<code>${esc(i)}</code>`).join(', ')}${r.shard ? ` · shard ${esc(r.shard)}` : ''}${
    r.merged_from ? ` · merged from ${r.merged_from.length} reports` : ''
  } · ${r.trust.pinned_keys} pinned key(s), ${r.trust.attestation_roots} attestation root(s)${r.trust.require_attestation ? ', attestation required' : ''}</p>
${generated}
</header>
<section id="totals">
${tile('total-records', t.records, 'records')}
${tile('total-valid', t.valid, 'valid', 'good')}
${tile('total-invalid', t.invalid, 'invalid', t.invalid ? 'bad' : '')}
${tile('total-unreadable', t.unreadable, 'unreadable inputs', t.unreadable ? 'bad' : '')}
${r.timestamps ? tile('total-timestamped', r.timestamps.timestamped, 'timestamped (RFC 3161)') : ''}
${r.state ? `${tile('total-missing', r.missing?.length ?? 0, 'missing', r.missing?.length ? 'bad' : '')}${tile('total-changed', r.changed?.length ?? 0, 'changed', r.changed?.length ? 'bad' : '')}${tile('total-new', r.new?.length ?? 0, 'new')}` : ''}
</section>
${trustBlock(r)}
<p class="legend" style="max-width:1100px;margin:8px auto 0;padding:0 24px"><span class="sw valid"></span>valid<span class="sw invalid"></span>invalid</p>
<section><h2>Results per signing key</h2>${keyChart(r)}</section>
<section><h2>Results per day${days.length > shownDays.length ? ` (last ${MAX_DAYS} of ${days.length} days)` : ''}</h2>${dayChart(r)}</section>
${r.timestamps ? `<section id="timestamps"><h2>Trusted timestamps (RFC 3161)</h2>${timestampTable(r)}</section>` : ''}
${codesBlock}
<section><h2>By format</h2><table id="formats"><thead><tr><th>Format</th><th>Valid</th><th>Invalid</th></tr></thead><tbody>${formats}</tbody></table></section>
${stateBlock}
${logBlock}
<section><h2>Failures (<span id="failure-count">${r.failures.length}</span>)</h2>
${r.failures.length ? '<input id="filter" type="search" placeholder="Filter by source, code or message" aria-label="Filter failures"> <span id="shown" class="meta"></span>' : ''}
<table id="failures"><thead><tr><th>Source</th><th>Code</th><th>Message</th></tr></thead><tbody>
${failureRows.map((f) => `<tr data-kind="${esc(f.kind)}"><td>${esc(f.source)}</td><td>${esc(f.code)}</td><td>${esc(f.message)}</td></tr>`).join('\n')}
</tbody></table>
${r.failures.length > failureRows.length ? `<p class="meta" id="failures-truncated">Showing the first ${num(failureRows.length)} of ${num(r.failures.length)} failures; the JSON report lists them all.</p>` : ''}
</section>
<script>
(function () {
  var input = document.getElementById('filter');
  var rows = Array.prototype.slice.call(document.querySelectorAll('#failures tbody tr'));
  var shown = document.getElementById('shown');
  function apply() {
    var q = input ? input.value.toLowerCase() : '';
    var n = 0;
    rows.forEach(function (tr) {
      var hit = !q || tr.textContent.toLowerCase().indexOf(q) !== -1;
      tr.hidden = !hit;
      if (hit) n++;
    });
    if (shown) shown.textContent = n + ' of ' + rows.length + ' shown';
  }
  if (input) input.addEventListener('input', apply);
  apply();
  document.body.setAttribute('data-ready', 'true');
})();
</script>
</body>
</html>
`;
}

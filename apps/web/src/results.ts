import { type Failure, type Report, dayChart, keyChart } from '@erst/batch-verify/report';
import { $, h, num } from './dom.js';

/** What each trust level means, in the words of erst-batch's HTML report. */
const TRUST_MEANING: Record<string, string> = {
  pinned: 'signed by a key you pinned',
  attested: 'signed by a key hardware-attested to a root you pinned',
  'embedded-only': 'signed by the key the record names, which nothing vouches for: "someone signed this", not who',
};

/** Failure rows drawn at once: past this the filter narrows them (the downloaded report has all). */
const MAX_ROWS = 1_000;

export function verdictOf(r: Report): 'PASS' | 'FAIL' | 'ERROR' {
  return r.exit_code === 0 ? 'PASS' : r.exit_code === 1 ? 'FAIL' : 'ERROR';
}

/** The stable hook for scripts and monitoring: `#summary` with the totals as data attributes, and tiles. */
function summary(r: Report): HTMLElement {
  const t = r.totals;
  const tile = (n: number, label: string, cls = '') =>
    h('div', { class: `tile ${cls}` }, h('span', { class: 'n' }, num(n)), h('span', { class: 'l' }, label));
  return h(
    'div',
    {
      id: 'summary',
      'data-records': String(t.records),
      'data-valid': String(t.valid),
      'data-invalid': String(t.invalid),
      'data-unreadable': String(t.unreadable),
      'data-exit-code': String(r.exit_code),
    },
    tile(t.records, 'records'),
    tile(t.valid, 'valid', 'good'),
    tile(t.invalid, 'invalid', t.invalid ? 'bad' : ''),
    tile(t.unreadable, 'unreadable inputs', t.unreadable ? 'bad' : ''),
  );
}

function trustBanner(r: Report): string {
  const embeddedOnly = r.by_trust['embedded-only'] ?? 0;
  if (r.trust.pinned_keys === 0 && r.trust.attestation_roots === 0) {
    return 'No key was pinned: "valid" means only that each record verifies under the key it carries itself (embedded-only). Someone signed it, not necessarily whom you expect. Pin keys or pick a trust file above.';
  }
  if (embeddedOnly > 0) {
    return `${num(embeddedOnly)} valid record${embeddedOnly === 1 ? '' : 's'} verified only under the key they carry (embedded-only): someone signed them, not a key you pinned.`;
  }
  return '';
}

function fillTable(id: string, head: string[], rows: (string | number)[][]): void {
  // Numbers align right, in their headers too.
  const numeric = head.map((_, i) => typeof rows[0]?.[i] === 'number');
  $(id).replaceChildren(
    h(
      'thead',
      {},
      h('tr', {}, ...head.map((c, i) => h('th', numeric[i] ? { scope: 'col', class: 'n' } : { scope: 'col' }, c))),
    ),
    h(
      'tbody',
      {},
      ...(rows.length
        ? rows.map((row) =>
            h(
              'tr',
              {},
              ...row.map((c) =>
                h('td', typeof c === 'number' ? { class: 'n' } : {}, typeof c === 'number' ? num(c) : c),
              ),
            ),
          )
        : [h('tr', {}, h('td', { colspan: String(head.length) }, 'None.'))]),
    ),
  );
}

type SortKey = 'source' | 'code' | 'message' | 'kind';

/**
 * The failure table: sortable by any column (the header buttons, with
 * aria-sort), filtered by text and by code. Sources with kept bytes open the
 * record's detail view.
 */
export class FailureTable {
  #failures: Failure[] = [];
  #sort: SortKey = 'source';
  #descending = false;
  readonly #openDetail: (source: string) => void;
  #hasDetail: (source: string) => boolean = () => false;

  constructor(openDetail: (source: string) => void) {
    this.#openDetail = openDetail;
    $('failure-filter').addEventListener('input', () => this.render());
    $('failure-code').addEventListener('change', () => this.render());
    for (const b of $('failures').querySelectorAll<HTMLButtonElement>('th button')) {
      b.addEventListener('click', () => {
        const key = b.dataset.sort as SortKey;
        this.#descending = this.#sort === key ? !this.#descending : false;
        this.#sort = key;
        this.render();
      });
    }
  }

  show(failures: Failure[], hasDetail: (source: string) => boolean): void {
    this.#failures = failures;
    this.#hasDetail = hasDetail;
    const codes = [...new Set(failures.map((f) => f.code))].sort();
    const select = $<HTMLSelectElement>('failure-code');
    select.replaceChildren(h('option', { value: '' }, 'All codes'), ...codes.map((c) => h('option', { value: c }, c)));
    $<HTMLInputElement>('failure-filter').value = '';
    $('failure-count').textContent = num(failures.length);
    this.render();
  }

  render(): void {
    const q = $<HTMLInputElement>('failure-filter').value.trim().toLowerCase();
    const code = $<HTMLSelectElement>('failure-code').value;
    const key = this.#sort;
    const dir = this.#descending ? -1 : 1;
    const shown = this.#failures
      .filter(
        (f) =>
          (code === '' || f.code === code) &&
          (q === '' || `${f.source}\n${f.code}\n${f.message}`.toLowerCase().includes(q)),
      )
      .sort((a, b) => (a[key] < b[key] ? -dir : a[key] > b[key] ? dir : 0));
    const rows = shown.slice(0, MAX_ROWS).map((f) => {
      const source = this.#hasDetail(f.source)
        ? h('button', { type: 'button', 'data-source': f.source, title: 'Show this record' }, f.source)
        : f.source;
      return h(
        'tr',
        { 'data-kind': f.kind },
        h('td', {}, source),
        h('td', {}, f.code),
        h('td', {}, f.message),
        h('td', {}, f.kind),
      );
    });
    const body = $('failures').querySelector('tbody')!;
    body.replaceChildren(...rows);
    for (const b of body.querySelectorAll<HTMLButtonElement>('button[data-source]'))
      b.addEventListener('click', () => this.#openDetail(b.dataset.source!));
    for (const th of $('failures').querySelectorAll('th')) {
      const k = th.querySelector('button')?.dataset.sort;
      th.setAttribute('aria-sort', k === key ? (this.#descending ? 'descending' : 'ascending') : 'none');
    }
    $('failure-shown').textContent =
      shown.length > MAX_ROWS
        ? `${num(MAX_ROWS)} of ${num(shown.length)} matching shown; narrow the filter, or download the report for all`
        : `${num(shown.length)} of ${num(this.#failures.length)} shown`;
  }
}

/** Draws the result view: totals (the #summary hook), verdict, trust, charts, tables, failures. */
export function showResults(r: Report, table: FailureTable, hasDetail: (source: string) => boolean): void {
  const verdict = verdictOf(r);
  const v = $('verdict');
  v.textContent = verdict;
  v.className = `verdict ${verdict}`;
  $('summary-slot').replaceChildren(summary(r));
  const banner = trustBanner(r);
  $('trust-banner').textContent = banner;
  $('trust-banner').hidden = banner === '';
  // The charts are @erst/batch-verify's own SVG (the erst-batch HTML report's), every string escaped there.
  $('keys-chart').innerHTML = keyChart(r);
  $('days-chart').innerHTML = dayChart(r);
  fillTable(
    'by-format',
    ['Format', 'Valid', 'Invalid'],
    Object.entries(r.by_format).map(([f, c]) => [f, c.valid, c.invalid]),
  );
  fillTable(
    'by-trust',
    ['Trust', 'Valid records', 'Meaning'],
    Object.entries(r.by_trust).map(([t, n]) => [t, n, TRUST_MEANING[t] ?? '']),
  );
  fillTable('by-code', ['Code', 'Count'], Object.entries(r.by_code));
  fillTable('warnings', ['Warning', 'Records'], Object.entries(r.warnings));
  fillTable(
    'by-input',
    ['Input', 'Valid', 'Invalid', 'Unreadable'],
    Object.entries(r.by_input).map(([i, c]) => [i, c.valid, c.invalid, c.unreadable]),
  );
  table.show(r.failures, hasDetail);
  $('results').hidden = false;
}

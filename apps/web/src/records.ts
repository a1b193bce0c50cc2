import { $, h, num } from './dom.js';
import type { RecordIndex } from './run.js';

/** Rows drawn at once: a page of the list, moved through with Previous and Next. */
const PAGE_ROWS = 100;

/** A record of the list: its source, its input's index, its verdict. */
interface Row {
  source: string;
  input: number;
  valid: boolean;
}

/**
 * Every record verified, each a button that opens its detail view: found by
 * any part of its source, filtered by verdict, a page at a time (a run may
 * hold millions; the DOM holds a hundred rows).
 */
export class RecordList {
  #rows: Row[] = [];
  #bySource = new Map<string, number>();
  #page = 0;
  readonly #open: (source: string, input: number) => void;

  constructor(open: (source: string, input: number) => void) {
    this.#open = open;
    const again = () => {
      this.#page = 0;
      this.render();
    };
    $('record-filter').addEventListener('input', again);
    $('record-verdict').addEventListener('change', again);
    $('record-prev').addEventListener('click', () => {
      this.#page = Math.max(0, this.#page - 1);
      this.render();
    });
    $('record-next').addEventListener('click', () => {
      this.#page++;
      this.render();
    });
    $('records')
      .querySelector('tbody')!
      .addEventListener('click', (e) => {
        const b = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-source]');
        if (b) this.#open(b.dataset.source!, Number(b.dataset.input));
      });
  }

  /** The input a verified record came from, or undefined when it is not listed. */
  inputOf(source: string): number | undefined {
    return this.#bySource.get(source);
  }

  show(index: RecordIndex): void {
    this.#rows = index.sources.map((source, i) => ({ source, input: index.inputs[i]!, valid: index.valid[i]! }));
    // In input order, then by source: results arrive in whatever order the verifiers finish.
    this.#rows.sort((a, b) => a.input - b.input || (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
    this.#bySource = new Map(this.#rows.map((r) => [r.source, r.input]));
    this.#page = 0;
    $<HTMLInputElement>('record-filter').value = '';
    $<HTMLSelectElement>('record-verdict').value = '';
    $('record-count').textContent =
      index.unlisted > 0
        ? `${num(this.#rows.length)} listed of ${num(this.#rows.length + index.unlisted)}`
        : num(this.#rows.length);
    this.render();
  }

  render(): void {
    const q = $<HTMLInputElement>('record-filter').value.trim().toLowerCase();
    const verdict = $<HTMLSelectElement>('record-verdict').value;
    const matching = this.#rows.filter(
      (r) => (verdict === '' || r.valid === (verdict === 'valid')) && (q === '' || r.source.toLowerCase().includes(q)),
    );
    const pages = Math.max(1, Math.ceil(matching.length / PAGE_ROWS));
    this.#page = Math.min(this.#page, pages - 1);
    const first = this.#page * PAGE_ROWS;
    const rows = matching
      .slice(first, first + PAGE_ROWS)
      .map((r) =>
        h(
          'tr',
          {},
          h(
            'td',
            {},
            h(
              'button',
              { type: 'button', 'data-source': r.source, 'data-input': String(r.input), title: 'Show this record' },
              r.source,
            ),
          ),
          h('td', { class: r.valid ? 'good' : 'bad' }, r.valid ? 'valid' : 'invalid'),
        ),
      );
    $('records')
      .querySelector('tbody')!
      .replaceChildren(...rows);
    $<HTMLButtonElement>('record-prev').disabled = this.#page === 0;
    $<HTMLButtonElement>('record-next').disabled = this.#page >= pages - 1;
    $('record-shown').textContent = matching.length
      ? `${num(first + 1)} to ${num(first + rows.length)} of ${num(matching.length)} matching`
      : 'None match.';
  }
}

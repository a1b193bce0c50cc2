/**
 * Progress on stderr for long runs (`erst audit sign --batch`, `erst-batch
 * verify`): a bar with count, rate and ETA on a terminal, redrawn five times a
 * second; one plain line every 5 s otherwise, so that a cron log shows the run
 * is alive without filling up.
 */

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600
    ? `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`
    : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** What a progress line names: `erst: batch: 10 lines` has label `erst: batch` and unit `lines`. */
export interface ProgressLabels {
  label: string;
  unit: string;
}

const DEFAULT_LABELS: ProgressLabels = { label: 'erst: batch', unit: 'lines' };

/** The progress text: a bar with rate and ETA for a terminal, or one plain line for logs. */
export function progressLine(
  done: number,
  total: number | undefined,
  seconds: number,
  tty: boolean,
  labels: ProgressLabels = DEFAULT_LABELS,
): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const rate = seconds > 0 ? done / seconds : 0;
  if (total === undefined || total === 0) return `${labels.label}: ${n(done)} ${labels.unit}, ${n(rate)}/s`;
  const frac = Math.min(1, done / total);
  const eta = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY;
  const pct = Math.round(frac * 100);
  if (!tty)
    return `${labels.label}: ${n(done)} of ${n(total)} ${labels.unit} (${pct}%), ${n(rate)}/s, ETA ${duration(eta)}`;
  const width = 30;
  const full = Math.round(frac * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(pct).padStart(3)}% ${n(done)}/${n(total)} ${n(rate)}/s ETA ${duration(eta)}`;
}

/** A bar with rate and ETA on a terminal (stderr), a plain line every 5 s otherwise; started by the first update. */
export class Progress {
  readonly #tty: boolean;
  readonly #labels: ProgressLabels;
  readonly #out: NodeJS.WritableStream;
  readonly #started = performance.now();
  #done = 0;
  #total: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #drawn = false;

  /**
   * `tty`: whether `out` reaches a terminal. It defaults to `out.isTTY`, which a
   * worker thread's stderr never has (it is a pipe to the main thread): a
   * worker passes `isatty(2)` of `node:tty` instead.
   */
  constructor(
    labels: ProgressLabels = DEFAULT_LABELS,
    out: NodeJS.WritableStream = process.stderr,
    tty = (out as { isTTY?: boolean }).isTTY === true,
  ) {
    this.#labels = labels;
    this.#out = out;
    this.#tty = tty;
  }

  update(progress: { done: number; total?: number | undefined }): void {
    this.#done = progress.done;
    this.#total = progress.total;
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#tick(), this.#tty ? 200 : 5000);
    this.#timer.unref();
  }

  #tick(): void {
    const secs = (performance.now() - this.#started) / 1000;
    const line = progressLine(this.#done, this.#total, secs, this.#tty, this.#labels);
    if (this.#tty) {
      this.#out.write(`\r\x1b[2K${line}`);
      this.#drawn = true;
    } else {
      this.#out.write(`${line}\n`);
    }
  }

  /** Clears the bar so that a message can be printed on its own line. */
  clear(): void {
    if (this.#drawn) {
      this.#out.write('\r\x1b[2K');
      this.#drawn = false;
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.clear();
  }
}

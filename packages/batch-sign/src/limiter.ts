/**
 * Keeps up to `limit` tasks running: `run` waits for a free place, so the
 * reader never gets further ahead of the signer than `limit` records.
 */
export class Limiter {
  #running = 0;
  #waiters: (() => void)[] = [];
  readonly #idle: (() => void)[] = [];

  constructor(readonly limit: number) {}

  /** Starts `task` once fewer than `limit` run; resolves when it has started, not when it ends. */
  async run(task: () => Promise<void>): Promise<void> {
    while (this.#running >= this.limit) await new Promise<void>((r) => this.#waiters.push(r));
    this.#running++;
    void task().finally(() => {
      this.#running--;
      this.#waiters.shift()?.();
      if (this.#running === 0) for (const r of this.#idle.splice(0)) r();
    });
  }

  /** Resolves once every task started has ended. */
  async drain(): Promise<void> {
    while (this.#running > 0) await new Promise<void>((r) => this.#idle.push(r));
  }
}

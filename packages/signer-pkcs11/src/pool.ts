import type { Handle } from './constants.js';

export interface Lease {
  readonly session: Handle;
  /** The pool generation the session was opened in: sessions from before a recovery are never reused. */
  readonly generation: number;
}

interface Waiter {
  resolve: (lease: Lease) => void;
  reject: (error: unknown) => void;
}

/**
 * Sessions for concurrent signing. PKCS#11 allows one operation at a time
 * per session, so each signature leases a session for its duration. Sessions
 * open lazily up to `size`; callers beyond that wait in order.
 */
export class SessionPool {
  readonly #open: () => Handle;
  readonly #close: (session: Handle) => void;
  #size: number;
  #idle: Lease[] = [];
  #count = 0;
  #waiters: Waiter[] = [];
  #generation = 0;
  #closed: Error | undefined;

  constructor(open: () => Handle, close: (session: Handle) => void, size: number) {
    this.#open = open;
    this.#close = close;
    this.#size = size;
  }

  get size(): number {
    return this.#size;
  }
  get generation(): number {
    return this.#generation;
  }
  /** Sessions open now (idle and leased). */
  get openSessions(): number {
    return this.#count;
  }

  acquire(): Lease | Promise<Lease> {
    if (this.#closed) return Promise.reject(this.#closed);
    const idle = this.#idle.pop();
    if (idle) return idle;
    if (this.#count < this.#size) {
      try {
        return this.#openOne();
      } catch (error) {
        // A token that caps sessions below our pool size: wait for one of ours instead.
        if (this.#count === 0) throw error;
      }
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Adopts a session opened elsewhere (the one that logged in) as an idle member of the current generation. */
  adopt(session: Handle): void {
    this.#count++;
    this.release({ session, generation: this.#generation });
  }

  #openOne(): Lease {
    this.#count++;
    try {
      return { session: this.#open(), generation: this.#generation };
    } catch (error) {
      this.#count--;
      if (this.#count > 0) this.#size = this.#count;
      throw error;
    }
  }

  /** Returns a session; `discard` closes it instead (after an error, its state is unknown). */
  release(lease: Lease, discard = false): void {
    if (discard || lease.generation !== this.#generation || this.#closed) {
      this.#count--;
      this.#close(lease.session);
      const waiter = this.#closed ? undefined : this.#waiters.shift();
      if (waiter) {
        try {
          waiter.resolve(this.#openOne());
        } catch (error) {
          waiter.reject(error);
        }
      }
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(lease);
    else this.#idle.push(lease);
  }

  /** After a lost login: closes idle sessions and retires leased ones as they come back. */
  invalidate(): void {
    this.#generation++;
    const idle = this.#idle;
    this.#idle = [];
    for (const l of idle) {
      this.#count--;
      this.#close(l.session);
    }
  }

  /** Closes idle sessions and refuses new leases; leased sessions close on release. */
  shutdown(error: Error): void {
    this.#closed = error;
    this.invalidate();
    for (const w of this.#waiters.splice(0)) w.reject(error);
  }

  /** One idle session to run something on (logout) before shutdown, if there is one. */
  peekIdle(): Handle | undefined {
    return this.#idle[this.#idle.length - 1]?.session;
  }
}

import { describe, expect, it } from 'vitest';
import { type Lease, SessionPool } from '../pool.js';

function fakePool(size: number) {
  let next = 1;
  const closed: number[] = [];
  const pool = new SessionPool(
    () => {
      const b = Buffer.alloc(8);
      b.writeUInt32LE(next++);
      return b;
    },
    (s) => closed.push(s.readUInt32LE(0)),
    size,
  );
  return { pool, closed, opened: () => next - 1 };
}

describe('SessionPool', () => {
  it('opens sessions lazily up to its size, then queues callers in order', async () => {
    const { pool, opened } = fakePool(2);
    const a = await pool.acquire();
    const b = await pool.acquire();
    expect(opened()).toBe(2);
    const order: number[] = [];
    const track = (n: number) => (l: Lease) => {
      order.push(n);
      return l;
    };
    const c = Promise.resolve(pool.acquire()).then(track(1));
    const d = Promise.resolve(pool.acquire()).then(track(2));
    pool.release(a);
    pool.release(b);
    const [lc, ld] = await Promise.all([c, d]);
    expect(order).toEqual([1, 2]);
    expect(lc.session).toBe(a.session);
    expect(ld.session).toBe(b.session);
    expect(opened()).toBe(2);
  });

  it('closes a discarded session and opens a fresh one for a waiter', async () => {
    const { pool, closed, opened } = fakePool(1);
    const a = await pool.acquire();
    const waiting = pool.acquire();
    pool.release(a, true);
    const b = await waiting;
    expect(closed).toEqual([1]);
    expect(b.session.readUInt32LE(0)).toBe(2);
    expect(opened()).toBe(2);
    expect(pool.openSessions).toBe(1);
  });

  it('retires sessions of an older generation after invalidate()', async () => {
    const { pool, closed } = fakePool(2);
    const a = await pool.acquire();
    const b = await pool.acquire();
    pool.release(b);
    pool.invalidate();
    expect(closed).toEqual([2]);
    pool.release(a);
    expect(closed).toEqual([2, 1]);
    const c = await pool.acquire();
    expect(c.generation).toBe(1);
    expect(pool.openSessions).toBe(1);
  });

  it('shrinks to what the token allows when opening fails, and waits instead', async () => {
    let n = 0;
    const pool = new SessionPool(
      () => {
        if (++n > 1) throw Object.assign(new Error('CKR_SESSION_COUNT'), { code: 0xb1 });
        return Buffer.alloc(8);
      },
      () => {},
      4,
    );
    const a = await pool.acquire();
    const waiting = pool.acquire();
    expect(pool.size).toBe(1);
    pool.release(a);
    expect((await waiting).session).toBe(a.session);
  });

  it('rejects waiters and new callers after shutdown', async () => {
    const { pool } = fakePool(1);
    const a = await pool.acquire();
    const waiting = pool.acquire();
    pool.shutdown(new Error('closed'));
    await expect(waiting).rejects.toThrow('closed');
    await expect(pool.acquire()).rejects.toThrow('closed');
    pool.release(a);
    expect(pool.openSessions).toBe(0);
  });
});

describe('SessionPool without any session', () => {
  it('passes the error on when not even one session opens', () => {
    const pool = new SessionPool(
      () => {
        throw new Error('CKR_TOKEN_NOT_PRESENT');
      },
      () => {},
      2,
    );
    expect(() => pool.acquire()).toThrow('CKR_TOKEN_NOT_PRESENT');
  });
});

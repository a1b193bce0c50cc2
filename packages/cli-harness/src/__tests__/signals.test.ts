import { afterEach, describe, expect, it, vi } from 'vitest';
import { abortOnSignals, closeOnSignals } from '../signals.js';

afterEach(() => vi.restoreAllMocks());

describe('closeOnSignals', () => {
  it('SIGINT closes the resource, says so, then exits 130; SIGTERM exits 143', async () => {
    for (const [signal, status] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
      const exited = new Promise<unknown>((resolve) => {
        vi.spyOn(process, 'exit').mockImplementation(((code: number) => resolve(code)) as never);
      });
      const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
      const close = vi.fn(async () => {});
      const resource = closeOnSignals({ close, other: 1 }, (s) => `erst: ${s}: logging out of the token\n`);
      expect(resource.other).toBe(1);
      process.emit(signal, signal);
      expect(await exited).toBe(status);
      expect(close).toHaveBeenCalledTimes(1);
      expect(stderr).toHaveBeenCalledWith(`erst: ${signal}: logging out of the token\n`);
      // The other signal's handler is still registered: closing removes it.
      await resource.close();
      vi.restoreAllMocks();
    }
  });

  it('closing the resource removes its signal handlers', async () => {
    const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
    const close = vi.fn();
    const resource = closeOnSignals({ close }, () => '');
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before.map((n) => n + 1));
    await resource.close();
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before);
    expect(close).toHaveBeenCalledTimes(1);
  });
});

describe('abortOnSignals', () => {
  it('SIGINT aborts instead of exiting, once; the exit code is 130 (SIGTERM: 143); dispose removes the handlers', () => {
    for (const [signal, status] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
      const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
      const stop = abortOnSignals();
      expect([stop.signal.aborted, stop.stoppedBy(), stop.exitCode()]).toEqual([false, undefined, undefined]);
      process.emit(signal, signal);
      expect([stop.signal.aborted, stop.stoppedBy(), stop.exitCode()]).toEqual([true, signal, status]);
      stop.dispose();
      expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before);
    }
  });
});

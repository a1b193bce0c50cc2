import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Progress } from '../progress.js';

afterEach(() => vi.useRealTimers());

function capture(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (b: Buffer) => {
    text += b.toString('utf8');
  });
  return { out, text: () => text };
}

describe('Progress', () => {
  it('told that its stream reaches a terminal (a worker thread asks fd 2), it redraws a bar in place', async () => {
    vi.useFakeTimers();
    const { out, text } = capture();
    const p = new Progress({ label: 'erst-batch: verify', unit: 'records' }, out, true);
    p.update({ done: 5, total: 10 });
    vi.advanceTimersByTime(200);
    p.stop();
    await vi.runAllTimersAsync();
    expect(text()).toMatch(/^\r\x1b\[2K\[#{15}\.{15}\] {2}50% 5\/10 [\d,]+\/s ETA \d+:\d\d\r\x1b\[2K$/);
  });

  it('a stream that is no terminal gets plain lines every 5 s, and no bar', async () => {
    vi.useFakeTimers();
    const { out, text } = capture();
    const p = new Progress({ label: 'erst-batch: verify', unit: 'records' }, out);
    p.update({ done: 5, total: undefined });
    vi.advanceTimersByTime(5000);
    p.stop();
    await vi.runAllTimersAsync();
    expect(text()).toMatch(/^erst-batch: verify: 5 records, [\d,]+\/s\n$/);
  });
});

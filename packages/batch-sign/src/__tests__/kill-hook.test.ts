import { afterEach, describe, expect, it, vi } from 'vitest';
import { killHookFromEnv } from '../index.js';

describe('killHookFromEnv (ERST_TEST_KILL_AT, the crash tests’ hook)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is no hook without the variable', () => {
    expect(killHookFromEnv({})).toBeUndefined();
    expect(killHookFromEnv({ ERST_TEST_KILL_AT: '' })).toBeUndefined();
  });

  it('SIGKILLs the process at the n-th step named, not before, not at other steps', () => {
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    const hook = killHookFromEnv({ ERST_TEST_KILL_AT: 'released:2' })!;
    hook('journaled');
    hook('released');
    hook('checkpointed');
    expect(kill).not.toHaveBeenCalled();
    hook('released');
    expect(kill).toHaveBeenCalledWith(process.pid, 'SIGKILL');
  });

  it('without a count, at the first such step', () => {
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    killHookFromEnv({ ERST_TEST_KILL_AT: 'closing' })!('closing');
    expect(kill).toHaveBeenCalledOnce();
  });
});

import { runReadmeExample } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';

describe('README', () => {
  it('the main example type-checks and runs, printing what its comments say (built packages)', {
    timeout: 60_000,
  }, async () => {
    const r = await runReadmeExample('verify');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      'true pinned',
      "false [ 'ERR_HASH_MISMATCH', 'ERR_SIGNATURE_INVALID' ]",
      'true',
      "[ 'prod-2026', 'ERR_JSON_SYNTAX' ]",
      'true',
      'true',
      '',
    ]);
  });
});

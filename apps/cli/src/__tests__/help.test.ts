import { afterEach, describe, expect, it, vi } from 'vitest';
import { BATCH_HELP } from '../batch-sign.js';
import { main } from '../main.js';

const COMMANDS = [
  'audit sign',
  'audit verify',
  'audit inspect',
  'keys generate',
  'keys public',
  'hsm info',
  'hsm keys generate',
  'log init',
  'log verifier-key',
  'log verify',
];

/** `erst <command> --help` as a terminal this many columns wide shows it (undefined: not a terminal). */
async function help(command: string[], columns: number | undefined): Promise<string[]> {
  Object.defineProperty(process.stdout, 'columns', { value: columns, configurable: true, writable: true });
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  expect(await main([...command, '--help'])).toBe(0);
  const text = log.mock.calls.map((c) => c.join(' ')).join('\n');
  log.mockRestore();
  return text.split('\n').map((l) => l.trimEnd());
}

afterEach(() => {
  Object.defineProperty(process.stdout, 'columns', { value: undefined, configurable: true, writable: true });
});

describe('--help layout', () => {
  it.each(COMMANDS)(
    'erst %s: at 80 columns no line is wider, and no word, flag or variable name is cut',
    async (name) => {
      const command = name.split(' ');
      const lines = await help(command, 80);
      for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80);
      const words = new Set(lines.join(' ').split(/\s+/));
      // Every flag and ERST_* name that the wide layout shows appears whole at 80 columns too.
      const wide = (await help(command, 250)).join(' ').match(/--[a-z0-9-]+|ERST_[A-Z0-9_]+/g) ?? [];
      for (const name of wide)
        expect(
          [...words].some((w) => w.includes(name)),
          name,
        ).toBe(true);
    },
  );

  it('fills a wide terminal instead of stopping at 110 columns', async () => {
    const lines = await help(['audit', 'sign'], 250);
    const provider = lines.find((l) => l.includes('--hsm-provider'))!;
    expect(provider).toContain('[default: "software"]');
    expect(provider.length).toBeGreaterThan(110);
  });

  it('shows every example command whole, on its own lines, at 80 columns', async () => {
    const lines = await help(['audit', 'sign'], 80);
    const i = lines.indexOf('  # Sign a {transaction_hash, payload} document');
    expect(lines[i + 1]).toBe('  erst audit sign --key-file key.pem --payload @sim.json --out log.json');
    // A longer one continues the way a shell does, so it still pastes as one command.
    const j = lines.indexOf('  erst audit sign --hsm-provider pkcs11 --key-label audit-2026 \\');
    expect(j).toBeGreaterThan(0);
    expect(lines[j + 1]).toBe('  --payload @sim.json --out log.json');
  });

  it('keeps the batch epilogue as written at 80 columns (no line re-wrapped, no indentation lost)', async () => {
    const lines = await help(['audit', 'sign'], 80);
    for (const line of BATCH_HELP.split('\n')) expect(lines, line).toContain(line);
  });

  it('does not wrap at all when not on a terminal', async () => {
    const lines = await help(['audit', 'sign'], undefined);
    expect(lines.find((l) => l.includes('--software-private-key'))).toContain('ERST_AUDIT_PRIVATE_KEY_PEM');
  });
});

import type { Argv } from 'yargs';
import { describe, expect, it } from 'vitest';
import { createParser } from '../parser.js';

const SETUP = { name: 'prog', description: 'does things', version: '1.2.3' };

/** How often yargs renders the help text while parsing `args` with one command `run` and a sub-command `run sub`. */
async function helpRenders(args: string[]): Promise<{ renders: number; ran: string[]; out: string }> {
  const parser = createParser(args, SETUP, 80);
  const usage = (parser as unknown as { getInternalMethods(): { getUsageInstance(): { help(): string } } })
    .getInternalMethods()
    .getUsageInstance();
  const help = usage.help.bind(usage);
  let renders = 0;
  usage.help = () => {
    renders++;
    return help();
  };
  const ran: string[] = [];
  let out = '';
  await parser
    .command(
      'run',
      'runs',
      (y: Argv) =>
        y.option('fast', { type: 'boolean', describe: 'quickly' }).command('sub', 'a sub-command', {}, () => {
          ran.push('sub');
        }),
      () => {
        ran.push('run');
      },
    )
    .parseAsync(args, {}, (_err, _argv, output) => {
      out = output;
    });
  return { renders, ran, out };
}

describe('createParser', () => {
  it('renders no help text for a command that runs (yargs caches one after every handler)', async () => {
    expect(await helpRenders(['run', '--fast'])).toMatchObject({ renders: 0, ran: ['run'] });
    expect(await helpRenders(['run', 'sub'])).toMatchObject({ renders: 0, ran: ['sub'] });
  });

  it('still prints each command its own help for --help', async () => {
    const top = await helpRenders(['--help']);
    expect(top.ran).toEqual([]);
    expect(top.out).toContain('does things');
    const run = await helpRenders(['run', '--help']);
    expect(run.ran).toEqual([]);
    expect(run.out).toContain('--fast');
    expect(run.out).toContain('quickly');
  });
});

#!/usr/bin/env node
// `pnpm bench <name>`: runs tooling/bench/<name>.mjs against the built packages.
// Each benchmark prints a last line of JSON with its ratio to a ceiling
// measured in the same run.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter(
    (f) => f.endsWith('.mjs') && !['run.mjs', 'gen-payloads.mjs', 'lib.mjs', 'archive.mjs', 'softhsm.mjs'].includes(f),
  )
  .map((f) => f.replace(/\.mjs$/, ''));
const [name, ...rest] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  console.error(`usage: pnpm bench <${available.join('|')}> [options]`);
  process.exit(2);
}
const script = join(here, `${name}.mjs`);
if (!existsSync(script)) process.exit(2);
const r = spawnSync(process.execPath, [script, ...rest], { stdio: 'inherit' });
process.exit(r.status ?? 1);

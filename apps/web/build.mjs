// Builds the page into dist/: index.html, app.js, style.css. esbuild, because
// it is one small, well-kept package already in this workspace (vitest brings
// it), it bundles TypeScript with no config, and it writes classic IIFE
// scripts: a page opened from file:// may run those, never module scripts.
// The two workers (the reader, the verifier) are bundled first and inlined
// into app.js as text: the page starts them from Blob URLs, because a file://
// page may not start a worker from a file.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const common = {
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['chrome120', 'firefox121', 'safari17'],
  // node build.mjs --no-minify: readable function names in CPU profiles (pnpm bench web --profile).
  minify: !process.argv.includes('--no-minify'),
  legalComments: 'none',
  logLevel: 'warning',
};

/** A worker's bundle, as text. */
async function workerSource(entry) {
  const out = await build({ ...common, entryPoints: [join(here, 'src', entry)], write: false });
  return out.outputFiles[0].text;
}

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
const [verifier, reader] = await Promise.all([workerSource('worker.ts'), workerSource('reader.ts')]);
await build({
  ...common,
  entryPoints: [join(here, 'src', 'main.ts')],
  outfile: join(dist, 'app.js'),
  define: { VERIFIER_SOURCE: JSON.stringify(verifier), READER_SOURCE: JSON.stringify(reader) },
});
copyFileSync(join(here, 'src', 'style.css'), join(dist, 'style.css'));
writeFileSync(join(dist, 'index.html'), readFileSync(join(here, 'src', 'index.html')));

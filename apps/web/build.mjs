// Builds the page into dist/: index.html, app.js, style.css. esbuild, because
// it is one small, well-kept package already in this workspace (vitest brings
// it), it bundles TypeScript with no config, and it writes classic IIFE
// scripts: a page opened from file:// may run those, never module scripts.
// The verifier worker is bundled first and inlined into app.js as text: the
// page starts it from a Blob URL, because a file:// page may not start a
// worker from a file.
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
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
};

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
const worker = await build({ ...common, entryPoints: [join(here, 'src', 'worker.ts')], write: false });
await build({
  ...common,
  entryPoints: [join(here, 'src', 'main.ts')],
  outfile: join(dist, 'app.js'),
  define: { WORKER_SOURCE: JSON.stringify(worker.outputFiles[0].text) },
});
copyFileSync(join(here, 'src', 'style.css'), join(dist, 'style.css'));
writeFileSync(join(dist, 'index.html'), readFileSync(join(here, 'src', 'index.html')));

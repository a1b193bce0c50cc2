#!/usr/bin/env node
// Bundles an app's entry points into its dist/ (run from the app's directory):
//   node ../../tooling/scripts/bundle-app.mjs bin=src/bin.ts [name=path ...]
// Why: a command's start-up was mostly Node resolving, reading and linking
// some 190 module files one by one; one file per entry, plus a chunk per
// dynamic import (a command's module is loaded only when that command runs),
// starts in about half the time.
//
// Kept out of the bundle: pkcs11js, a native module (a .node file is no
// JavaScript to bundle); an app that bundles @erst/signer-pkcs11 names pkcs11js
// as a dependency of its own, so that it resolves from the app's dist/.
// @erst/signer-pkcs11 itself is bundled: loaded as built, it brought a second
// copy of @erst/core and some 40 module files to every token command's start.
// A library's worker file (`new URL('./worker.js', import.meta.url)`) is named
// here as an entry of its own, so that it sits next to the chunk that starts it.
import { renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const app = process.cwd();
// esbuild is the app's devDependency (pnpm does not hoist it to the root).
const { build } = createRequire(join(app, 'package.json'))('esbuild');

const entryPoints = process.argv.slice(2).map((arg) => {
  const [out, path] = arg.split('=');
  if (!out || !path) throw new Error(`usage: bundle-app.mjs name=path ...; got ${arg}`);
  return { out, in: join(app, path) };
});

// @erst/cli-harness loads yargs' CommonJS build with `createRequire(import.meta.url)(id)`,
// which esbuild cannot follow: as a plain require() it is bundled like any other.
const createRequireCalls = {
  name: 'bundle-create-require',
  setup(b) {
    b.onLoad({ filter: /[\\/]packages[\\/][^\\/]+[\\/]dist[\\/].*\.js$/ }, async ({ path }) => {
      const { readFile } = await import('node:fs/promises');
      const text = await readFile(path, 'utf8');
      return {
        contents: text.replace(/\bcreateRequire\(import\.meta\.url\)\(('[^']+')\)/g, 'require($1)'),
        loader: 'js',
      };
    });
  },
};

// Built aside, then swapped in: a failed build leaves the previous one in place.
const dist = join(app, 'dist');
const next = join(app, 'dist.next');
rmSync(next, { recursive: true, force: true });
await build({
  entryPoints,
  outdir: next,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  external: ['pkcs11js'],
  plugins: [createRequireCalls],
  // The CommonJS modules bundled (yargs and its helpers) call require() for
  // Node's built-ins and name __dirname (yargs' locale files, not shipped:
  // its messages are English whatever the locale, like erst's own).
  banner: {
    js: "import { createRequire as __erstCreateRequire } from 'node:module';\nconst require = __erstCreateRequire(import.meta.url);\nconst __dirname = import.meta.dirname;",
  },
  logLevel: 'warning',
});
rmSync(dist, { recursive: true, force: true });
renameSync(next, dist);

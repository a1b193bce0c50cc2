import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@erst/fixtures';

export interface Source {
  /** Path from the repository root, with `/`: `apps/cli/src/main.ts`. */
  file: string;
  text: string;
}

/** Every .ts file under `<root>/packages/<name>/src` and `<root>/apps/<name>/src`, tests left out. */
export function sources(root = REPO_ROOT): Source[] {
  const out: Source[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== '__tests__' && e.name !== 'node_modules') walk(p);
      } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') && !e.name.endsWith('.test.ts'))
        out.push({ file: p.slice(root.length + 1), text: readFileSync(p, 'utf8') });
    }
  };
  for (const top of ['packages', 'apps']) {
    for (const pkg of readdirSync(join(root, top), { withFileTypes: true })) {
      const src = join(root, top, pkg.name, 'src');
      if (pkg.isDirectory() && readdirSync(join(root, top, pkg.name)).includes('src')) walk(src);
    }
  }
  return out;
}

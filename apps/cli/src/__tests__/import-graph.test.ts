import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { REPO_ROOT } from '@erst/fixtures';
import { preProcessFile } from 'typescript';
import { describe, expect, it } from 'vitest';
import { type Source, sources } from './sources.js';

/** What a source file imports, type-only and dynamic imports included; comments and strings are not imports. */
function specifiers(text: string): string[] {
  return preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/** Every cycle in `graph`, each once, as the path that closes it (`a -> b -> a`). */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next].join(' -> '));
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

interface Workspace {
  /** Package name -> its directory from the root (`@erst/core` -> `packages/core`). */
  dirs: Map<string, string>;
  files: Source[];
}

function workspace(root: string): Workspace {
  const dirs = new Map<string, string>();
  for (const top of ['packages', 'apps']) {
    for (const name of readdirSync(join(root, top))) {
      const manifest = join(root, top, name, 'package.json');
      if (existsSync(manifest))
        dirs.set((JSON.parse(readFileSync(manifest, 'utf8')) as { name: string }).name, `${top}/${name}`);
    }
  }
  return { dirs, files: sources(root) };
}

/** The package or app directory a repository path lies in (`apps/cli/src/main.ts` -> `apps/cli`). */
const homeOf = (file: string): string => file.split('/').slice(0, 2).join('/');

interface ImportPicture {
  /** File -> files it imports by relative path. */
  modules: Map<string, string[]>;
  /** Package or app directory -> the workspace directories it imports by name. */
  packages: Map<string, string[]>;
  /** Imports that break the layering, one line each. */
  violations: string[];
}

function importPicture({ dirs, files }: Workspace): ImportPicture {
  const modules = new Map<string, string[]>();
  const packages = new Map<string, string[]>();
  const violations: string[] = [];
  const apps = new Set([...dirs.values()].filter((d) => d.startsWith('apps/')));
  for (const { file, text } of files) {
    const home = homeOf(file);
    const edges: string[] = [];
    for (const spec of specifiers(text)) {
      if (spec.startsWith('.')) {
        const target = posix.normalize(posix.join(posix.dirname(file), spec)).replace(/\.js$/, '.ts');
        if (homeOf(target) !== home) violations.push(`${file}: '${spec}' reaches outside ${home}`);
        edges.push(target);
        continue;
      }
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      const dir = dirs.get(name);
      if (dir === undefined || dir === home) continue;
      if (apps.has(dir))
        violations.push(`${file}: imports the app ${name}; apps import packages, nothing imports an app`);
      const list = packages.get(home) ?? [];
      if (!list.includes(dir)) list.push(dir);
      packages.set(home, list);
    }
    modules.set(file, edges);
  }
  return { modules, packages, violations };
}

describe('findCycles', () => {
  it('finds a cycle of two, a longer one and a module importing itself; none in a tree', () => {
    const g = (edges: Record<string, string[]>) => new Map(Object.entries(edges));
    expect(findCycles(g({ main: ['cmd'], cmd: ['main'] }))).toEqual(['cmd -> main -> cmd']);
    expect(findCycles(g({ a: ['b'], b: ['c'], c: ['a'], d: ['a'] }))).toEqual(['a -> b -> c -> a']);
    expect(findCycles(g({ a: ['a'] }))).toEqual(['a -> a']);
    expect(findCycles(g({ a: ['b', 'c'], b: ['c'], c: [] }))).toEqual([]);
  });
});

describe('the import picture of apps/* and packages/*', () => {
  const picture = importPicture(workspace(REPO_ROOT));

  it('has no import cycle between source files (type-only and dynamic imports count)', () => {
    expect(picture.modules.size).toBeGreaterThan(50);
    expect(picture.modules.get('apps/cli/src/main.ts')).toContain('apps/cli/src/commands/audit.ts');
    expect(findCycles(picture.modules)).toEqual([]);
  });

  it('has no cycle between packages', () => {
    expect(picture.packages.get('apps/cli')).toContain('packages/cli-harness');
    expect(findCycles(picture.packages)).toEqual([]);
  });

  it('apps import packages only: no relative import leaves its app or package, and nothing imports an app', () => {
    expect(picture.violations).toEqual([]);
  });

  it('the command-line apps are glue: erst and erst-batch together stay well under half of the 3,700 lines they had', () => {
    // Issue 10 moved the engines (batch signing, archive reading, state, reports) into packages; what is left in
    // apps/cli and apps/batch is flag handling, help and printing. A new engine belongs in a package.
    const lines = sources()
      .filter((s) => s.file.startsWith('apps/cli/') || s.file.startsWith('apps/batch/'))
      .reduce((n, s) => n + s.text.split('\n').length - 1, 0);
    expect(lines).toBeGreaterThan(1000);
    expect(lines).toBeLessThanOrEqual(1700);
  });
});

import { defineConfig } from 'vitest/config';

/**
 * Every package writes `.vitest/report.json`; `.ci/run` sums them into the
 * one `N passed, N failed` line that CI reads.
 */
export function erstVitestConfig(overrides = {}) {
  return defineConfig({
    ...overrides,
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      reporters: ['default', ['json', { outputFile: '.vitest/report.json' }]],
      testTimeout: 30_000,
      hookTimeout: 60_000,
      ...(overrides.test ?? {}),
    },
  });
}

import type { LogStep } from './log-stage.js';

/**
 * The crash hook the crash tests set: `ERST_TEST_KILL_AT=<step>:<n>` in `env`
 * SIGKILLs the process right after the n-th `step` (journaled, checkpointed,
 * released, closing) of a log stage, the points docs/batch.md describes.
 * Without the variable: none. Pass it as `logStage`'s `onStep`.
 */
export function killHookFromEnv(env: NodeJS.ProcessEnv = process.env): ((step: LogStep) => void) | undefined {
  const at = env.ERST_TEST_KILL_AT;
  if (!at) return undefined;
  const [step, count] = at.split(':');
  let seen = 0;
  return (s) => {
    if (s === step && ++seen >= Number(count ?? 1)) process.kill(process.pid, 'SIGKILL');
  };
}

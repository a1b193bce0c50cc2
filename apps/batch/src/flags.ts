import type { Report } from '@erst/batch-verify';

/**
 * @erst/batch-verify speaks of its options, never of erst-batch's flags: it
 * quotes an option's name in backticks (`state.key`) and lists it in an
 * error's `details.options`. These are the flags (or arguments) that set them.
 */
export const FLAG_FOR: Readonly<Record<string, string>> = {
  workers: '--workers',
  maxBytes: '--max-bytes',
  shard: '--shard',
  allowEmpty: '--allow-empty',
  'state.path': '--state',
  'state.key': '--state-key',
  'state.init': '--init-state',
  'state.expect': '--expect-state',
  log: '--log',
  // erst-batch merge [reports..]
  reports: '[reports..]',
};

/**
 * The report in erst-batch's terms (`inFlagTerms` replaces quoted option
 * names with flags): the messages the library wrote about the state file and
 * empty inputs name options (`state.key`, `allowEmpty`), which become flags
 * here. Messages about records are left alone: they quote the archive, whose
 * text must never be rewritten into something it did not say.
 */
export function reportInFlagTerms(report: Report, inFlagTerms: (text: string) => string): Report {
  const ours = (f: Report['failures'][number]): boolean => f.kind === 'state' || f.code === 'ERR_ARCHIVE_EMPTY';
  return { ...report, failures: report.failures.map((f) => (ours(f) ? { ...f, message: inFlagTerms(f.message) } : f)) };
}

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
  // erst-batch verify [inputs..], erst-batch merge [reports..]
  inputs: '[inputs..]',
  reports: '[reports..]',
};

import { describe, expect, it } from 'vitest';
import { type Report, type StateSummary, stderrLines, trustSummary } from '../index.js';
import { ReportBuilder } from '../report.js';

const format = (code: string, text: string): string => `tool: error ${code}: ${text}`;

function report(state?: Partial<StateSummary>): Report {
  const b = new ReportBuilder(['in', 'gone'], null, trustSummary({}));
  b.unreadable('gone', 1, 'ERR_FILE_NOT_FOUND', 'no such file', 'unreadable');
  b.unreadable('in/bug.json', 0, 'ERR_INTERNAL', 'a bug', 'record');
  b.unreadable('in/bad.json', 0, 'ERR_RECORD_UNKNOWN_FORMAT', 'not a record', 'record');
  b.stateFailure('state.json', 'ERR_STATE_ROLLBACK', 'not the state expected');
  b.stateFailure('in/x.json', 'ERR_STATE_MISSING', 'missing since the last run');
  b.logFailure('log/', 'ERR_LOG_UNREADABLE', 'cannot be read');
  const built = b.build();
  if (!state) return built;
  const summary: StateSummary = {
    files: ['state.json'],
    status: 'compared',
    previous_records: 1,
    records: 1,
    signature_checked: true,
    written: true,
    ...state,
  };
  return { ...built, state: summary };
}

describe('stderrLines: what reaches stderr even without the summary', () => {
  it('unreadable inputs, ERR_INTERNAL and a state rollback; not bad records, state findings or a readable log', () => {
    expect(stderrLines(report(), format)).toBe(
      [
        'tool: error ERR_FILE_NOT_FOUND: gone: no such file',
        'tool: error ERR_INTERNAL: in/bug.json: a bug',
        'tool: error ERR_STATE_ROLLBACK: state.json: not the state expected',
        '',
      ].join('\n'),
    );
  });

  it('a log failure too when the log could not be read', () => {
    const r = report();
    const unreadable = { ...r, log: { status: 'unreadable' } } as unknown as Report;
    expect(stderrLines(unreadable, format)).toContain('tool: error ERR_LOG_UNREADABLE: log/: cannot be read\n');
    expect(stderrLines(r, format)).not.toContain('ERR_LOG_UNREADABLE');
  });

  it("each state's digest, said to be kept when the run did not replace it; control characters made visible", () => {
    const digest = { file: 'st\u001bate.json', sequence: 4, digest: 'ab'.repeat(32), previous_digest: null };
    const written = stderrLines(report({ digests: [digest] }), () => '');
    expect(written.split('\n').at(-2)).toBe(
      `erst-batch: state st\\u001bate.json: sequence 4, digest ${'ab'.repeat(32)}`,
    );
    const kept = stderrLines(report({ digests: [digest], written: false }), () => '');
    expect(kept).toMatch(/digest (ab)+ \(not replaced by this run\)\n$/);
  });
});

import type { Failure, Report } from './report.js';

// Characters XML 1.0 cannot carry at all (control characters, lone
// surrogates, U+FFFE/U+FFFF) are written as visible \uXXXX escapes.
const NOT_XML = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function visible(s: string): string {
  return s.replace(NOT_XML, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Text content. */
export function xmlText(s: string): string {
  return visible(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An attribute value (double-quoted); tabs and newlines kept through attribute normalization. */
export function xmlAttr(s: string): string {
  return xmlText(s)
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}

function failureCase(f: Failure, classname: string): string {
  const tag = f.kind === 'unreadable' ? 'error' : 'failure';
  const detail = [`${f.code}: ${f.message}`];
  if (f.format) detail.push(`format: ${f.format}`);
  if (f.key) detail.push(`key: ${f.key}`);
  for (const e of f.errors?.slice(1) ?? []) detail.push(`also ${e.code}: ${e.message}`);
  return (
    `    <testcase classname="${xmlAttr(classname)}" name="${xmlAttr(f.source)}" time="0">\n` +
    `      <${tag} type="${xmlAttr(f.code)}" message="${xmlAttr(`${f.code}: ${f.message}`)}">${xmlText(detail.join('\n'))}</${tag}>\n` +
    '    </testcase>\n'
  );
}

interface Suite {
  name: string;
  cases: string[];
  failures: number;
  errors: number;
}

/**
 * JUnit XML as CI systems read it (Jenkins, GitLab, GitHub test reporters):
 * one test suite per input with a passing test case counting its valid
 * records and one failing test case per failure; a "state" suite for
 * records missing or changed since the previous run; a "log" suite for a
 * verifiable log's findings (entries without a record, records not in it). One case per valid
 * record would make millions of elements for nothing.
 */
export function junitXml(r: Report): string {
  const suites = new Map<string, Suite>();
  const suite = (name: string): Suite => {
    let s = suites.get(name);
    if (!s) {
      s = { name, cases: [], failures: 0, errors: 0 };
      suites.set(name, s);
    }
    return s;
  };
  for (const input of r.inputs) {
    const c = r.by_input[input] ?? { valid: 0, invalid: 0, unreadable: 0 };
    const total = c.valid + c.invalid;
    suite(input).cases.push(
      `    <testcase classname="erst-batch.verify" name="${xmlAttr(`${c.valid} of ${total} records valid in ${input}`)}" time="0"/>\n`,
    );
  }
  if (r.log) {
    const l = r.log;
    suite('log').cases.push(
      `    <testcase classname="erst-batch.log" name="${xmlAttr(`${l.records_in_log} of ${l.size ?? 0} log entries have a record in ${l.source}`)}" time="0"/>\n`,
    );
  }
  for (const f of r.failures) {
    // A log finding goes to the "log" suite, even about a record: archive and log disagree, the record itself verified.
    const s = suite(f.kind === 'state' || f.kind === 'log' ? f.kind : (f.input ?? 'state'));
    s.cases.push(failureCase(f, f.kind === 'state' || f.kind === 'log' ? `erst-batch.${f.kind}` : 'erst-batch.verify'));
    if (f.kind === 'unreadable' || (f.kind === 'log' && r.log?.status === 'unreadable')) s.errors++;
    else s.failures++;
  }
  let tests = 0;
  let failures = 0;
  let errors = 0;
  const body: string[] = [];
  for (const s of suites.values()) {
    tests += s.cases.length;
    failures += s.failures;
    errors += s.errors;
    body.push(
      `  <testsuite name="${xmlAttr(s.name)}" tests="${s.cases.length}" failures="${s.failures}" errors="${s.errors}" skipped="0" time="0">\n${s.cases.join('')}  </testsuite>\n`,
    );
  }
  const name = `erst-batch verify${r.shard ? ` (shard ${r.shard})` : ''}`;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<testsuites name="${xmlAttr(name)}" tests="${tests}" failures="${failures}" errors="${errors}" skipped="0" time="0">\n` +
    body.join('') +
    '</testsuites>\n'
  );
}

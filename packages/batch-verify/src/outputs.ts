import { writeOutput } from '@erst/node-io';
import { htmlReport, type HtmlOptions } from './html.js';
import { junitXml } from './junit.js';
import type { Report } from './report.js';

/** Where `writeReports` puts each form of a report; a form left out is not made. */
export interface ReportFiles {
  /** The JSON report (what `readReport` and `mergeReports` read back); `-` is stdout. */
  readonly json?: string | undefined;
  /** JUnit XML, for CI. */
  readonly junit?: string | undefined;
  /** The self-contained HTML page. */
  readonly html?: string | undefined;
}

/**
 * Writes each form of `report` that `files` names, each file whole or not
 * at all (temp file + rename: a reader never sees half a report; `-` and
 * character devices are written in place). `html` dates and versions the
 * page; leave it out for byte-identical reports.
 *
 * @throws ErstError `ERR_OUTPUT_WRITE` for a file that cannot be written (the
 * forms before it are written, the ones after it are not).
 * @example
 * writeReports(report, { json: 'report.json', html: 'report.html' }, { generatedAt: new Date(), version });
 */
export function writeReports(report: Report, files: ReportFiles, html: HtmlOptions = {}): void {
  if (files.json) writeOutput(files.json, `${JSON.stringify(report, null, 2)}\n`);
  if (files.junit) writeOutput(files.junit, junitXml(report));
  if (files.html) writeOutput(files.html, htmlReport(report, html));
}

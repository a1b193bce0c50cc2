import type { Report } from '@erst/batch-verify/report';
import { DEFAULT_MAX_INPUT_BYTES, isErstError } from '@erst/core';
import { Verifier, type VerifyOptions } from '@erst/verify';
import { showDetail } from './detail.js';
import { $, num } from './dom.js';
import { type PageInput, findRecord, groupInputs, unknownKinds } from './inputs.js';
import { RecordList } from './records.js';
import { FailureTable, showResults } from './results.js';
import { type Progress, type RunResult, verifyInputs } from './run.js';
import { type TrustInput, trustOptions } from './trust.js';

/** A picked or dropped file, with its folder path when it came in a folder. */
type Picked = { file: File; path: string };

let inputs: PageInput[] = [];
let running: AbortController | undefined;
let last: { result: RunResult; verify: VerifyOptions; inputs: PageInput[] } | undefined;

const table = new FailureTable((source) => void openDetail(source));
const list = new RecordList((source, input) => void openDetail(source, input));

function showError(id: 'trust-error' | 'run-error', message: string | null): void {
  const el = $(id);
  el.textContent = message ?? '';
  el.hidden = message === null;
}

async function readText(files: FileList | null): Promise<{ name: string; text: string }[]> {
  return Promise.all([...(files ?? [])].map(async (f) => ({ name: f.name, text: await f.text() })));
}

/** The trust fields, read and checked before any record is (a Verifier checks keys and log keys). */
async function collectTrust(): Promise<VerifyOptions> {
  const t: TrustInput = {
    keysText: $<HTMLTextAreaElement>('keys').value,
    trustFiles: await readText($<HTMLInputElement>('trust-file').files),
    rootFiles: await readText($<HTMLInputElement>('roots').files),
    rootsText: $<HTMLTextAreaElement>('roots-text').value,
    logKeysText: $<HTMLTextAreaElement>('log-keys').value,
    requireAttestation: $<HTMLInputElement>('require-attestation').checked,
    tsaRootFiles: await readText($<HTMLInputElement>('tsa-roots').files),
    tsaRootsText: $<HTMLTextAreaElement>('tsa-roots-text').value,
    requireTimestamp: $<HTMLInputElement>('require-timestamp').checked,
  };
  const options = trustOptions(t);
  new Verifier(options);
  return options;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '…';
  const s = Math.round(seconds);
  const m = Math.floor(s / 60);
  return m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m}:${String(s % 60).padStart(2, '0')}`;
}

/** Progress as count, rate and time left (from the bytes read: the record count is not known ahead). */
function progressText(p: Progress, started: number): string {
  const seconds = (performance.now() - started) / 1000;
  const rate = seconds > 0 ? p.records / seconds : 0;
  const share = p.bytesTotal > 0 ? p.bytesRead / p.bytesTotal : 1;
  const eta = share > 0 && seconds > 0.5 ? seconds / share - seconds : Number.NaN;
  return `${num(p.records)} records verified · ${num(Math.round(rate))}/s · ${
    share >= 1 ? 'finishing' : `about ${formatDuration(eta)} left`
  }`;
}

function setRunning(on: boolean): void {
  $<HTMLButtonElement>('cancel').disabled = !on;
  $<HTMLButtonElement>('verify').disabled = on || inputs.length === 0;
  $('progress').setAttribute('aria-busy', String(on));
}

async function start(): Promise<void> {
  running?.abort();
  showError('run-error', null);
  showError('trust-error', null);
  if (inputs.length === 0) return;
  const refused = unknownKinds(inputs);
  if (refused.length > 0) {
    showError('run-error', refused.map((e) => `${e.code}: ${e.message}`).join('\n'));
    return;
  }
  let verify: VerifyOptions;
  try {
    verify = await collectTrust();
  } catch (e) {
    showError('trust-error', isErstError(e) ? `${e.code}: ${e.message}` : String(e));
    return;
  }
  const controller = new AbortController();
  running = controller;
  $('results').hidden = true;
  $('summary-slot').replaceChildren();
  setRunning(true);
  const bar = $<HTMLProgressElement>('progress-bar');
  const text = $('progress-text');
  const started = performance.now();
  let latest: Progress = { records: 0, bytesRead: 0, bytesTotal: 1 };
  const paint = () => {
    bar.value = latest.bytesTotal > 0 ? Math.min(1, latest.bytesRead / latest.bytesTotal) : 0;
    bar.dataset.records = String(latest.records);
    text.textContent = progressText(latest, started);
  };
  // Painted on a timer, not per chunk: the count moves smoothly and costs nothing when chunks come fast.
  const timer = setInterval(paint, 150);
  const runInputs = inputs;
  try {
    const result = await verifyInputs(runInputs, {
      verify,
      workers: Math.max(1, navigator.hardwareConcurrency || 2),
      signal: controller.signal,
      onProgress: (p) => {
        latest = p;
      },
    });
    if (running !== controller) return;
    latest = { ...latest, bytesRead: latest.bytesTotal };
    paint();
    const seconds = (performance.now() - started) / 1000;
    text.textContent = `${num(result.report.totals.records)} records verified in ${seconds.toFixed(1)} s.`;
    last = { result, verify, inputs: runInputs };
    list.show(result.records);
    showResults(result.report, table, (s) => result.kept.has(s) || list.inputOf(s) !== undefined);
  } catch (e) {
    // A run replaced by a newer one (files picked again) leaves the page to it.
    if (running !== controller) return;
    if (controller.signal.aborted) text.textContent = `Cancelled after ${num(latest.records)} records.`;
    else showError('run-error', isErstError(e) ? `${e.code}: ${e.message}` : String(e));
  } finally {
    clearInterval(timer);
    if (running === controller) {
      running = undefined;
      setRunning(false);
    }
  }
}

/**
 * Verifies one record again, here, for every detail the report does not
 * keep: from the bytes kept of a failed record, else read again from its
 * input (streamed up to it: a record deep in a large .tar.gz takes seconds).
 */
async function openDetail(source: string, input?: number): Promise<void> {
  const run = last;
  if (!run) return;
  showError('run-error', null);
  let bytes = run.result.kept.get(source);
  const at = input ?? list.inputOf(source);
  if (!bytes && at !== undefined && run.inputs[at]) {
    $('progress-text').textContent = `Reading ${source} again…`;
    bytes = await findRecord(run.inputs[at]!, at, source, DEFAULT_MAX_INPUT_BYTES).catch(() => undefined);
    $('progress-text').textContent = `${num(run.result.report.totals.records)} records verified.`;
  }
  if (!bytes) {
    showError('run-error', `${source} could not be read again: was the file moved or changed since it was picked?`);
    return;
  }
  await showDetail(source, bytes, await new Verifier(run.verify).verify(bytes));
}

function download(report: Report): void {
  const blob = new Blob([`${JSON.stringify(report, null, 2)}\n`], { type: 'application/json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = 'erst-report.json';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

function choose(picked: Picked[]): void {
  inputs = groupInputs(picked);
  const chosen = $('chosen');
  chosen.textContent = inputs.length
    ? `Chosen: ${inputs.map((i) => (i.kind === 'folder' ? `${i.name}/ (${num(i.files.length)} .json files)` : i.name)).join(', ')}`
    : 'No files chosen.';
  void start();
}

/** The files under a dropped folder, with their paths (DataTransfer entries: the only way a drop shows a folder). */
async function entryFiles(entry: FileSystemEntry, out: Picked[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ file, path: entry.fullPath.replace(/^\//, '') });
    return;
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return;
    for (const e of batch) await entryFiles(e, out);
  }
}

function wire(): void {
  $<HTMLInputElement>('files').addEventListener('change', (e) => {
    const files = [...((e.target as HTMLInputElement).files ?? [])];
    choose(files.map((file) => ({ file, path: file.name })));
  });
  $<HTMLInputElement>('folder').addEventListener('change', (e) => {
    const files = [...((e.target as HTMLInputElement).files ?? [])];
    choose(files.map((file) => ({ file, path: file.webkitRelativePath || file.name })));
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const picked: Picked[] = [];
    const entries: FileSystemEntry[] = [];
    for (const item of [...(e.dataTransfer?.items ?? [])]) {
      if (item.kind !== 'file') continue;
      const entry = item.webkitGetAsEntry();
      if (entry) entries.push(entry);
      else {
        // No entry (a drop some browsers or scripts make of plain files): the file itself, as picked.
        const file = item.getAsFile();
        if (file) picked.push({ file, path: file.name });
      }
    }
    void Promise.all(entries.map((en) => entryFiles(en, picked))).then(
      () => choose(picked),
      (err: unknown) => showError('run-error', `the dropped files could not be read: ${String(err)}`),
    );
  });
  $('verify').addEventListener('click', () => void start());
  $('cancel').addEventListener('click', () => running?.abort());
  $('download').addEventListener('click', () => last && download(last.result.report));
  $('detail-close').addEventListener('click', () => $<HTMLDialogElement>('detail').close());
  document.body.dataset.ready = 'true';
}

wire();

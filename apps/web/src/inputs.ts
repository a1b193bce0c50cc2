import { type Item, kindByName, readJsonl, readTar } from '@erst/archive';
import { ErstError } from '@erst/core';

/** One input, as erst-batch would be given it: a file by its name, or a folder with the *.json files below it. */
export type PageInput =
  | { kind: 'file'; name: string; file: File }
  | { kind: 'folder'; name: string; files: { path: string; file: File }[] };

/** Reads done so far, in bytes of the files as picked (compressed bytes for a .tar.gz): what the ETA is made of. */
export interface ByteCounter {
  read: number;
}

/** The bytes every input will read: the total the progress bar runs to. */
export function totalBytes(inputs: readonly PageInput[]): number {
  let n = 0;
  for (const i of inputs) {
    if (i.kind === 'file') n += i.file.size;
    else for (const f of i.files) n += f.file.size;
  }
  return n;
}

/**
 * Groups picked or dropped files into inputs: a file with a folder path
 * (`webkitRelativePath`, or the path of a dropped folder's entry) joins the
 * input named after its top folder, which holds only its `*.json` files, as
 * erst-batch reads a directory; any other file is an input of its own.
 */
export function groupInputs(files: readonly { file: File; path: string }[]): PageInput[] {
  const inputs: PageInput[] = [];
  const folders = new Map<string, { path: string; file: File }[]>();
  for (const { file, path } of files) {
    const slash = path.indexOf('/');
    if (slash <= 0) {
      inputs.push({ kind: 'file', name: file.name, file });
      continue;
    }
    const top = path.slice(0, slash);
    let list = folders.get(top);
    if (!list) {
      list = [];
      folders.set(top, list);
      inputs.push({ kind: 'folder', name: top, files: list });
    }
    // erst-batch walks *.json files only (the name as written, like its directory walk).
    if (path.endsWith('.json')) list.push({ path, file });
  }
  for (const list of folders.values()) list.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return inputs;
}

/**
 * The inputs erst-batch would refuse before reading anything: a file whose
 * name announces no kind it reads. Same code, same wording as erst-batch.
 */
export function unknownKinds(inputs: readonly PageInput[]): ErstError[] {
  return inputs
    .filter((i) => i.kind === 'file' && kindByName(i.name) === undefined)
    .map(
      (i) =>
        new ErstError(
          'ERR_ARCHIVE_UNKNOWN_KIND',
          `${i.name}: not a directory, .json, .jsonl, .ndjson, .tar, .tar.gz or .tgz file`,
          { details: { file: i.name } },
        ),
    );
}

/** A file's stream, counting its bytes as they are read. */
function counted(file: File, counter: ByteCounter): ReadableStream<Uint8Array> {
  return file.stream().pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        counter.read += chunk.length;
        controller.enqueue(chunk);
      },
    }),
  );
}

/** What a file that could not be read (the browser lost access to it) is: unreadable input, as in erst-batch. */
function unreadable(source: string, input: number, e: unknown): Item {
  const why = e instanceof Error && e.message ? e.message : 'read error';
  return {
    kind: 'failure',
    source,
    input,
    code: 'ERR_FILE_UNREADABLE',
    message: `${source}: cannot be read (${why})`,
    scope: 'unreadable',
  };
}

/** One `.json` file, one record; over `maxBytes` it is refused unread, as erst-batch refuses it. */
async function recordFile(source: string, input: number, file: File, maxBytes: number, counter: ByteCounter) {
  if (file.size > maxBytes) {
    counter.read += file.size;
    return {
      kind: 'failure',
      source,
      input,
      code: 'ERR_INPUT_TOO_LARGE',
      message: `record is ${file.size} bytes, over the limit of ${maxBytes}`,
      scope: 'record',
    } satisfies Item;
  }
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    counter.read += bytes.length;
    return { kind: 'record', source, input, bytes } satisfies Item;
  } catch (e) {
    return unreadable(source, input, e);
  }
}

/**
 * Every record of one input, streamed with @erst/archive's readers (the
 * ones erst-batch uses): `.jsonl` line by line, `.tar` and `.tar.gz` member
 * by member through the browser's DecompressionStream. What cannot be read
 * is an item, never an exception.
 */
export async function* readInput(
  input: PageInput,
  index: number,
  maxBytes: number,
  counter: ByteCounter,
  accept?: (source: string) => boolean,
): AsyncGenerator<Item> {
  if (input.kind === 'folder') {
    for (const f of input.files)
      if (accept?.(f.path) ?? true) yield await recordFile(f.path, index, f.file, maxBytes, counter);
    return;
  }
  const options = { name: input.name, input: index, maxBytes, accept };
  const kind = kindByName(input.name);
  try {
    if (kind === 'json') yield await recordFile(input.name, index, input.file, maxBytes, counter);
    else if (kind === 'jsonl') yield* readJsonl(counted(input.file, counter), options);
    else if (kind === 'tar' || kind === 'tar.gz')
      yield* readTar(counted(input.file, counter), { ...options, gzip: kind === 'tar.gz' });
  } catch (e) {
    yield unreadable(input.name, index, e);
  }
}

/**
 * One record's bytes, read again from its input (the page keeps no copy of
 * a valid record): the input is streamed up to that record and no further,
 * with the readers' own filter, so records before it are skipped unparsed.
 * Undefined when the input no longer holds it.
 */
export async function findRecord(
  input: PageInput,
  index: number,
  source: string,
  maxBytes: number,
): Promise<Uint8Array | undefined> {
  for await (const item of readInput(input, index, maxBytes, { read: 0 }, (s) => s === source)) {
    // A copy: the reader reuses its buffer. Leaving the loop stops the stream there.
    if (item.kind === 'record' && item.source === source) return item.bytes.slice();
  }
  return undefined;
}

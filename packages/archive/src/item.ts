import { type ErrorCode, ErstError } from '@erst/core';

/**
 * A record's bytes, or why there are none. `bytes` may be a view of a buffer
 * the reader reuses: copy it before pulling the next item.
 */
export type Item =
  | { kind: 'record'; source: string; input: number; bytes: Uint8Array }
  | {
      kind: 'failure';
      source: string;
      input: number;
      code: ErrorCode;
      message: string;
      /**
       * `unreadable`: input that could not be read at all (exit 2).
       * `record`: one record (or archive member) that could not be read (exit 1).
       */
      scope: 'unreadable' | 'record';
    };

export type InputKind = 'directory' | 'json' | 'jsonl' | 'tar' | 'tar.gz';

/** The input kind a path's name announces, or undefined. */
export function kindByName(path: string): Exclude<InputKind, 'directory'> | undefined {
  const p = path.toLowerCase();
  if (p.endsWith('.tar.gz') || p.endsWith('.tgz')) return 'tar.gz';
  if (p.endsWith('.tar')) return 'tar';
  if (p.endsWith('.jsonl') || p.endsWith('.ndjson')) return 'jsonl';
  if (p.endsWith('.json')) return 'json';
  return undefined;
}

/** The error for an input whose name announces none of the kinds read here. */
export function unknownKind(name: string): ErstError {
  return new ErstError(
    'ERR_ARCHIVE_UNKNOWN_KIND',
    `${name}: not a directory, .json, .jsonl, .ndjson, .tar, .tar.gz or .tgz file`,
    { details: { file: name } },
  );
}

/** An input that could not be read at all. */
export function unreadableItem(source: string, input: number, error: ErstError): Item {
  return { kind: 'failure', source, input, code: error.code, message: error.message, scope: 'unreadable' };
}

/** A record over the size limit: refused without being read whole. */
export function tooLarge(source: string, input: number, size: number, max: number): Item {
  return {
    kind: 'failure',
    source,
    input,
    code: 'ERR_INPUT_TOO_LARGE',
    message: `record is ${size} bytes, over the limit of ${max}`,
    scope: 'record',
  };
}

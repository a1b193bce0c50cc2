import { isErstError } from '@erst/core';
import { fileError, notRegularFile } from '@erst/node-io';
import { type Item, unreadableItem } from '../item.js';

/** An input that could not be read at all, from whatever the file system threw. */
export function unreadable(source: string, input: number, e: unknown): Item {
  return unreadableItem(source, input, isErstError(e) ? e : fileError(source, e));
}

/** What an opened path turned out to be when it is not a regular file. */
export function notAFile(source: string, input: number, isDirectory: boolean): Item {
  return unreadable(
    source,
    input,
    isDirectory ? Object.assign(new Error(), { code: 'EISDIR' }) : notRegularFile(source),
  );
}

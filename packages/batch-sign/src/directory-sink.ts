import { mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErstError, type JsonObject } from '@erst/core';
import { fsyncDirectory, isAtomicTempName, writeFileAtomicAsync } from '@erst/node-io';
import type { BatchRecord, Previous, RecordSink, ResumeContext } from './sink.js';

/** What writeFileAtomic leaves behind for DIR/<transaction_hash>.json when killed mid-write. */
const STALE_TEMP = /^\.[0-9a-f]{64}\.json\.(?:[0-9]+\.)?[0-9a-f]{12}\.tmp$/;

/**
 * Output to a directory, one `DIR/<transaction_hash>.json` per record, each
 * written to a temporary file, fsynced and renamed (the directory is fsynced
 * at close).
 *
 * @example
 * await signBatch({ input: 'payloads.jsonl', output: directorySink('records/'), signer });
 */
export function directorySink(dir: string): RecordSink {
  return new DirectorySink(dir);
}

class DirectorySink implements RecordSink {
  readonly target: string;
  readonly recordLayout = 'indented' as const;
  #context: ResumeContext | undefined;
  /**
   * The names in the directory when it was opened: only those can be an
   * earlier run's records. One listing, not a stat per record on the thread
   * that feeds the signer (a run never writes a transaction twice).
   */
  #present = new Set<string>();

  constructor(dir: string) {
    this.target = dir;
  }

  async open(context: ResumeContext): Promise<void> {
    // Its verifier is asked for only when a file is in the way (making one costs some milliseconds).
    this.#context = context;
    try {
      mkdirSync(this.target, { recursive: true });
      // Temporary files of a run killed mid-write: never visible as records, safe to remove.
      for (const name of readdirSync(this.target)) {
        if (STALE_TEMP.test(name) && isAtomicTempName(name)) unlinkSync(join(this.target, name));
        else this.#present.add(name);
      }
    } catch (e) {
      throw new ErstError(
        'ERR_OUTPUT_WRITE',
        `cannot use ${this.target} as the output directory (${(e as { code?: string }).code ?? 'error'})`,
      );
    }
  }

  holds(transactionHash: string): boolean {
    return this.#present.has(`${transactionHash}.json`);
  }

  /** A file counts as signed only if it verifies as this transaction's record; anything else is left alone. */
  async previous(transactionHash: string, _payload: JsonObject): Promise<Previous> {
    if (!this.#present.has(`${transactionHash}.json`)) return { state: 'absent' };
    const path = this.#path(transactionHash);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (e) {
      // Gone since the listing, or a link to nothing: nothing signed there.
      if ((e as { code?: string }).code === 'ENOENT') return { state: 'absent' };
      throw e;
    }
    const r = await this.#context!.verifier.verify(bytes);
    if (r.valid && r.transaction_hash === transactionHash) return { state: 'done' };
    return {
      state: 'conflict',
      code: 'ERR_OUTPUT_WRITE',
      message: `${path} exists and does not verify as this transaction's record under the signing key (${r.errors[0]?.code ?? 'different transaction'}); not overwritten`,
    };
  }

  /** Every file of the group at once; the first failure is the group's. */
  async write(group: readonly BatchRecord[]): Promise<void> {
    const results = await Promise.allSettled(
      group.map((r) =>
        writeFileAtomicAsync(this.#path(r.transactionHash), r.encoded ?? `${JSON.stringify(r.record, null, 2)}\n`),
      ),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  // Each file was fsynced before its rename; one directory fsync at close
  // makes the renames durable (a sync fsync per group would stall signing).
  async commit(): Promise<void> {}

  async close(): Promise<void> {
    fsyncDirectory(this.target);
  }

  #path(transactionHash: string): string {
    return join(this.target, `${transactionHash}.json`);
  }
}

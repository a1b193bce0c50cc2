import type { VerifyResult } from '@erst/verify';
import type { ChunkLog } from './protocol.js';

const decoder = new TextDecoder();

/**
 * The checkpoint note a record's `log_proof` ends with: everything after the
 * proof's first blank line (the tlog-proof format). Read only for a record
 * whose proof `@erst/verify` has already verified, so the text is well formed.
 */
function proofNote(bytes: Uint8Array): string | null {
  let proof: unknown;
  try {
    proof = (JSON.parse(decoder.decode(bytes)) as { log_proof?: unknown }).log_proof;
  } catch {
    // What the strict parser took and JSON.parse does not (a byte order mark): no note, so a lookup by hash instead.
    return null;
  }
  if (typeof proof !== 'string') return null;
  const blank = proof.indexOf('\n\n');
  return blank < 0 ? null : proof.slice(blank + 2);
}

/** Builds a chunk's `ChunkLog` in the worker, from the verifier's results and the records' bytes. */
export function chunkLog(results: readonly VerifyResult[], records: readonly Uint8Array[]): ChunkLog {
  const out: ChunkLog = { trace: [], proof: [], note: [], notes: [] };
  const ids = new Map<string, number>();
  results.forEach((r, i) => {
    out.trace.push(r.trace_hash ?? '');
    const note = r.log?.verified ? proofNote(records[i]!) : null;
    if (note === null) {
      out.proof.push(-1);
      out.note.push(-1);
      return;
    }
    let id = ids.get(note);
    if (id === undefined) {
      id = out.notes.length;
      ids.set(note, id);
      out.notes.push(note);
    }
    out.proof.push(r.log!.index);
    out.note.push(id);
  });
  return out;
}

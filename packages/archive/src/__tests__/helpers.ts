import { rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tempDir } from '@erst/fixtures';
import tar from 'tar-stream';
import { afterAll } from 'vitest';

const made: string[] = [];

/** A temporary directory, removed after the test file. */
export function scratchDir(prefix: string): string {
  const d = tempDir(prefix);
  made.push(d);
  return d;
}
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

export interface Member {
  name: string;
  data?: string | Uint8Array;
  type?: 'file' | 'directory' | 'symlink' | 'fifo';
  /** Extended (pax) header records for the member. */
  pax?: Record<string, string>;
}

/**
 * A tar archive written by tar-stream (a reader other than ours), and where
 * each member's data starts when no extended header is needed.
 */
export async function makeTar(members: Member[]): Promise<{ tar: Buffer; dataOffset: number[] }> {
  const pack = tar.pack();
  const dataOffset: number[] = [];
  let off = 0;
  for (const m of members) {
    const data = typeof m.data === 'string' ? Buffer.from(m.data, 'utf8') : Buffer.from(m.data ?? []);
    const type = m.type ?? 'file';
    dataOffset.push(off + 512);
    if (type === 'file') {
      off += 512 + Math.ceil(data.length / 512) * 512;
      pack.entry({ name: m.name, mtime: new Date('2026-11-26T00:00:00Z'), ...(m.pax ? { pax: m.pax } : {}) }, data);
    } else {
      off += 512;
      pack.entry({ name: m.name, type, ...(type === 'symlink' ? { linkname: 'target.json' } : {}) });
    }
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return { tar: Buffer.concat(chunks), dataOffset };
}

export function gzip(b: Uint8Array): Buffer {
  return gzipSync(b);
}

/** A byte stream in chunks of `size` bytes (boundaries anywhere, as networks and decompressors give them). */
export async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/**
 * Detaches a throwaway ArrayBuffer (transfers it away), once per thread,
 * before the thread's hot code runs. V8 compiles typed-array code on the
 * assumption that no ArrayBuffer of the thread has ever been detached, until
 * one is; then it discards every function compiled on that assumption and
 * compiles them again. A run transfers its chunk buffers between the reading
 * thread and the verifier threads, so the assumption breaks early anyway:
 * breaking it first spares the second compilation of every hot function
 * (optimizing compilation runs on V8's background threads, about a second of
 * CPU over a 50,000-record run's three threads; with this, 6 functions
 * deoptimized for it instead of 35).
 */
export function detachOnce(): void {
  if (detached) return;
  detached = true;
  const buffer = new ArrayBuffer(8);
  structuredClone(buffer, { transfer: [buffer] });
}

let detached = false;

/**
 * What the two canonical scans share: jcs-text.ts's `scanCanonical` (over
 * bytes, with node:buffer's native search) and jcs-string.ts's
 * `scanCanonicalText` (over the decoded string, for browsers). Both follow
 * the same rules, so they order members, refuse repeated keys and rewrite
 * objects with the same code. Internal to @erst/core.
 */

export const WS_SPACE = 0x20;
export const WS_TAB = 0x09;
export const WS_LF = 0x0a;
export const WS_CR = 0x0d;
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;

class Fail {}
/** Thrown inside a scan for a text the fast path does not take; the scan's entry point turns it into undefined. */
export const FAIL = new Fail();

/** Members up to which sortedOrder sorts by insertion (quadratic: only for small objects). */
const INSERTION_SORT_MAX = 24;

/**
 * Member indexes in key order (UTF-16 code units, as Array.prototype.sort
 * compares strings); FAIL on a repeated key. A small object (most: a record's
 * scan sorts every object whose members are out of order) is sorted by
 * insertion, without the work array Array.prototype.sort allocates per call.
 */
export function sortedOrder(keys: readonly string[]): number[] {
  const n = keys.length;
  const order = new Array<number>(n);
  if (n > INSERTION_SORT_MAX) {
    for (let k = 0; k < n; k++) order[k] = k;
    order.sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0));
    for (let k = 1; k < n; k++) if (keys[order[k - 1]!] === keys[order[k]!]) throw FAIL;
    return order;
  }
  for (let k = 0; k < n; k++) {
    const key = keys[k]!;
    let at = k;
    while (at > 0 && keys[order[at - 1]!]! > key) {
      order[at] = order[at - 1]!;
      at--;
    }
    if (at > 0 && keys[order[at - 1]!] === key) throw FAIL;
    order[at] = k;
  }
  return order;
}

/** Writes `{` + the members [starts[k], ends[k]) of `from` (offset by `base`) in `order`, comma-separated, + `}`. */
export function writeMembers(
  out: Uint8Array,
  at: number,
  from: Uint8Array,
  base: number,
  order: readonly number[],
  starts: readonly number[],
  ends: readonly number[],
): number {
  let w = at;
  out[w++] = 0x7b;
  order.forEach((k, n) => {
    if (n > 0) out[w++] = 0x2c;
    // Within one buffer (assembleCanonical), copyWithin: no view made per member.
    if (from === out) out.copyWithin(w, starts[k]! - base, ends[k]! - base);
    else out.set(from.subarray(starts[k]! - base, ends[k]! - base), w);
    w += ends[k]! - starts[k]!;
  });
  out[w++] = 0x7d;
  return w;
}

/** Where an object is copied aside while it is rewritten (rewrites are synchronous): grown, never shrunk. */
let spare = new Uint8Array(64 * 1024);

/**
 * Rewrites the object copied at `out`[open, end) with its members (at
 * [starts[k], ends[k]) of `out`) in key order; a repeated key throws FAIL.
 * The same members and one comma fewer than members: the same length, in the
 * same place.
 */
export function reorderMembers(
  out: Uint8Array,
  open: number,
  end: number,
  keys: readonly string[],
  starts: readonly number[],
  ends: readonly number[],
): void {
  const order = sortedOrder(keys);
  const length = end - open;
  if (spare.length < length) spare = new Uint8Array(Math.max(length, spare.length * 2));
  spare.set(out.subarray(open, end));
  writeMembers(out, open, spare, open, order, starts, ends);
}

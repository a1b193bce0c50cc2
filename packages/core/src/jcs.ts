import { ErstError } from './errors.js';
import { MAX_JSON_DEPTH } from './json.js';

/**
 * RFC 8785 JSON Canonicalization Scheme.
 *
 * JCS serializes strings and numbers exactly as ECMAScript's JSON.stringify
 * does, and orders object keys by UTF-16 code units (what Array.prototype.sort
 * does). So the fast path rebuilds each object with its keys inserted in
 * sorted order and makes one native JSON.stringify call: about twice as fast
 * as concatenating pieces, and it yields a flat string the hash can read
 * without copying. JS objects list integer-like keys ("1", "42") first
 * whatever the insertion order, so an object with such a key takes the
 * piecewise path instead.
 *
 * Every own member is kept, `__proto__` included: JSON.parse makes it an own
 * property like any other, and a canonical form that dropped it would let
 * anything under it escape the signature. Values nested deeper than
 * MAX_JSON_DEPTH are refused (ERR_JSON_TOO_DEEP) rather than overflow the stack.
 */
export function canonicalize(value: unknown): string {
  const sorted = sortedClone(value, 1);
  return sorted === UNSORTABLE ? canonicalizePiecewise(value, 1) : JSON.stringify(sorted);
}

const UNSORTABLE = Symbol('unsortable');
const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/;

/**
 * The value with every object's keys in sorted order. Subtrees that are
 * already in order are returned as they are, not copied: arrays of strings
 * (most of a record) cost nothing, and JSON.stringify keeps its fast path.
 */
function sortedClone(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw notJson(`the number ${value}`);
      return value;
    case 'object': {
      if (value === null) return null;
      if (depth > MAX_JSON_DEPTH) throw tooDeep();
      if (Array.isArray(value)) {
        let out: unknown[] | undefined;
        for (let i = 0; i < value.length; i++) {
          const v = value[i];
          if (v === undefined) throw notJson('undefined in an array');
          const c = sortedClone(v, depth + 1);
          if (c === UNSORTABLE) return UNSORTABLE;
          if (c !== v && !out) out = value.slice(0, i);
          out?.push(c);
        }
        return out ?? value;
      }
      assertPlain(value);
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj);
      let inOrder = true;
      for (let i = 1; i < keys.length; i++) {
        if (keys[i - 1]! > keys[i]!) {
          inOrder = false;
          break;
        }
      }
      if (!inOrder) keys.sort();
      let changed = !inOrder;
      const children: unknown[] = [];
      for (const key of keys) {
        if (ARRAY_INDEX.test(key)) return UNSORTABLE;
        const v = obj[key];
        // JSON.stringify drops undefined members; so must the canonical form.
        if (v === undefined) {
          changed = true;
          children.push(undefined);
          continue;
        }
        const c = sortedClone(v, depth + 1);
        if (c === UNSORTABLE) return UNSORTABLE;
        if (c !== v) changed = true;
        children.push(c);
      }
      if (!changed) return obj;
      const out: Record<string, unknown> = {};
      keys.forEach((key, i) => {
        if (children[i] === undefined) return;
        // Assigning to "__proto__" would set the prototype instead of adding a member.
        if (key === '__proto__') {
          Object.defineProperty(out, key, { value: children[i], enumerable: true, writable: true, configurable: true });
        } else {
          out[key] = children[i];
        }
      });
      return out;
    }
    default:
      throw notJson(`a value of type ${typeof value}`);
  }
}

function canonicalizePiecewise(value: unknown, depth: number): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(sortedClone(value, depth));
  if (depth > MAX_JSON_DEPTH) throw tooDeep();
  if (Array.isArray(value)) {
    // Indexed, not mapped: map skips holes and would write "[1,,2]".
    const items: string[] = [];
    for (let i = 0; i < value.length; i++) items.push(canonicalizePiecewise(value[i], depth + 1));
    return `[${items.join(',')}]`;
  }
  // sortedClone stopped at the first integer-like key: what it did not reach is checked here.
  assertPlain(value);
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(obj).sort()) {
    if (obj[key] === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${canonicalizePiecewise(obj[key], depth + 1)}`);
  }
  return `{${parts.join(',')}}`;
}

/** Dates, Maps, class instances and objects with toJSON would serialize by their own rules. */
function assertPlain(value: object): void {
  const proto = Object.getPrototypeOf(value);
  if ((proto !== Object.prototype && proto !== null) || typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    throw notJson(`an object that is not plain JSON (${proto?.constructor?.name ?? 'unknown'})`);
  }
}

function notJson(what: string): ErstError {
  return new ErstError('ERR_JSON_NOT_I_JSON', `cannot canonicalize ${what}`);
}

function tooDeep(): ErstError {
  return new ErstError(
    'ERR_JSON_TOO_DEEP',
    `cannot canonicalize a value nested more than ${MAX_JSON_DEPTH} levels deep`,
    {
      details: { max: MAX_JSON_DEPTH },
    },
  );
}

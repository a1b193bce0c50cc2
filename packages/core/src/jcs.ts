import { ErstError } from './errors.js';

/**
 * RFC 8785 JSON Canonicalization Scheme. ECMAScript's JSON.stringify already
 * serializes strings and numbers exactly as JCS requires; JCS adds key
 * ordering by UTF-16 code units, which is what Array.prototype.sort does.
 */
export function canonicalize(value: unknown): string {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) {
        throw new ErstError('ERR_JSON_NOT_I_JSON', `cannot canonicalize the number ${value}`);
      }
      return JSON.stringify(value);
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          out += canonicalize(value[i]);
        }
        return out + ']';
      }
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      let out = '{';
      let first = true;
      for (const key of keys) {
        const v = obj[key];
        // JSON.stringify drops undefined members; so must the canonical form.
        if (v === undefined) continue;
        if (!first) out += ',';
        first = false;
        out += JSON.stringify(key) + ':' + canonicalize(v);
      }
      return out + '}';
    }
    default:
      throw new ErstError('ERR_JSON_NOT_I_JSON', `cannot canonicalize a value of type ${typeof value}`);
  }
}

/**
 * Byte-exact emulation of Go's encoding/json output for the erst 1.x hash
 * inputs. Go marshals structs in declaration order (not sorted), escapes HTML
 * characters and U+2028/U+2029, and keeps nil slices as `null`.
 */

// Everything Go's encodeState.string (escapeHTML = true) does not copy literally.
const GO_NEEDS_ESCAPE = /["\\\u0000-\u001f<>&\u2028\u2029]/;
const GO_NEEDS_ESCAPE_ALL = /["\\\u0000-\u001f<>&\u2028\u2029]/g;

const SHORT: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b', // Go 1.22 and later
  '\f': '\\f', // Go 1.22 and later
};

function escapeOne(ch: string): string {
  return SHORT[ch] ?? '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0');
}

/** A Go-encoded JSON string literal (Go 1.22+ with escapeHTML, as json.Marshal does). */
export function goString(s: string): string {
  return GO_NEEDS_ESCAPE.test(s) ? '"' + s.replace(GO_NEEDS_ESCAPE_ALL, escapeOne) + '"' : '"' + s + '"';
}

/** A Go `[]string`: nil marshals as `null`, which is not the same bytes as `[]`. */
export function goStringSlice(values: readonly string[] | null): string {
  if (values === null) return 'null';
  let out = '[';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    out += goString(values[i]!);
  }
  return out + ']';
}

export function goBool(b: boolean): string {
  return b ? 'true' : 'false';
}

/** Fields of a Go struct in declaration order, each already encoded. */
export function goStruct(fields: readonly (readonly [name: string, encoded: string])[]): string {
  let out = '{';
  for (let i = 0; i < fields.length; i++) {
    if (i > 0) out += ',';
    out += goString(fields[i]![0]) + ':' + fields[i]![1];
  }
  return out + '}';
}

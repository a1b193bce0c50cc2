/**
 * Characters that change what a terminal shows rather than being shown:
 * C0 controls (newline, carriage return, ESC and the rest), DEL, C1 controls
 * (U+009B is a one-byte CSI on some terminals), the line and paragraph
 * separators, bidi controls (they reorder the text around them), and lone
 * surrogates (not text at all; a terminal shows them as something else).
 */
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Makes untrusted text (field names, file names, messages quoting them) safe
 * to put in a line a person reads: every character in {@link UNSAFE} becomes
 * its visible `\uXXXX` escape, so a record cannot erase a line or draw a fake
 * verdict, and the result is always one line. Everything else is unchanged.
 *
 * Not for machine output: JSON.stringify already escapes what JSON needs.
 *
 * @example escapeForDisplay('a\n\u001b[2K') // 'a\\u000a\\u001b[2K'
 */
export function escapeForDisplay(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

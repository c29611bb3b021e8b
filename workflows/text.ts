// Making untrusted text safe to show: error messages, Events, logs, the status query and CLI output
// embed strings a ClusterProfile author (or a source Secret, or a plugin) controls. A terminal escape
// sequence, a bidi override or a line separator in such a string could repaint a terminal, reorder
// what a reader sees or forge a log line; a megabyte string would bloat workflow history. Pure and
// deterministic: workflow code uses it as well as activities, the watcher and the CLI.

/** Cap for one profile-sourced string (a name, a context, a variable) inside a message. */
export const PROFILE_STRING_MAX = 256;
/** Cap for a whole message that ends up in history, an Event or the status query. */
export const MESSAGE_MAX = 2048;

/** Appended when text was cut. Counted in the cap, so capping twice gives the same result. */
export const TRUNCATION_MARKER = '…[truncated]';

// C0 and C1 controls and DEL (Cc), format characters such as bidi overrides and zero-width marks (Cf),
// the line and paragraph separators (Zl, Zp), and lone surrogates (Cs), which are not valid text.
const UNSAFE_CHAR = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

/** `\x1b`, `\u202e`, `\u{e0001}`: the code point written out, so that it is visible and inert. */
function escapeCodePoint(cp: number): string {
  if (cp === 0x0a) return '\\n';
  if (cp === 0x0d) return '\\r';
  if (cp === 0x09) return '\\t';
  if (cp <= 0xff) return `\\x${cp.toString(16).padStart(2, '0')}`;
  if (cp <= 0xffff) return `\\u${cp.toString(16).padStart(4, '0')}`;
  return `\\u{${cp.toString(16)}}`;
}

/**
 * `s` with every control, format and separator character escaped visibly, cut to at most `max`
 * characters (marker included). Work is proportional to `max`, not to `s`: a 1 MB input costs no
 * more than a short one. Idempotent: safeText(safeText(s, n), n) === safeText(s, n).
 */
export function safeText(s: string, max: number = MESSAGE_MAX): string {
  const limit = Math.max(max, TRUNCATION_MARKER.length);
  let out = '';
  for (const ch of s) {
    const piece = UNSAFE_CHAR.test(ch) ? escapeCodePoint(ch.codePointAt(0) ?? 0) : ch;
    if (out.length + piece.length > limit) return cut(out, limit);
    out += piece;
  }
  return out;
}

/** Ends `text` with the marker within `limit` characters, never splitting a surrogate pair. */
function cut(text: string, limit: number): string {
  let keep = limit - TRUNCATION_MARKER.length;
  const last = text.charCodeAt(keep - 1);
  if (last >= 0xd800 && last <= 0xdbff) keep--;
  return text.slice(0, keep) + TRUNCATION_MARKER;
}

/** A profile-sourced value for a message: made safe, capped at PROFILE_STRING_MAX and in double quotes. */
export function quoted(s: string, max: number = PROFILE_STRING_MAX): string {
  return `"${safeText(s, max)}"`;
}

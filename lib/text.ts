/** Key/value pairs of text, as clients send them and the service keeps them (context data, customer fields). */
export type TextMap = Readonly<Record<string, string>>;

// Control characters other than tab, CR and LF; keys also refuse those three. Finding control
// characters is what these patterns are for:
// biome-ignore lint/suspicious/noControlCharactersInRegex: see above.
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: see above.
const CONTROL_IN_KEY = /[\u0000-\u001F\u007F]/;

/** Text a person could have typed: no control characters but tab, CR and LF, no lone surrogates. */
export function isPlainText(value: string): boolean {
  return !CONTROL_IN_TEXT.test(value) && value.isWellFormed();
}

/** A key or a name: text with no control characters at all (isWellFormed: a lone surrogate has no UTF-8 form to store). */
export function isPlainKey(key: string): boolean {
  return !CONTROL_IN_KEY.test(key) && key.isWellFormed();
}

/** The first `length` code points: a cut inside a surrogate pair would leave malformed text. */
export function firstCodePoints(text: string, length: number): string {
  return Array.from(text).slice(0, length).join("");
}

/**
 * Bidirectional formatting characters (embeddings, overrides, isolates, marks). In a name they can
 * make text display in another order than it is stored: "\u202Enimda\u202C Support" shows as "admin
 * Support".
 */
const BIDI_CONTROL = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;
/** What shows nothing: spaces, and format characters such as zero-width spaces, joiners and bidi controls. */
const INVISIBLE = /^[\s\p{Cf}]*$/u;

/** A name without bidi controls: it displays as it is stored. */
export function hasBidiControl(text: string): boolean {
  return BIDI_CONTROL.test(text);
}

/** Text that would display as nothing at all. */
export function isInvisible(text: string): boolean {
  return INVISIBLE.test(text);
}

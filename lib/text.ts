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
/**
 * What shows nothing: white space, format characters (zero-width spaces, joiners, bidi controls),
 * the code points Unicode says to ignore in display (Hangul fillers, variation selectors, ...),
 * combining marks with nothing to combine with, the blank braille pattern and the null notehead.
 */
const INVISIBLE = /^[\p{White_Space}\p{Cf}\p{Default_Ignorable_Code_Point}\p{M}\u2800\u{1D159}]*$/u;
/** C1 controls and the Unicode line and paragraph separators: not text for a one-line field. */
const NOT_ONE_LINE = /[\u0080-\u009F\u2028\u2029]/;

/** A name without bidi controls: it displays as it is stored. */
export function hasBidiControl(text: string): boolean {
  return BIDI_CONTROL.test(text);
}

/** Text that would display as nothing at all. */
export function isInvisible(text: string): boolean {
  return INVISIBLE.test(text);
}

/**
 * A name or a one-line field people read (a nickname, a customer's name, a subject): plain (no
 * control characters at all, C1 included, nor line separators), visible, and without bidi controls.
 */
export function isDisplayName(text: string): boolean {
  return isPlainKey(text) && !NOT_ONE_LINE.test(text) && !hasBidiControl(text) && !isInvisible(text);
}

/** Length as a person counts characters: code points, not UTF-16 units. */
export function characters(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

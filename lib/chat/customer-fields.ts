import { InvalidInputError } from "../errors.ts";
import { characters, isDisplayName, isPlainKey, type TextMap } from "../text.ts";

/**
 * The customer fields of a create (`firstName`, `lastName`, `email`, `subject`, `userDisplayName`,
 * `subscriptionID`, `notify_by`): they show in every agent's queue, so each is short, and names
 * display as they are stored. Absent or empty fields stay out.
 */
const MAX_FIELD_LENGTH = 256;
/** RFC 5321's limit on an address in a path. */
const MAX_EMAIL_LENGTH = 254;
/** Fields people read as names or titles: visible, one line, no bidi controls (which could make them display as something else). */
const DISPLAYED = new Set(["firstName", "lastName", "userDisplayName", "subject", "email"]);
/**
 * One `@`, something on each side, a domain of dot-separated labels (no empty one), no spaces,
 * angle brackets or invisible characters: what a mail form accepts.
 */
const EMAIL = /^[^\s@<>()[\]\\,;:"]+@(?:[^\s@<>()[\]\\,;:".]+\.)+[^\s@<>()[\]\\,;:".]+$/;
const HIDDEN = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/u;

export function requireCustomerFields(fields: TextMap): TextMap {
  const customer: Record<string, string> = {};
  for (const [key, raw] of Object.entries(fields)) {
    const value = raw.trim();
    if (value === "") continue;
    if (characters(value) > MAX_FIELD_LENGTH || !isPlainKey(value)) {
      throw new InvalidInputError(`${key} must be at most ${MAX_FIELD_LENGTH} characters of text on one line`);
    }
    if (DISPLAYED.has(key) && !isDisplayName(value)) {
      throw new InvalidInputError(`${key} must be visible text on one line without bidirectional control characters`);
    }
    if (key === "email" && (characters(value) > MAX_EMAIL_LENGTH || !EMAIL.test(value) || HIDDEN.test(value))) {
      throw new InvalidInputError(`email must be an email address of at most ${MAX_EMAIL_LENGTH} characters`);
    }
    customer[key] = value;
  }
  return customer;
}

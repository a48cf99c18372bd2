import { InvalidInputError } from "../errors.ts";
import { hasBidiControl, isInvisible, isPlainKey, type TextMap } from "../text.ts";

/**
 * The customer fields of a create (`firstName`, `lastName`, `email`, `subject`, `userDisplayName`,
 * `subscriptionID`, `notify_by`): they show in every agent's queue, so each is short, and names
 * display as they are stored. Absent or empty fields stay out.
 */
const MAX_FIELD_LENGTH = 256;
/** RFC 5321's limit on an address in a path. */
const MAX_EMAIL_LENGTH = 254;
/** Fields people read as names or titles: no bidi controls, which could make them display as something else. */
const DISPLAYED = new Set(["firstName", "lastName", "userDisplayName", "subject", "email"]);
/** One `@`, something on each side, a dot in the domain, no spaces or angle brackets: what a mail form accepts. */
const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:".]+$/;

export function requireCustomerFields(fields: TextMap): TextMap {
  const customer: Record<string, string> = {};
  for (const [key, raw] of Object.entries(fields)) {
    const value = raw.trim();
    if (value === "") continue;
    if (value.length > MAX_FIELD_LENGTH || !isPlainKey(value)) {
      throw new InvalidInputError(`${key} must be at most ${MAX_FIELD_LENGTH} characters of text on one line`);
    }
    if (DISPLAYED.has(key) && (hasBidiControl(value) || isInvisible(value))) {
      throw new InvalidInputError(`${key} must be visible text without bidirectional control characters`);
    }
    if (key === "email" && (value.length > MAX_EMAIL_LENGTH || !EMAIL.test(value))) {
      throw new InvalidInputError(`email must be an email address of at most ${MAX_EMAIL_LENGTH} characters`);
    }
    customer[key] = value;
  }
  return customer;
}

import { BadRequestError } from "./http/errors.ts";
import type { Fields } from "./http/decode.ts";

/**
 * Limits on the business context data kept with a session. Amazon Connect allows 32 KB of contact
 * attributes; the same budget keeps a session item far below DynamoDB's 400 KB item limit.
 */
export const CONTEXT_LIMITS = {
  maxKeys: 100,
  maxKeyLength: 128,
  maxValueLength: 8 * 1024,
  maxTotalBytes: 32 * 1024,
} as const;

// Control characters other than tab, CR and LF; keys also refuse those three.
const CONTROL_IN_VALUE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
const CONTROL_IN_KEY = /[\u0000-\u001F\u007F]/;

/** Text a person could have typed: no control characters but tab, CR and LF, no lone surrogates. */
export function isPlainText(value: string): boolean {
  return !CONTROL_IN_VALUE.test(value) && value.isWellFormed();
}

export interface SplitFields {
  /** Keys starting with `_`: request options such as `_verbose` and `_ttl`, never stored. */
  readonly control: Fields;
  /** Everything else: the business context data stored with the session. */
  readonly data: Fields;
}

export function splitContextData(fields: Fields): SplitFields {
  const control: Fields = Object.create(null);
  // A plain object, as the DynamoDB marshaller requires; `__proto__` cannot reach it: it starts with "_".
  const data: Fields = {};
  let keys = 0;
  let totalBytes = 0;
  for (const [key, value] of Object.entries(fields)) {
    if (key.startsWith("_")) {
      control[key] = value;
      continue;
    }
    // isWellFormed: a lone surrogate (possible through a JSON \ud800 escape) has no UTF-8 form to store.
    if (key.length === 0 || key.length > CONTEXT_LIMITS.maxKeyLength || CONTROL_IN_KEY.test(key) || !key.isWellFormed()) {
      throw new BadRequestError(`Keys must be 1-${CONTEXT_LIMITS.maxKeyLength} characters of text without control characters`);
    }
    if (value.length > CONTEXT_LIMITS.maxValueLength || !isPlainText(value)) {
      throw new BadRequestError(`Values must be at most ${CONTEXT_LIMITS.maxValueLength} characters of text without control characters`);
    }
    keys += 1;
    totalBytes += Buffer.byteLength(key) + Buffer.byteLength(value);
    if (keys > CONTEXT_LIMITS.maxKeys) throw new BadRequestError(`At most ${CONTEXT_LIMITS.maxKeys} context keys are accepted`);
    if (totalBytes > CONTEXT_LIMITS.maxTotalBytes) {
      throw new BadRequestError(`Context data may total at most ${CONTEXT_LIMITS.maxTotalBytes} bytes`);
    }
    data[key] = value;
  }
  return { control, data };
}

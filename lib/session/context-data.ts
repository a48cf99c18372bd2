import { InvalidInputError } from "../errors.ts";
import { isPlainKey, isPlainText, type TextMap } from "../text.ts";

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

/** Context data within the limits, as a plain object; refuses anything else with the limit it breaks. */
export function requireContextData(fields: TextMap): TextMap {
  // A plain object, as storage adapters expect; `__proto__` cannot reach it: it starts with "_",
  // and callers keep underscore keys out.
  const data: Record<string, string> = {};
  let keys = 0;
  let totalBytes = 0;
  for (const [key, value] of Object.entries(fields)) {
    if (key.length === 0 || key.length > CONTEXT_LIMITS.maxKeyLength || !isPlainKey(key)) {
      throw new InvalidInputError(`Keys must be 1-${CONTEXT_LIMITS.maxKeyLength} characters of text without control characters`);
    }
    if (value.length > CONTEXT_LIMITS.maxValueLength || !isPlainText(value)) {
      throw new InvalidInputError(`Values must be at most ${CONTEXT_LIMITS.maxValueLength} characters of text without control characters`);
    }
    keys += 1;
    totalBytes += Buffer.byteLength(key) + Buffer.byteLength(value);
    if (keys > CONTEXT_LIMITS.maxKeys) throw new InvalidInputError(`At most ${CONTEXT_LIMITS.maxKeys} context keys are accepted`);
    if (totalBytes > CONTEXT_LIMITS.maxTotalBytes) {
      throw new InvalidInputError(`Context data may total at most ${CONTEXT_LIMITS.maxTotalBytes} bytes`);
    }
    data[key] = value;
  }
  return data;
}

export interface SplitFields {
  /** Keys starting with `_`: request options such as `_verbose` and `_ttl`, never stored. */
  readonly control: TextMap;
  /** Everything else: business context data, within the limits. */
  readonly data: TextMap;
}

/** Splits what a client sent into control keys and context data, checking the data. */
export function splitContextData(fields: TextMap): SplitFields {
  const control: Record<string, string> = Object.create(null);
  const rest: Record<string, string> = Object.create(null);
  for (const [key, value] of Object.entries(fields)) {
    if (key.startsWith("_")) control[key] = value;
    else rest[key] = value;
  }
  return { control, data: requireContextData(rest) };
}

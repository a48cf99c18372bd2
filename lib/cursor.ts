import { InvalidInputError } from "./errors.ts";

/**
 * Pages' `next` values: opaque to clients, the sort key where a page ended, base64url. What a
 * client hands back is decoded and checked against `pattern` before it goes near storage: anything
 * else is the client's mistake (400 with `message`), never a key.
 */
export function cursorOf(position: string): string {
  return Buffer.from(position).toString("base64url");
}

export function positionOfCursor(cursor: string, pattern: RegExp, message: string): string {
  const position = Buffer.from(cursor, "base64url").toString("utf8");
  if (!pattern.test(position)) throw new InvalidInputError(message);
  return position;
}

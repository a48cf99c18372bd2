import { InvalidInputError } from "../errors.ts";
import { characters, isInvisible, isPlainText } from "../text.ts";

const MAX_MESSAGE_LENGTH = 4096;

/** A chat message: 1-4,096 characters (code points, as people count them) of text, not only spaces or invisible characters. */
export function requireMessage(raw: string | undefined): string {
  const message = raw ?? "";
  if (isInvisible(message) || characters(message) > MAX_MESSAGE_LENGTH || !isPlainText(message)) {
    throw new InvalidInputError(`message must be 1-${MAX_MESSAGE_LENGTH} characters of text`);
  }
  return message;
}

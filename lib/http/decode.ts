import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from "./errors.ts";

/** The parts of an API Gateway proxy event that carry client input. */
export interface RawRequest {
  readonly body: string | null;
  readonly isBase64Encoded: boolean;
  readonly headers: Readonly<Record<string, string | undefined>> | null;
  readonly queryStringParameters?: Readonly<Record<string, string | undefined>> | null;
  readonly multiValueQueryStringParameters?: Readonly<Record<string, readonly string[] | undefined>> | null;
}

export type Fields = Record<string, string>;

/** Largest accepted body, counted in decoded bytes. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Media types read by what the body holds. text/plain is what `fetch(url, {body: "a=b"})` and
 * browsers' preflight-free requests send for a form string.
 */
const TEXT_TYPES = new Set(["", "application/x-www-form-urlencoded", "application/json", "text/plain"]);

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Case-insensitive header lookup: clients and API Gateway keep whatever case the sender used. */
export function header(request: Pick<RawRequest, "headers">, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(request.headers ?? {})) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
}

/**
 * Decodes the key/value pairs a client sent: query-string parameters merged with the body's fields
 * (the body wins). Accepts form-urlencoded, JSON objects and multipart form data, base64 bodies when
 * flagged, empty bodies and a missing content type. Throws only `HttpError`s.
 *
 * Leniency, as a legacy servlet container would show it: a body is read by what it holds, not by
 * its label. One that starts with `{` or `[` is JSON (and must be an object); anything else is a
 * form, whether labelled form, JSON, plain text or nothing. serverless-offline labels a body
 * without a type `application/json`, and field clients mislabel in both directions.
 */
export async function decodeFields(request: RawRequest): Promise<Fields> {
  const fields: Fields = Object.create(null);
  for (const values of Object.values(request.multiValueQueryStringParameters ?? {})) {
    if (values !== undefined && values.length > 1) throw duplicateKey();
  }
  for (const [key, value] of Object.entries(request.queryStringParameters ?? {})) {
    if (value === undefined) continue;
    requireNoReplacement(key + value);
    fields[key] = value;
  }
  const bytes = bodyBytes(request);
  return bytes.length === 0 ? fields : Object.assign(fields, await decodeBody(request, bytes));
}

/** The body's fields, read by what it holds (decodeFields). */
async function decodeBody(request: RawRequest, bytes: Uint8Array): Promise<Fields> {
  const contentType = header(request, "content-type") ?? "";
  const mediaType = (contentType.split(";")[0] ?? "").trim().toLowerCase();
  let bodyFields: Fields;
  if (mediaType === "multipart/form-data") {
    bodyFields = await decodeMultipart(bytes, contentType);
  } else if (TEXT_TYPES.has(mediaType)) {
    const text = decodeUtf8(bytes);
    bodyFields = looksLikeJson(text) ? decodeJsonObject(text) : decodeUrlEncoded(text);
  } else {
    throw new UnsupportedMediaTypeError();
  }
  for (const [key, value] of Object.entries(bodyFields)) requireNoReplacement(key + value);
  return bodyFields;
}

/**
 * U+FFFD, the replacement character, is refused wherever a client sends text (decision). The
 * gateways decode before the function sees the bytes: serverless-offline and API Gateway put U+FFFD
 * where a query string's escapes, and serverless-offline where a form or JSON body's bytes, are not
 * UTF-8, and multipart parts are decoded the same way; so text that holds one is answered as the
 * bytes themselves would be (a 400), and nothing mangled is stored. Deployed, bodies reach the
 * function as bytes (serverless.yml `binaryMediaTypes`) and are decoded strictly besides.
 */
export function requireNoReplacement(text: string): void {
  if (text.includes("\uFFFD")) throw notUtf8();
}

function notUtf8(): BadRequestError {
  return new BadRequestError("Request is not valid UTF-8 (U+FFFD, which stands for bytes that were not, is refused too)");
}

/**
 * A JSON body of any shape (the Bayeux endpoint's arrays of messages), with the same bounds as
 * decodeFields: 64 KB, base64 when flagged, UTF-8, and read by what it holds whatever its label
 * among the text types; any other media type is a 415, an empty or malformed body a 400.
 */
export function decodeJson(request: RawRequest): unknown {
  const mediaType = (header(request, "content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (!TEXT_TYPES.has(mediaType)) throw new UnsupportedMediaTypeError("Unsupported content type: send application/json");
  const bytes = bodyBytes(request);
  if (bytes.length === 0) throw new BadRequestError("Send a JSON body");
  try {
    const text = decodeUtf8(bytes);
    requireNoReplacement(text);
    return JSON.parse(text);
  } catch (error) {
    if (error instanceof BadRequestError) throw error;
    throw new BadRequestError("Request body is not valid JSON");
  }
}

function bodyBytes(request: RawRequest): Uint8Array {
  const { body } = request;
  if (body === null || body === undefined || body === "") return new Uint8Array(0);
  // Base64 inflates by 4/3: reject obviously oversized input before allocating its decoded copy.
  if (body.length > (request.isBase64Encoded ? Math.ceil((MAX_BODY_BYTES * 4) / 3) + 4 : MAX_BODY_BYTES * 4)) {
    throw new PayloadTooLargeError(MAX_BODY_BYTES);
  }
  const bytes = request.isBase64Encoded ? Buffer.from(body, "base64") : Buffer.from(body, "utf8");
  if (bytes.length > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
  return bytes;
}

/** The bytes as UTF-8 text; text that is not UTF-8 is a 400, never silently replaced. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw notUtf8();
  }
}

/** A form never starts with `{` or `[`; JSON objects (and arrays, which we refuse) always do. */
function looksLikeJson(text: string): boolean {
  return /^\s*[{[]/.test(text);
}

function decodeUrlEncoded(text: string): Fields {
  try {
    // URLSearchParams silently keeps malformed escapes; decodeURIComponent rejects bad escapes and
    // escapes that are not UTF-8, which we answer with a 400 instead of storing mangled text.
    decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    throw new BadRequestError("Request body has invalid percent-encoding");
  }
  return collect(new URLSearchParams(text));
}

function decodeJsonObject(text: string): Fields {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BadRequestError("Request body is not valid JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new BadRequestError("JSON request body must be an object");
  }
  const fields: Fields = Object.create(null);
  for (const [key, value] of Object.entries(parsed)) {
    if (value === null) continue;
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
      fields[key] = String(value);
    } else if (Array.isArray(value) && value.every((item) => typeof item === "string" && !item.includes(","))) {
      // A list (an agent's `endpoints`) reads as the form writes it: its items separated by commas.
      fields[key] = value.join(",");
    } else {
      throw new BadRequestError("JSON values must be strings, numbers, booleans or lists of strings without commas");
    }
  }
  return fields;
}

async function decodeMultipart(bytes: Uint8Array, contentType: string): Promise<Fields> {
  let form: FormData;
  try {
    form = await new Response(bytes, { headers: { "content-type": contentType } }).formData();
  } catch {
    throw new BadRequestError("Request body is not valid multipart/form-data");
  }
  const pairs: [string, string][] = [];
  for (const [key, value] of form.entries()) {
    if (typeof value !== "string") throw new UnsupportedMediaTypeError("File parts are not accepted; send text fields only");
    pairs.push([key, value]);
  }
  return collect(pairs);
}

/**
 * A key sent twice in a form, a multipart body or the query string is refused: no client relies on
 * it, and picking one value would silently drop the other. (In a JSON object the last one wins, as
 * JSON.parse has it.) A key in both the query string and the body is no duplicate: the body wins.
 */
function collect(pairs: Iterable<[string, string]>): Fields {
  const fields: Fields = Object.create(null);
  for (const [key, value] of pairs) {
    if (Object.hasOwn(fields, key)) throw duplicateKey();
    fields[key] = value;
  }
  return fields;
}

function duplicateKey(): BadRequestError {
  return new BadRequestError("A key appears more than once in the request");
}

import type { APIGatewayProxyEvent } from "aws-lambda";
import fc from "fast-check";
import { expect } from "vitest";
import { MAX_BODY_BYTES } from "../../lib/http/decode.ts";
import { httpEvent } from "./events.ts";

/**
 * Generated requests, as field clients and attackers send them: random bytes and text, forms, JSON,
 * multipart bodies with any boundary, base64 or not, every content type in any case, header names in
 * any case, query strings, Idempotency-Keys, sizes around the limits. `service` is one of the
 * configured names `request-chat` (open), `closed` (no agent), or anything else.
 */
const anyCase = (name: string) =>
  fc
    .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
    .map((flags) => [...name].map((c, i) => (flags[i] ? c.toUpperCase() : c.toLowerCase())).join(""));

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.string({ unit: "binary" }),
  fc.constantFrom("", "%", "%zz", "%C3%28", "\ud800", "a=1&a=2"),
);
const key = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom("_ttl", "_verbose", "_chat_endpoint", "firstName", "", "__proto__", "constructor"),
);
// Long values are built by repetition: generating them character by character is slow.
const longValue = fc
  .tuple(fc.string({ minLength: 1, maxLength: 3 }), fc.integer({ min: 2700, max: 9000 }))
  .map(([unit, n]) => unit.repeat(Math.ceil(n / unit.length)).slice(0, n));
const value = fc.oneof(text, fc.constantFrom("true", "True", "1", "0", "60", "-1", "604801", "1e3"), longValue);
const pairs = fc.array(fc.tuple(key, value), { maxLength: 12 });

const mediaType = fc
  .oneof(
    fc.constantFrom(
      "application/x-www-form-urlencoded",
      "application/x-www-form-urlencoded; charset=UTF-8",
      "application/json",
      "application/json;charset=utf-8",
      "text/plain;charset=UTF-8",
      "multipart/form-data",
      "multipart/form-data; boundary=XyZ",
      "application/xml",
      "",
    ),
    fc.string({ maxLength: 40 }),
  )
  .chain((type) => anyCase(type));

const multipart = fc.tuple(pairs, fc.string({ minLength: 1, maxLength: 30 }), fc.boolean()).map(([fields, boundary, withFile]) => {
  const parts = fields.map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`);
  if (withFile)
    parts.push(`--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello\r\n`);
  return { body: `${parts.join("")}--${boundary}--\r\n`, contentType: `multipart/form-data; boundary=${boundary}` };
});

const body = fc.oneof(
  pairs.map((p) => ({ body: new URLSearchParams(p).toString(), contentType: undefined as string | undefined })),
  pairs.map((p) => ({ body: p.map(([k, v]) => `${k}=${v}`).join("&"), contentType: undefined as string | undefined })),
  fc
    .dictionary(key, fc.oneof(value, fc.integer(), fc.boolean(), fc.constant(null), fc.jsonValue()))
    .map((o) => ({ body: JSON.stringify(o), contentType: undefined as string | undefined })),
  fc.jsonValue().map((v) => ({ body: JSON.stringify(v), contentType: undefined as string | undefined })),
  multipart,
  text.map((t) => ({ body: t, contentType: undefined as string | undefined })),
  fc.constantFrom(null, "").map((b) => ({ body: b, contentType: undefined as string | undefined })),
  fc
    .integer({ min: MAX_BODY_BYTES - 8, max: MAX_BODY_BYTES + 8 })
    .map((n) => ({ body: `a=${"x".repeat(n)}`, contentType: undefined as string | undefined })),
);

export const generatedRequest = fc
  .record({
    body,
    mediaType,
    useMediaType: fc.boolean(),
    base64: fc.boolean(),
    rawBytes: fc.option(fc.uint8Array({ maxLength: 300 })),
    contentTypeName: anyCase("content-type"),
    query: fc.option(fc.dictionary(key, text, { maxKeys: 4 })),
    service: fc.oneof(fc.constantFrom("request-chat", "closed", "Chat2"), fc.string({ maxLength: 70 })),
    idempotencyKey: fc.option(fc.oneof(fc.uuid(), fc.string({ maxLength: 300 }))),
    idempotencyName: anyCase("idempotency-key"),
    user: fc.option(fc.string({ maxLength: 20 })),
  })
  .map((r): APIGatewayProxyEvent => {
    const headers: Record<string, string> = {};
    const contentType = r.body.contentType ?? (r.useMediaType ? r.mediaType : undefined);
    if (contentType !== undefined) headers[r.contentTypeName] = contentType;
    if (r.idempotencyKey !== null) headers[r.idempotencyName] = r.idempotencyKey;
    if (r.user !== null) headers.gms_user = r.user;
    let payload = r.body.body;
    if (r.rawBytes !== null) payload = Buffer.from(r.rawBytes).toString(r.base64 ? "base64" : "latin1");
    else if (r.base64 && payload !== null) payload = Buffer.from(payload).toString("base64");
    return httpEvent({
      path: `/genesys/1/service/${r.service}`,
      pathParameters: { service: r.service },
      headers,
      queryStringParameters: r.query,
      body: payload,
      isBase64Encoded: r.base64,
    });
  });

/** No 500; a 503 only for "no agent"; every other non-2xx the GMS error body and nothing else. */
export function expectGmsAnswer(response: { statusCode: number; body: string }) {
  expect(response.statusCode).not.toBe(500);
  if (response.statusCode >= 500) expect(JSON.parse(response.body).exception).toBe("NoAgentAvailableException");
  if (response.statusCode >= 300) {
    const error = JSON.parse(response.body);
    expect(Object.keys(error).sort()).toEqual(["exception", "message"]);
    expect(typeof error.message).toBe("string");
    expect(typeof error.exception).toBe("string");
  }
}

/**
 * Requests a client could mean: request-chat with a form or JSON body of arbitrary (often odd)
 * keys and values. Most of these pass validation, so they exercise storage rather than refusals.
 */
export const plausibleRequest = fc
  .record({
    fields: fc.dictionary(
      fc.string({ minLength: 1, maxLength: 30, unit: "grapheme" }),
      fc.oneof(fc.string({ unit: "grapheme", maxLength: 200 }), longValue),
      { maxKeys: 15 },
    ),
    json: fc.boolean(),
    base64: fc.boolean(),
  })
  .map(({ fields, json, base64 }) => {
    const text = json ? JSON.stringify(fields) : new URLSearchParams(fields).toString();
    return httpEvent({
      pathParameters: { service: "request-chat" },
      headers: { "Content-Type": json ? "application/json" : "application/x-www-form-urlencoded" },
      body: base64 ? Buffer.from(text).toString("base64") : text,
      isBase64Encoded: base64,
    });
  });

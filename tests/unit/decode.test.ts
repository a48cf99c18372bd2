import { describe, expect, it } from "vitest";
import { decodeFields, header, MAX_BODY_BYTES, type RawRequest } from "../../lib/http/decode.ts";
import { HttpError } from "../../lib/http/errors.ts";

function request(body: string | null, contentType?: string, extra: Partial<RawRequest> = {}): RawRequest {
  return { body, isBase64Encoded: false, headers: contentType === undefined ? {} : { "Content-Type": contentType }, ...extra };
}

async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (error) {
    if (error instanceof HttpError) return error.status;
    throw error;
  }
}

describe("decodeFields", () => {
  it("decodes a form body with plus signs and escapes", async () => {
    expect(await decodeFields(request("firstName=Anna+Maria&note=caf%C3%A9%20%26%20bar", "application/x-www-form-urlencoded"))).toEqual({
      firstName: "Anna Maria",
      note: "café & bar",
    });
  });

  it.each([
    ["lower case", { "content-type": "application/x-www-form-urlencoded" }],
    ["upper case", { "CONTENT-TYPE": "APPLICATION/X-WWW-FORM-URLENCODED; charset=UTF-8" }],
    ["no content type", {}],
  ])("reads a form whatever the header casing (%s)", async (_name, headers) => {
    expect(await decodeFields({ body: "a=1", isBase64Encoded: false, headers })).toEqual({ a: "1" });
  });

  it.each([
    ["plain", "a=1&b=x%20y", false],
    ["base64", Buffer.from("a=1&b=x%20y").toString("base64"), true],
  ])("decodes %s bodies", async (_name, body, isBase64Encoded) => {
    expect(await decodeFields(request(body, "application/x-www-form-urlencoded", { isBase64Encoded }))).toEqual({ a: "1", b: "x y" });
  });

  it("answers an empty object for empty and null bodies", async () => {
    expect(await decodeFields(request(null))).toEqual({});
    expect(await decodeFields(request("", "application/json"))).toEqual({});
  });

  it("decodes JSON objects, turning numbers and booleans into strings and skipping nulls", async () => {
    expect(await decodeFields(request('{"a":"x","n":3,"b":true,"z":null}', "application/json"))).toEqual({ a: "x", n: "3", b: "true" });
  });

  it("reads mislabelled bodies by what they hold", async () => {
    expect(await decodeFields(request('{"a":"x"}', "application/x-www-form-urlencoded"))).toEqual({ a: "x" });
    expect(await decodeFields(request("a=x", "application/json"))).toEqual({ a: "x" });
    expect(await decodeFields(request("a=x", "text/plain;charset=UTF-8"))).toEqual({ a: "x" });
  });

  it("decodes multipart text fields", async () => {
    const form = new FormData();
    form.set("firstName", "Anna");
    form.set("subject", "Billing");
    const built = new Request("http://localhost/", { method: "POST", body: form });
    const body = Buffer.from(await built.arrayBuffer()).toString("base64");
    const contentType = built.headers.get("content-type")!;
    expect(await decodeFields(request(body, contentType, { isBase64Encoded: true }))).toEqual({ firstName: "Anna", subject: "Billing" });
  });

  it("merges query-string parameters, the body winning", async () => {
    expect(await decodeFields(request("a=body", undefined, { queryStringParameters: { a: "query", q: "1" } }))).toEqual({
      a: "body",
      q: "1",
    });
  });

  it.each([
    ["invalid percent-encoding", request("a=%zz", "application/x-www-form-urlencoded"), 400],
    ["percent-encoded invalid UTF-8", request("a=%C3%28", "application/x-www-form-urlencoded"), 400],
    ["raw invalid UTF-8", request(Buffer.from([0x61, 0x3d, 0xff]).toString("base64"), undefined, { isBase64Encoded: true }), 400],
    // What a gateway hands on in place of bytes that are not UTF-8, refused like them.
    ["U+FFFD in the query string", request(null, undefined, { queryStringParameters: { a: "x\uFFFD" } }), 400],
    ["U+FFFD in a key", request("\uFFFD=1", "application/x-www-form-urlencoded"), 400],
    ["U+FFFD in a form", request("a=%EF%BF%BD", "application/x-www-form-urlencoded"), 400],
    ["U+FFFD in JSON", request('{"a":"\\ufffd"}', "application/json"), 400],
    ["malformed JSON", request('{"a":', "application/json"), 400],
    ["a JSON array", request('[{"a":1}]', "application/json"), 400],
    ["nested JSON values", request('{"a":{"b":1}}', "application/json"), 400],
    ["duplicate keys", request("a=1&a=2", "application/x-www-form-urlencoded"), 400],
    [
      "duplicate query-string keys",
      request(null, undefined, { queryStringParameters: { a: "2" }, multiValueQueryStringParameters: { a: ["1", "2"] } }),
      400,
    ],
    ["an unsupported media type", request("<x/>", "application/xml"), 415],
    ["an oversized body", request(`a=${"x".repeat(MAX_BODY_BYTES)}`, "application/x-www-form-urlencoded"), 413],
  ])("refuses %s", async (_name, input, status) => {
    expect(await statusOf(decodeFields(input))).toBe(status);
  });

  it("refuses a multipart part whose bytes are not UTF-8, which the multipart parser would replace with U+FFFD", async () => {
    const body = Buffer.concat([
      Buffer.from('--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nx'),
      Buffer.from([0xff]),
      Buffer.from("\r\n--b--\r\n"),
    ]).toString("base64");
    expect(await statusOf(decodeFields(request(body, "multipart/form-data; boundary=b", { isBase64Encoded: true })))).toBe(400);
  });

  it("never echoes the raw input in its error message", async () => {
    const secret = "%zzsecret-value";
    const error = await decodeFields(request(`a=${secret}`, "application/x-www-form-urlencoded")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect((error as Error).message).not.toContain("secret");
  });
});

describe("header", () => {
  it("finds a header whatever its case", () => {
    expect(header({ headers: { "X-Api-KEY": "k" } }, "x-api-key")).toBe("k");
    expect(header({ headers: null }, "x-api-key")).toBeUndefined();
  });
});

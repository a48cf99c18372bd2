import { describe, expect, it } from "vitest";
import { availabilityView, isInForce, notificationFor } from "../../lib/config/availability.ts";
import { DEFAULT_OPTIONS, requireServiceName } from "../../lib/config/services.ts";
import { InvalidInputError } from "../../lib/errors.ts";
import { isVerbose, parseTtlSeconds } from "../../lib/http/fields.ts";
import { parseNotification as parseNotificationCommand, parseServiceOptions } from "../../lib/http/routes/admin.ts";
import { CONTEXT_LIMITS, splitContextData } from "../../lib/session/context-data.ts";
import { epochSeconds, MAX_TTL_SECONDS } from "../../lib/time.ts";

const now = new Date("2026-11-25T10:00:00Z");
/** An admin PUT's notification, as the edge parses it and the domain dates it. */
const parseNotification = (endpoint: string, fields: Record<string, string>, at: Date) =>
  notificationFor(parseNotificationCommand(endpoint, fields), at);

describe("parseTtlSeconds", () => {
  it.each(["1", "3600", String(MAX_TTL_SECONDS), " 60 "])("accepts %j", (raw) => {
    expect(parseTtlSeconds(raw)).toBe(Number(raw.trim()));
  });
  it.each(["0", "-1", "1.5", "1e3", "abc", "", String(MAX_TTL_SECONDS + 1), "99999999999"])("refuses %j with a 400", (raw) => {
    expect(() => parseTtlSeconds(raw)).toThrow(InvalidInputError);
  });
});

describe("isVerbose", () => {
  it.each(["true", "True", "TRUE", "1"])("is verbose for %j", (raw) => expect(isVerbose(raw)).toBe(true));
  it.each([undefined, "false", "0", "yes", ""])("is not verbose for %j", (raw) => expect(isVerbose(raw)).toBe(false));
});

describe("epochSeconds", () => {
  it("counts seconds, not milliseconds", () => expect(epochSeconds(now)).toBe(Date.parse("2026-11-25T10:00:00Z") / 1000));
});

describe("splitContextData", () => {
  it("keeps underscore keys out of the business data", () => {
    expect(splitContextData({ firstName: "Anna", _verbose: "true", _chat_endpoint: "x" })).toEqual({
      control: { _verbose: "true", _chat_endpoint: "x" },
      data: { firstName: "Anna" },
    });
  });
  it.each([
    ["too many keys", Object.fromEntries(Array.from({ length: CONTEXT_LIMITS.maxKeys + 1 }, (_, i) => [`k${i}`, "v"]))],
    ["a long key", { ["k".repeat(CONTEXT_LIMITS.maxKeyLength + 1)]: "v" }],
    ["a long value", { k: "v".repeat(CONTEXT_LIMITS.maxValueLength + 1) }],
    ["too much data", Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, "v".repeat(CONTEXT_LIMITS.maxValueLength)]))],
    ["a control character", { k: "a\u0000b" }],
  ])("refuses %s", (_name, fields) => {
    expect(() => splitContextData(fields)).toThrow(InvalidInputError);
  });
});

describe("parseServiceOptions", () => {
  it("fills omitted options with the defaults", () => {
    expect(parseServiceOptions({})).toEqual(DEFAULT_OPTIONS);
    expect(parseServiceOptions({ _ttl: "60", _chat_endpoint: "Environment:sales" })).toEqual({
      ttlSeconds: 60,
      chatEndpoint: "Environment:sales",
    });
  });
  it.each([{ _ttl: "0" }, { _chat_endpoint: "" }, { _chat_endpoint: "a b" }, { _tll: "60" }])("refuses %j", (fields) => {
    expect(() => parseServiceOptions(fields)).toThrow(InvalidInputError);
  });
  it("refuses invalid service names", () => {
    expect(() => requireServiceName("bad name")).toThrow(InvalidInputError);
    expect(requireServiceName("Chat2")).toBe("Chat2");
  });
});

describe("availability notifications", () => {
  it("is in force while available and not lapsed", () => {
    const lasting = parseNotification("gms_builtin", { available: "true" }, now);
    const lapsing = parseNotification("gms_builtin", { available: "TRUE", _ttl: "30" }, now);
    expect(isInForce(lasting, new Date(now.getTime() + 10 ** 9))).toBe(true);
    expect(isInForce(lapsing, new Date(now.getTime() + 29_000))).toBe(true);
    expect(isInForce(lapsing, new Date(now.getTime() + 30_000))).toBe(false);
    expect(isInForce(parseNotification("gms_builtin", { available: "false" }, now), now)).toBe(false);
    expect(isInForce(undefined, now)).toBe(false);
  });
  it("shows a lapsed notification as not available", () => {
    const notification = parseNotification("e", { available: "true", _ttl: "5" }, now);
    const view = availabilityView("e", { notification, readyUntil: 0, readyAgents: 0 }, new Date(now.getTime() + 6000));
    expect(view).toMatchObject({ endpoint: "e", available: false, notification: { available: true, lapsed: true } });
  });
  it.each([{}, { available: "maybe" }, { available: "true", _ttl: "x" }, { available: "true", extra: "1" }])("refuses %j", (fields) => {
    expect(() => parseNotification("e", fields, now)).toThrow(InvalidInputError);
  });
});

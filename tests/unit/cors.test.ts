import { describe, expect, it } from "vitest";
import { corsHeaders, corsPolicy, sameOriginHeaders } from "../../lib/http/cors.ts";
import { NotFoundError } from "../../lib/http/errors.ts";
import { httpHandler } from "../../lib/http/respond.ts";
import { httpEvent } from "../support/events.ts";

const fromOrigin = (origin: string) => ({ headers: { Origin: origin } });

describe("corsPolicy", () => {
  it("allows any origin by default and with *", () => {
    expect(corsPolicy(undefined)).toEqual({ anyOrigin: true });
    expect(corsPolicy(" * ")).toEqual({ anyOrigin: true });
  });
  it("reads a comma-separated list of origins", () => {
    expect(corsPolicy("https://a.example.com, http://localhost:3000")).toEqual({
      anyOrigin: false,
      origins: new Set(["https://a.example.com", "http://localhost:3000"]),
    });
  });
  it.each(["a.example.com", "https://a.example.com/path", "ftp://x"])("refuses the setting %j at start-up", (setting) => {
    expect(() => corsPolicy(setting)).toThrow(/CORS_ALLOWED_ORIGINS/);
  });
});

describe("corsHeaders", () => {
  const listed = corsPolicy("https://a.example.com");
  it("echoes a listed origin and varies on Origin", () => {
    expect(corsHeaders(listed, fromOrigin("https://a.example.com"))).toMatchObject({
      "Access-Control-Allow-Origin": "https://a.example.com",
      "Access-Control-Expose-Headers": "Retry-After,WWW-Authenticate",
      Vary: "Origin",
    });
  });
  it("allows no other origin, naming a listed one instead (so that serverless-offline echoes nobody's)", () => {
    const refused = { "Access-Control-Allow-Origin": "https://a.example.com", Vary: "Origin" };
    expect(corsHeaders(listed, fromOrigin("https://evil.example.com"))).toEqual(refused);
    expect(corsHeaders(listed, { headers: {} })).toEqual(refused);
  });
  it("names the API's own origin alone on what only its pages may read", () => {
    expect(
      sameOriginHeaders({ headers: { Host: "api.example.com", "X-Forwarded-Proto": "https", Origin: "https://evil.example.com" } }),
    ).toEqual({
      "Access-Control-Allow-Origin": "https://api.example.com",
      Vary: "Origin",
    });
    expect(sameOriginHeaders({ headers: { host: "127.0.0.1:8080" } })["Access-Control-Allow-Origin"]).toBe("http://127.0.0.1:8080");
  });
});

describe("httpHandler and CORS", () => {
  const handler = httpHandler(
    async () => {
      throw new NotFoundError("nothing here");
    },
    { cors: corsPolicy("https://a.example.com") },
  );

  it("answers a preflight without running the route, allowing the headers field clients send", async () => {
    const response = await handler(httpEvent({ httpMethod: "OPTIONS", headers: { origin: "https://a.example.com" } }));
    expect(response.statusCode).toBe(204);
    expect(response.headers).toMatchObject({ "Access-Control-Allow-Origin": "https://a.example.com", "Access-Control-Max-Age": "600" });
    const allowed = String(response.headers?.["Access-Control-Allow-Headers"]).split(",");
    expect(allowed).toEqual(expect.arrayContaining(["content-type", "gms_user", "x-api-key", "idempotency-key"]));
    expect(String(response.headers?.["Access-Control-Allow-Methods"])).toContain("POST");
  });

  it("puts the CORS headers on errors too", async () => {
    const response = await handler(httpEvent({ headers: { ORIGIN: "https://a.example.com" } }));
    expect(response.statusCode).toBe(404);
    expect(response.headers?.["Access-Control-Allow-Origin"]).toBe("https://a.example.com");
  });
});

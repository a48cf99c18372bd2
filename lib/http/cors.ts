import { header } from "./decode.ts";

/**
 * Browsers call the API cross-origin, and the `gms_user` header that web clients always send makes
 * every call preflighted. Allowed origins are `*` or an explicit list (CORS_ALLOWED_ORIGINS, comma
 * separated). Our functions answer the preflight and put the headers on every response, errors
 * included; API Gateway's own errors get theirs from the Gateway Responses in serverless.yml.
 */
export type CorsPolicy = { readonly anyOrigin: true } | { readonly anyOrigin: false; readonly origins: ReadonlySet<string> };

const ALLOWED_HEADERS = "authorization,content-type,gms_user,x-api-key,idempotency-key";
const ALLOWED_METHODS = "GET,POST,PUT,DELETE,OPTIONS";
/** Clients need Retry-After to back off politely after a 503, and WWW-Authenticate to tell a 401 from an expired sign-in. */
const EXPOSED_HEADERS = "Retry-After,WWW-Authenticate";
const PREFLIGHT_MAX_AGE_SECONDS = "600";

export function corsPolicy(setting: string | undefined): CorsPolicy {
  const origins = (setting ?? "*")
    .split(",")
    .map((origin) => origin.trim())
    .filter(Boolean);
  if (origins.length === 0 || origins.includes("*")) return { anyOrigin: true };
  for (const origin of origins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin))
      throw new Error("CORS_ALLOWED_ORIGINS must be * or a comma-separated list of origins like https://app.example.com");
  }
  return { anyOrigin: false, origins: new Set(origins) };
}

/**
 * Headers for every response: the caller's origin when allowed; otherwise another origin (the first
 * allowed), which the caller's browser refuses. An answer must always name one: serverless-offline
 * echoes any caller's origin, with credentials, on an answer that names none.
 */
export function corsHeaders(policy: CorsPolicy, request: Parameters<typeof header>[0]): Record<string, string> {
  if (policy.anyOrigin) return { "Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": EXPOSED_HEADERS };
  const origin = header(request, "origin");
  if (origin === undefined || !policy.origins.has(origin))
    return { "Access-Control-Allow-Origin": [...policy.origins][0] ?? "", Vary: "Origin" };
  return { "Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": EXPOSED_HEADERS, Vary: "Origin" };
}

/**
 * Headers for an answer that pages of the API's own origin alone may read, whatever CORS allows:
 * that origin, as the request names its host (API Gateway says the scheme; serverless-offline serves http).
 */
export function sameOriginHeaders(request: Parameters<typeof header>[0]): Record<string, string> {
  const scheme = header(request, "x-forwarded-proto") === "https" ? "https" : "http";
  return { "Access-Control-Allow-Origin": `${scheme}://${header(request, "host") ?? "localhost"}`, Vary: "Origin" };
}

/** The extra headers of a preflight answer. */
export function preflightHeaders(): Record<string, string> {
  return {
    "Access-Control-Allow-Methods": ALLOWED_METHODS,
    "Access-Control-Allow-Headers": ALLOWED_HEADERS,
    "Access-Control-Max-Age": PREFLIGHT_MAX_AGE_SECONDS,
  };
}

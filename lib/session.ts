import type { Fields } from "./http/decode.ts";

/** A created basic chat service instance (the GMS "service id"), stored until `expiresAt`. */
export interface Session {
  readonly id: string;
  readonly serviceName: string;
  readonly chatEndpoint: string;
  readonly data: Fields;
  readonly createdAt: string;
  readonly ttlSeconds: number;
  /** DynamoDB TTL attribute: epoch seconds. */
  readonly expiresAt: number;
  /** Fingerprint of the request that created it, kept when the client sent an Idempotency-Key. */
  readonly requestHash?: string;
}

/** The create-URL: server-relative, behind the public base path (see lib/http/base-path.ts). */
export function createUrl(id: string, basePath = ""): string {
  return `${basePath}/genesys/1/service/${id}/ixn/chat`;
}

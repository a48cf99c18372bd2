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
}

export function createUrl(id: string): string {
  return `/genesys/1/service/${id}/ixn/chat`;
}

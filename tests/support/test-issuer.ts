import type { KeyObject } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type IdentityConfig, identityConfigFromEnv } from "../../lib/identity/config.ts";

/** A stand-in for a user pool's issuer: the public half of a key served as a JWKS on loopback, and the configuration that trusts it. */
export interface TestIssuer {
  readonly config: IdentityConfig;
  readonly port: number;
  /** How many times the JWKS was fetched. */
  jwksRequests(): number;
  close(): Promise<void>;
}

/** Serves `publicKey` (as `kid`) at `/<pool>/.well-known/jwks.json`, as a local emulator does: plain http on loopback. */
export async function startTestIssuer(pool: string, clientId: string, publicKey: KeyObject, kid: string): Promise<TestIssuer> {
  const jwk = { ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" };
  let requests = 0;
  const server = createServer((request, response) => {
    if (request.url !== `/${pool}/.well-known/jwks.json`) {
      response.writeHead(404).end();
      return;
    }
    requests += 1;
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const config = identityConfigFromEnv({
    IDENTITY_ISSUER: `http://127.0.0.1:${port}/${pool}`,
    IDENTITY_JWKS_URI: `http://127.0.0.1:${port}/${pool}/.well-known/jwks.json`,
    IDENTITY_CLIENT_ID: clientId,
  }) as IdentityConfig;
  return {
    config,
    port,
    jwksRequests: () => requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

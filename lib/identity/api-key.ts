import { APIGatewayClient, GetApiKeyCommand } from "@aws-sdk/client-api-gateway";

/**
 * The admin API key's value, for the admin authorizer to compare a machine caller's `x-api-key`
 * with. The template never holds it: API Gateway generates it, and the authorizer reads it once
 * per instance by its id (ADMIN_API_KEY_ID, `apigateway:GET` on that key alone). `npm start` gives
 * the local value as ADMIN_API_KEY instead (scripts/deploy/plugin.ts, under serverless-offline only).
 * A failed read is retried on the next request rather than cached.
 */
export function apiKeyValue(env: Readonly<Record<string, string | undefined>>): () => Promise<string | undefined> {
  const local = env.ADMIN_API_KEY;
  if (local) return async () => local;
  const id = env.ADMIN_API_KEY_ID;
  if (!id) return async () => undefined;
  let value: Promise<string | undefined> | undefined;
  return () => {
    value ??= new APIGatewayClient({})
      .send(new GetApiKeyCommand({ apiKey: id, includeValue: true }))
      .then((key) => (key.enabled === false ? undefined : key.value))
      .catch((error: unknown) => {
        value = undefined;
        throw error;
      });
    return value;
  };
}

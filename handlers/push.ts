import { pushHandler } from "../lib/http/routes/push.ts";
import { tokenVerifierFromEnv } from "../lib/identity/tokens.ts";
import { pushService, sender } from "../lib/push-runtime.ts";
import { http } from "../lib/runtime.ts";

/**
 * The push function (the WebSocket API's routes): lib/http/routes/push.ts on the production wiring,
 * with the agents' token verifier, built once per instance like the authorizer's.
 */
const verifier = tokenVerifierFromEnv(process.env);
if (sender === undefined) throw new Error("PUSH_MANAGEMENT_URL must be set for the push function");

export const handler = pushHandler({ ...pushService, sender, verify: (token) => verifier.verify(token), scope: http.scope });

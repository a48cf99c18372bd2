import { publicBasePath } from "../http/base-path.ts";
import type { CorsPolicy } from "../http/cors.ts";
import { decodeFields, header } from "../http/decode.ts";
import { httpHandler } from "../http/respond.ts";
import { parseIdempotencyKey } from "../idempotency.ts";
import { requestChat, type RequestChatDeps } from "../request-chat.ts";

/** `POST /genesys/1/service/{service}`. */
export function requestChatHandler(deps: RequestChatDeps & { readonly cors: CorsPolicy }) {
  return httpHandler(async (event) => {
    const key = parseIdempotencyKey(header(event, "idempotency-key"));
    const fields = await decodeFields(event);
    const body = await requestChat(deps, {
      serviceName: event.pathParameters?.service ?? "",
      fields,
      idempotency: key === undefined ? undefined : { key, user: header(event, "gms_user") },
      basePath: publicBasePath(event),
    });
    return { status: 200, body };
  }, deps.cors);
}

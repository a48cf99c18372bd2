import type { APIGatewayProxyEvent } from "aws-lambda";
import { availabilityView, parseNotification } from "../availability.ts";
import type { CorsPolicy } from "../http/cors.ts";
import { decodeFields } from "../http/decode.ts";
import { dispatch, httpHandler, type RouteTable } from "../http/respond.ts";
import { isServiceName, parseServiceOptions, requireChatEndpoint, requireServiceName, serviceNotFound, serviceView } from "../services.ts";
import type { ConfigStore } from "../stores.ts";

export interface AdminDeps {
  readonly config: ConfigStore;
  readonly now: () => Date;
  readonly cors: CorsPolicy;
}

/**
 * The admin API under `/genesys/1/admin/`. Authentication happens before the function runs: API
 * Gateway (deployed) and serverless-offline (locally) require the `x-api-key` of the stage.
 */
export function adminHandler(deps: AdminDeps) {
  const routes: RouteTable = {
    "/genesys/1/admin/services": {
      GET: async () => ({ status: 200, body: { services: (await deps.config.listServices()).map(serviceView) } }),
    },
    "/genesys/1/admin/services/{name}": {
      GET: async (event) => {
        const service = await deps.config.getService(existingServiceName(event));
        if (service === undefined) throw serviceNotFound();
        return { status: 200, body: serviceView(service) };
      },
      PUT: async (event) => {
        const name = requireServiceName(serviceName(event));
        const options = parseServiceOptions(await decodeFields(event));
        const config = { name, ...options, updatedAt: deps.now().toISOString() };
        const created = await deps.config.putService(config);
        return { status: created ? 201 : 200, body: serviceView(config) };
      },
      DELETE: async (event) => {
        if (!(await deps.config.deleteService(existingServiceName(event)))) throw serviceNotFound();
        return { status: 204 };
      },
    },
    "/genesys/1/admin/availability/{endpoint}": {
      GET: async (event) => {
        const endpoint = chatEndpoint(event);
        const [notification, presence] = await Promise.all([deps.config.getNotification(endpoint), deps.config.listPresence(endpoint)]);
        return { status: 200, body: availabilityView(endpoint, notification, presence, deps.now()) };
      },
      PUT: async (event) => {
        const endpoint = chatEndpoint(event);
        const now = deps.now();
        const notification = parseNotification(endpoint, await decodeFields(event), now);
        const [, presence] = await Promise.all([deps.config.putNotification(notification), deps.config.listPresence(endpoint)]);
        return { status: 200, body: availabilityView(endpoint, notification, presence, now) };
      },
    },
  };

  return httpHandler(dispatch(routes), deps.cors);
}

function serviceName(event: APIGatewayProxyEvent): string {
  return event.pathParameters?.name ?? "";
}

/** A name no service can have (too long, odd characters) is a 404 without a storage call. */
function existingServiceName(event: APIGatewayProxyEvent): string {
  const name = serviceName(event);
  if (!isServiceName(name)) throw serviceNotFound();
  return name;
}

function chatEndpoint(event: APIGatewayProxyEvent): string {
  return requireChatEndpoint(event.pathParameters?.endpoint ?? "", "The chat endpoint");
}

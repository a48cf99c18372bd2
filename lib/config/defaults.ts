import type { ConfigStore } from "../storage.ts";
import { DEFAULT_OPTIONS, DEFAULT_SERVICE_NAME } from "./services.ts";

export interface SeedOptions {
  /** Also put an availability notification (no lapse) for the default service's endpoint. */
  readonly availability: boolean;
  readonly now: Date;
}

/**
 * Creates the `request-chat` service with default options, and optionally an availability
 * notification for its endpoint, without touching anything that already exists: a restart or a
 * redeploy never undoes an administrator's change. `npm start` and the deploy-time custom resource
 * (lib/cloudformation/seed-resource.ts) both call it.
 */
export async function seedDefaults(
  config: Pick<ConfigStore, "createServiceIfAbsent" | "createNotificationIfAbsent">,
  options: SeedOptions,
) {
  const updatedAt = options.now.toISOString();
  const service = await config.createServiceIfAbsent({ name: DEFAULT_SERVICE_NAME, ...DEFAULT_OPTIONS, updatedAt });
  const availability = options.availability
    ? await config.createNotificationIfAbsent({ endpoint: DEFAULT_OPTIONS.chatEndpoint, available: true, updatedAt })
    : false;
  return { serviceCreated: service, availabilityCreated: availability };
}

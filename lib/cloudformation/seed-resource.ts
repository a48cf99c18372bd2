import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { seedDefaults } from "../config/defaults.ts";
import type { StorageSequence } from "../sequence.ts";
import type { ConfigStore, MigrationOutcome } from "../storage.ts";

/** What seeding writes with: loaded inside the handler, so a wiring that fails to load is answered too. */
export interface SeedWiring {
  readonly config: Pick<ConfigStore, "createServiceIfAbsent" | "createNotificationIfAbsent">;
  readonly now: () => Date;
  /** Moves what older layouts hold to the current ones (lib/dynamo/migrations.ts). */
  readonly migrate: () => Promise<MigrationOutcome>;
}

export interface SeedDeps {
  readonly wiring: () => Promise<SeedWiring>;
  /** Sends the custom resource's outcome to CloudFormation's pre-signed response URL. */
  readonly reply: (url: string, body: string) => Promise<void>;
}

/** The longest sequence of storage calls one event makes: the default service, created if absent (a migration, on a layout change only, is bounded by the seed's own timeout). */
export const LONGEST_STORAGE_SEQUENCE: StorageSequence = ["config.createServiceIfAbsent"];

export const SEED_RESOURCE_ID = "gms-default-service";

/** CloudFormation refuses a response body over 4 KB; the reason is the only part that can grow. */
const MAX_REASON_LENGTH = 1000;

/**
 * CloudFormation custom resource that creates the `request-chat` service when a stage is first
 * deployed. Only `Create` seeds: an update or a stack deletion leaves administrators' data alone.
 * Deployed stages get no availability notification: the contact centre's notifier (or an admin)
 * opens the service. The deploy that changes the resource's `ConfigLayout` (an `Update`) moves the
 * older layout's services and notifications to the current one, keeping them as they are.
 *
 * Every event is answered, a wiring that cannot load (a malformed setting) included: an event
 * left unanswered holds the stack until the resource's ServiceTimeout. Only `Create` and a layout
 * change load the wiring, so a stage whose settings broke can still be updated and removed.
 */
export function seedHandler(deps: SeedDeps) {
  return async (event: CloudFormationCustomResourceEvent): Promise<void> => {
    let status: "SUCCESS" | "FAILED" = "SUCCESS";
    let reason = "";
    let data: Record<string, string> = {};
    let loaded = false;
    try {
      const layoutChanged =
        event.RequestType === "Update" && event.OldResourceProperties.ConfigLayout !== event.ResourceProperties.ConfigLayout;
      if (event.RequestType === "Create" || layoutChanged) {
        const wiring = await deps.wiring();
        loaded = true;
        const moved = await wiring.migrate();
        data = {
          servicesMoved: String(moved.services),
          notificationsMoved: String(moved.notifications),
          waitingChatsMoved: String(moved.waitingChats),
        };
        if (event.RequestType === "Create") {
          const outcome = await seedDefaults(wiring.config, { availability: false, now: wiring.now() });
          data = { ...data, serviceCreated: String(outcome.serviceCreated) };
        }
      }
    } catch (error) {
      status = "FAILED";
      // A setting's error names the setting and the form it must take, and holds no secret; a
      // storage error is named only.
      reason = loaded
        ? `Seeding the default service failed: ${error instanceof Error ? error.name : "unknown error"}`
        : `The seed function could not load its configuration: ${error instanceof Error ? error.message : String(error)}`.slice(
            0,
            MAX_REASON_LENGTH,
          );
    }
    console.log(
      JSON.stringify({ level: status === "SUCCESS" ? "info" : "error", route: "seed", requestType: event.RequestType, status, reason }),
    );
    await deps.reply(
      event.ResponseURL,
      JSON.stringify({
        Status: status,
        Reason: reason || "See the function's log",
        PhysicalResourceId: SEED_RESOURCE_ID,
        StackId: event.StackId,
        RequestId: event.RequestId,
        LogicalResourceId: event.LogicalResourceId,
        Data: data,
      }),
    );
  };
}

/** CloudFormation expects a PUT with an empty content type to the pre-signed S3 URL. */
export async function putToPresignedUrl(url: string, body: string): Promise<void> {
  const response = await fetch(url, { method: "PUT", body, headers: { "content-type": "" } });
  if (!response.ok) throw new Error(`CloudFormation response was refused with HTTP ${response.status}`);
}

import { putToPresignedUrl, seedHandler } from "../lib/cloudformation/seed-resource.ts";

/**
 * The seed function: the CloudFormation custom resource of lib/cloudformation/seed-resource.ts. The
 * production wiring is imported inside the handler, not at module load: lib/runtime.ts validates
 * the stage's settings as it loads, and a failure there must still be answered to CloudFormation.
 * esbuild bundles the import into this file and runs the module's body on the first call.
 */
export const handler = seedHandler({
  wiring: async () => {
    const { service, client, tables } = await import("../lib/runtime.ts");
    const { migrateLayouts } = await import("../lib/dynamo/migrations.ts");
    return { config: service.config, now: service.now, migrate: () => migrateLayouts(client, tables, service, service.now()) };
  },
  reply: putToPresignedUrl,
});

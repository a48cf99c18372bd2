import { putToPresignedUrl, seedHandler } from "../lib/cloudformation/seed-resource.ts";
import { now, stores } from "../lib/runtime.ts";

/** The seed function: the CloudFormation custom resource of lib/cloudformation/seed-resource.ts. */
export const handler = seedHandler({ config: stores.config, now, reply: putToPresignedUrl });

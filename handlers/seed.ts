import { putToPresignedUrl, seedHandler } from "../lib/routes/seed.ts";
import { configStore, now } from "../lib/runtime.ts";

export const handler = seedHandler({ config: configStore, now, reply: putToPresignedUrl });

import { adminHandler } from "../lib/routes/admin.ts";
import { configStore, cors, now } from "../lib/runtime.ts";

export const handler = adminHandler({ config: configStore, now, cors });

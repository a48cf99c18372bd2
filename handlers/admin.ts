import { adminHandler } from "../lib/http/routes/admin.ts";
import { http, service } from "../lib/runtime.ts";

/** The admin function: lib/http/routes/admin.ts on the production wiring. */
export const handler = adminHandler({ ...service, ...http });

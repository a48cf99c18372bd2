import { adminHandler } from "../lib/http/routes/admin.ts";
import { routingService } from "../lib/routing-runtime.ts";
import { http } from "../lib/runtime.ts";

/** The admin function: lib/http/routes/admin.ts on the production wiring, with routing's queue (profiles and endpoint settings set routing passes going). */
export const handler = adminHandler({ ...routingService, ...http });

import { cometHandler } from "../lib/http/routes/comet.ts";
import { http, service } from "../lib/runtime.ts";

/** The comet function (CometD long-polling for GMS async clients): lib/http/routes/comet.ts on the production wiring. */
export const handler = cometHandler({ ...service, ...http });

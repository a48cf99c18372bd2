import { pushService } from "../lib/push-runtime.ts";
import { http } from "../lib/runtime.ts";
import { routerHandler } from "../lib/work/router.ts";

/**
 * The router function: lib/work/router.ts on the production wiring, fed by routing's SQS queue. It
 * places offers, so it posts the agents' `/gms/offer` frames: the push wiring.
 */
export const handler = routerHandler({ runTask: pushService.runTask, scope: http.scope });

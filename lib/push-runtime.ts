import { allListeners } from "./chat/listeners.ts";
import { cometListener } from "./comet/listener.ts";
import { DynamoPushStore } from "./dynamo/push-store.ts";
import { pushListener } from "./push/push.ts";
import { client, now, stores, tables } from "./runtime.ts";
import { senderFromEnv } from "./websocket/management-api.ts";

/**
 * The push channels' part of the composition root (docs/push.md), for the functions that write
 * chat events or serve the WebSocket API only, so that the others' bundles (request-chat, admin,
 * seed) hold no Management API client: who listens to what (on the shared DynamoDB client), the
 * Management API that frames are posted to (none where PUSH_MANAGEMENT_URL is unset), and the
 * listeners that hear every event as it is written (ChatListeners in lib/storage.ts): WebSocket
 * connections and CometD clients.
 */
export const push = { push: new DynamoPushStore(client, tables.sessions), sender: senderFromEnv(process.env) };

export const listeners = allListeners(
  // CometD clients (lib/comet/): the chat's mailbox raised, for chats created with notify_by=comet.
  cometListener(stores.comet),
  ...(push.sender === undefined ? [] : [pushListener({ push: push.push, sender: push.sender, now })]),
);

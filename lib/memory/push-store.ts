import type { PushStore, PushSubscription, PushTopic } from "../storage.ts";
import type { MemorySessionStore } from "./session-store.ts";

const topicKey = (topic: PushTopic): string =>
  topic.kind === "chat" ? `chat#${topic.chatId}` : topic.kind === "agent" ? `agent#${topic.agentId}` : `queue#${topic.endpoint}`;

/**
 * Who listens to what, in memory, with the DynamoDB adapter's semantics (tests/contract/): a chat's
 * listeners kept with the chat, in the memory session store, the other topics here.
 */
export class MemoryPushStore implements PushStore {
  /** Topic, then connection: its expiry and when it subscribed. */
  private readonly listeners = new Map<string, Map<string, { expiresAt: number; since: number }>>();
  /** Connection: its topics and expiry. */
  private readonly connections = new Map<string, { topics: Map<string, PushTopic>; expiresAt: number }>();

  constructor(private readonly chats: MemorySessionStore) {}

  async subscribe(
    connectionId: string,
    topics: readonly PushTopic[],
    expiresAt: number,
    limits: { readonly topics: number; readonly chatListeners: number },
    since = 0,
  ): Promise<boolean> {
    const keyed = new Map(topics.map((topic) => [topicKey(topic), topic]));
    const connection = this.connections.get(connectionId);
    const held = connection?.topics ?? new Map<string, PushTopic>();
    // Room for every topic, or none new: a renewal (the same topics) always fits.
    const fits = held.size <= limits.topics - keyed.size || [...keyed.keys()].every((key) => held.has(key));
    if (!fits) return false;
    for (const [key, topic] of keyed) held.set(key, topic);
    this.connections.set(connectionId, { topics: held, expiresAt });
    let listened = true;
    for (const [key, topic] of keyed) {
      if (topic.kind === "chat") {
        listened = this.chats.listen(topic.chatId, connectionId, limits.chatListeners) && listened;
        continue;
      }
      const listening = this.listeners.get(key) ?? new Map<string, { expiresAt: number; since: number }>();
      listening.set(connectionId, { expiresAt, since });
      this.listeners.set(key, listening);
    }
    return listened;
  }

  async listening(topic: PushTopic, limit: number): Promise<PushSubscription[]> {
    if (topic.kind === "chat") {
      const { listeners, expiresAt } = this.chats.listenersOf(topic.chatId);
      return [...listeners]
        .sort()
        .slice(0, limit)
        .map((connectionId) => ({ connectionId, expiresAt, since: 0 }));
    }
    return [...(this.listeners.get(topicKey(topic)) ?? new Map<string, { expiresAt: number; since: number }>())]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .slice(0, limit)
      .map(([connectionId, { expiresAt, since }]) => ({ connectionId, expiresAt, since }));
  }

  async unsubscribe(topic: PushTopic, connectionId: string): Promise<void> {
    if (topic.kind === "chat") this.chats.unlisten(topic.chatId, connectionId);
    else this.listeners.get(topicKey(topic))?.delete(connectionId);
    this.connections.get(connectionId)?.topics.delete(topicKey(topic));
  }

  async forget(connectionId: string): Promise<void> {
    for (const topic of [...(this.connections.get(connectionId)?.topics.values() ?? [])]) await this.unsubscribe(topic, connectionId);
    this.connections.delete(connectionId);
  }
}

import type { PushStore, PushSubscription, PushTopic } from "../storage.ts";

const topicKey = (topic: PushTopic): string =>
  topic.kind === "chat" ? `chat#${topic.sessionId}` : topic.kind === "agent" ? `agent#${topic.agentId}` : `queue#${topic.endpoint}`;

/** Who listens to what, in memory, with the DynamoDB adapter's semantics (tests/contract/). */
export class MemoryPushStore implements PushStore {
  /** Topic, then connection: its expiry. */
  private readonly listeners = new Map<string, Map<string, number>>();
  /** Connection: its topics and expiry. */
  private readonly connections = new Map<string, { topics: Set<string>; expiresAt: number }>();

  async subscribe(connectionId: string, topics: readonly PushTopic[], expiresAt: number, maxTopics: number): Promise<boolean> {
    const keys = [...new Set(topics.map(topicKey))];
    const connection = this.connections.get(connectionId);
    const held = connection?.topics ?? new Set<string>();
    // Room for every topic, or none new: a renewal (the same topics) always fits.
    const fits = held.size <= maxTopics - keys.length || keys.every((key) => held.has(key));
    if (!fits) return false;
    for (const key of keys) held.add(key);
    this.connections.set(connectionId, { topics: held, expiresAt });
    for (const key of keys) {
      const listening = this.listeners.get(key) ?? new Map<string, number>();
      listening.set(connectionId, expiresAt);
      this.listeners.set(key, listening);
    }
    return true;
  }

  async listening(topic: PushTopic, limit: number): Promise<PushSubscription[]> {
    return [...(this.listeners.get(topicKey(topic)) ?? new Map<string, number>())]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .slice(0, limit)
      .map(([connectionId, expiresAt]) => ({ connectionId, expiresAt }));
  }

  async unsubscribe(topic: PushTopic, connectionId: string): Promise<void> {
    this.listeners.get(topicKey(topic))?.delete(connectionId);
  }

  async forget(connectionId: string): Promise<void> {
    for (const key of this.connections.get(connectionId)?.topics ?? []) this.listeners.get(key)?.delete(connectionId);
    this.connections.delete(connectionId);
  }
}

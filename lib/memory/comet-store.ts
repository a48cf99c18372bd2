import type { ChatState, CometClient, CometMailbox, CometRenewal, CometStore } from "../storage.ts";

/** CometD clients and their users' mailboxes, in memory, with the DynamoDB adapter's semantics (tests/contract/). */
export class MemoryCometStore implements CometStore {
  /** User, then `<startedAt>#<session id>`: the mailbox. */
  private readonly boxes = new Map<string, Map<string, CometMailbox>>();
  private readonly held = new Map<string, CometClient>();

  async bump(user: string, chat: Pick<ChatState, "sessionId" | "startedAt" | "expiresAt">, position: number): Promise<void> {
    const boxes = this.boxes.get(user) ?? new Map<string, CometMailbox>();
    this.boxes.set(user, boxes);
    const key = `${chat.startedAt}#${chat.sessionId}`;
    const box = boxes.get(key);
    // Never lowered: a late bump leaves what a later event raised.
    if (box === undefined || box.position < position) boxes.set(key, { sessionId: chat.sessionId, position, expiresAt: chat.expiresAt });
  }

  async dropMailbox(user: string, chat: Pick<ChatState, "sessionId" | "startedAt">): Promise<void> {
    this.boxes.get(user)?.delete(`${chat.startedAt}#${chat.sessionId}`);
  }

  async mailboxes(user: string, limit: number): Promise<CometMailbox[]> {
    return [...(this.boxes.get(user) ?? new Map<string, CometMailbox>())]
      .sort(([a], [b]) => (a < b ? 1 : -1))
      .slice(0, limit)
      .map(([, box]) => ({ ...box }));
  }

  async putClient(client: CometClient): Promise<void> {
    this.held.set(clientKey(client.user, client.clientId), structuredClone(client));
  }

  async getClient(user: string, clientId: string): Promise<CometClient | undefined> {
    const client = this.held.get(clientKey(user, clientId));
    return client && structuredClone(client);
  }

  async subscribe(user: string, clientId: string, subscribed: boolean, until: CometRenewal): Promise<boolean> {
    return this.update(user, clientId, until, false, (client) => ({ ...client, subscribed }));
  }

  async record(
    user: string,
    clientId: string,
    update: CometRenewal & { readonly delivered: Readonly<Record<string, number>>; readonly requireSubscribed: boolean },
  ): Promise<boolean> {
    return this.update(user, clientId, update, update.requireSubscribed, (client) => ({ ...client, delivered: { ...update.delivered } }));
  }

  async deleteClient(user: string, clientId: string): Promise<void> {
    this.held.delete(clientKey(user, clientId));
  }

  async clients(user: string, limit: number): Promise<Pick<CometClient, "clientId" | "since" | "expiresAt">[]> {
    return [...this.held.values()]
      .filter((client) => client.user === user)
      .sort((a, b) => (a.clientId < b.clientId ? -1 : 1))
      .slice(0, limit)
      .map(({ clientId, since, expiresAt }) => ({ clientId, since, expiresAt }));
  }

  /** Changes a client that is live at `until.now` (and subscribed, if required), moving its expiry to `until.expiresAt`. */
  private async update(
    user: string,
    clientId: string,
    until: CometRenewal,
    requireSubscribed: boolean,
    change: (client: CometClient) => CometClient,
  ): Promise<boolean> {
    const key = clientKey(user, clientId);
    const client = this.held.get(key);
    if (client === undefined || !(client.expiresAt > until.now) || (requireSubscribed && !client.subscribed)) return false;
    this.held.set(key, { ...change(client), expiresAt: until.expiresAt });
    return true;
  }
}

const clientKey = (user: string, clientId: string) => `${user}\u0000${clientId}`;

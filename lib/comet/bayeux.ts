import { randomBytes, randomUUID } from "node:crypto";
import { onSession } from "../chat/locate.ts";
import { cometUserDigest } from "../chat/notify.ts";
import { liveTranscript } from "../chat/transcript.ts";
import { type GenesysPush, genesysPush, interactionView } from "../chat/view.ts";
import { UnknownSessionError } from "../errors.ts";
import { keepNewest } from "../newest.ts";
import type { ChatDeps, CometClient, CometMailbox, CometStore } from "../storage.ts";
import { epochSeconds } from "../time.ts";
import { type BayeuxMessage, GENESYS_CHANNEL, LONG_POLLING } from "./messages.ts";

/**
 * A Bayeux server for GMS async clients, long-polling only, with every state in storage (Lambda
 * instances are not sticky: a client's next request may reach any of them).
 *
 * - `/meta/handshake` stores a client under its user (the digest of its `gms_user`), with where it
 *   starts the user's chats: `ext.transcriptPosition`, else 0.
 * - `/meta/subscribe` to `/_genesys` (and no other channel) marks it subscribed; `/meta/unsubscribe`
 *   unmarks it; `/meta/disconnect` forgets it.
 * - `/meta/connect` is held until one of the user's chats has events the client was not sent (the
 *   chat listener, listener.ts, raises a per-chat mailbox as each is written) or the hold ends. It
 *   polls the user's mailboxes (one small read) every `pollMs`; when one is ahead of what the client
 *   was sent, it reads that chat from the client's position, as refresh would, and answers with one
 *   `/_genesys` push per chat, after recording what it sent.
 *
 * Every message after the handshake must come with the same `gms_user`: the client is looked up
 * under it, so another user's clientId is unknown (`402::unknown client`, advice: handshake).
 */

/** How a connect is held: at most `holdMs` (the `advice.timeout` clients get), polling every `pollMs`. */
export interface HoldTiming {
  readonly holdMs: number;
  readonly pollMs: number;
}

/**
 * 15 s: well inside API Gateway's 29 s with the calls that may follow the hold's end (a poll, the
 * chats' reads, the record), each exhausting its retries (lib/http/routes/comet.ts; the package test
 * checks it against the function's timeout). Polling each second delivers an event about half a
 * second after it is written, on average.
 */
export const HOLD_TIMING: HoldTiming = { holdMs: 15_000, pollMs: 1_000 };
/** A client not heard from for this long is gone (TTL removes it); each connect keeps it longer. */
export const CLIENT_LIFETIME_SECONDS = 600;
/** How many of the user's chats a connect looks at: the most recently started ones. */
const MAX_CHATS = 50;
/** How many chats one connect reads and pushes at most, side by side; the rest come with the next. */
const MAX_PUSHES = 10;

export interface CometDeps extends Pick<ChatDeps, "sessions" | "now" | "listeners"> {
  readonly comet: CometStore;
  readonly timing?: HoldTiming;
  /** Waits between two polls of a held connect (tests pass one that moves their clock instead). */
  readonly wait?: (ms: number) => Promise<void>;
}

/** What a request carries: its messages, and its `gms_user` header if it named someone. */
export interface BayeuxRequest {
  readonly gmsUser: string | undefined;
  readonly messages: readonly BayeuxMessage[];
}

export type Reply = Readonly<Record<string, unknown>>;

/**
 * CometD clients one `gms_user` may have at once (an app's instances: tabs, devices); a further
 * handshake lets go of the oldest, whose next message then answers `402::unknown client`.
 */
export const MAX_CLIENTS_PER_USER = 10;
/** A user's clients read at once to keep the newest: far more than ever race. */
const CLIENTS_READ = 100;

const ADVICE_UNKNOWN_CLIENT = { reconnect: "handshake", interval: 0 } as const;
const ADVICE_NONE = { reconnect: "none", interval: 0 } as const;

const defaultWait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Answers a request's messages: the others first, in order, then its connect (at most one is held),
 * after whose pushes its reply comes last. At most one handshake and one connect a request.
 */
export async function handleBayeux(deps: CometDeps, request: BayeuxRequest): Promise<Reply[]> {
  // The hold counts from the request's start, so that what came before it is part of it.
  const started = deps.now().getTime();
  const user = request.gmsUser === undefined ? undefined : cometUserDigest(request.gmsUser);
  const clients = new ClientCache(deps.comet, user);
  const replies: Reply[] = [];
  const connects = request.messages.filter((message) => message.channel === "/meta/connect");
  let handshakes = 0;
  for (const message of request.messages) {
    if (message.channel === "/meta/connect") continue;
    // Each handshake stores a client: one a request, so that a request stores one at most (a client
    // sends its handshake alone, and waits for its answer before anything else).
    if (message.channel === "/meta/handshake" && ++handshakes > 1) {
      replies.push(failure(message, "400::one /meta/handshake per request"));
      continue;
    }
    replies.push(await answer(deps, clients, message));
  }
  for (const [index, message] of connects.entries()) {
    if (index > 0) replies.push(failure(message, "400::one /meta/connect per request"));
    else replies.push(...(await connect(deps, clients, message, started)));
  }
  return replies;
}

/** The request's clients, each read once, under the request's user. */
class ClientCache {
  private readonly clients = new Map<string, CometClient | undefined>();

  constructor(
    readonly store: CometStore,
    readonly user: string | undefined,
  ) {}

  async live(clientId: string | undefined, now: Date): Promise<CometClient | undefined> {
    if (this.user === undefined || clientId === undefined) return undefined;
    if (!this.clients.has(clientId)) this.clients.set(clientId, await this.store.getClient(this.user, clientId));
    const client = this.clients.get(clientId);
    return client !== undefined && client.expiresAt > epochSeconds(now) ? client : undefined;
  }

  set(client: CometClient | undefined, clientId: string): void {
    this.clients.set(clientId, client);
  }
}

function base(message: BayeuxMessage): Record<string, unknown> {
  return { channel: message.channel, ...(message.id === undefined ? {} : { id: message.id }) };
}

function failure(message: BayeuxMessage, error: string, advice?: object): Reply {
  return {
    ...base(message),
    ...(message.clientId === undefined ? {} : { clientId: message.clientId }),
    successful: false,
    error,
    ...(advice === undefined ? {} : { advice }),
  };
}

function unknownClient(message: BayeuxMessage): Reply {
  return failure(message, "402::unknown client", ADVICE_UNKNOWN_CLIENT);
}

function timingOf(deps: CometDeps): HoldTiming {
  return deps.timing ?? HOLD_TIMING;
}

async function answer(deps: CometDeps, clients: ClientCache, message: BayeuxMessage): Promise<Reply> {
  switch (message.channel) {
    case "/meta/handshake":
      return handshake(deps, clients, message);
    case "/meta/subscribe":
    case "/meta/unsubscribe":
      return subscribe(deps, clients, message);
    case "/meta/disconnect":
      return disconnect(deps, clients, message);
    default:
      // Clients publish nothing here: pushes come from the server, and there are no service channels.
      return failure(message, message.channel.startsWith("/meta/") ? "400::unknown meta channel" : "403::publishing is not supported");
  }
}

async function handshake(deps: CometDeps, clients: ClientCache, message: BayeuxMessage): Promise<Reply> {
  if (clients.user === undefined) return failure(message, "403::send the gms_user header of the app's chats", ADVICE_NONE);
  if (!message.supportedConnectionTypes?.includes(LONG_POLLING)) {
    return {
      ...failure(message, `301::${LONG_POLLING}:unsupported connection types`, ADVICE_NONE),
      supportedConnectionTypes: [LONG_POLLING],
    };
  }
  const now = epochSeconds(deps.now());
  const client: CometClient = {
    user: clients.user,
    clientId: randomBytes(16).toString("hex"),
    subscribed: false,
    start: message.transcriptPosition ?? 0,
    delivered: {},
    expiresAt: now + CLIENT_LIFETIME_SECONDS,
    since: deps.now().getTime(),
  };
  await deps.comet.putClient(client);
  // At most MAX_CLIENTS_PER_USER of a user's clients live; race-safe without a lock: each handshake
  // stores its client, then reads the user's and lets go of all but the newest (the last to read sees them all).
  const read = (await deps.comet.clients(clients.user, CLIENTS_READ)).map((other) => ({ ...other, id: other.clientId }));
  const { letGo, lapsed, keeps } = keepNewest(read, MAX_CLIENTS_PER_USER, now, client.clientId);
  await Promise.all([...letGo, ...lapsed].map((clientId) => deps.comet.deleteClient(clients.user as string, clientId)));
  if (!keeps) {
    return failure(message, "409::newer clients of this gms_user took over", ADVICE_NONE);
  }
  clients.set(client, client.clientId);
  return {
    ...base(message),
    version: "1.0",
    supportedConnectionTypes: [LONG_POLLING],
    clientId: client.clientId,
    successful: true,
    advice: { reconnect: "retry", interval: 0, timeout: timingOf(deps).holdMs },
  };
}

async function subscribe(deps: CometDeps, clients: ClientCache, message: BayeuxMessage): Promise<Reply> {
  const subscribing = message.channel === "/meta/subscribe";
  const channels = [message.subscription ?? []].flat();
  const echo = { subscription: message.subscription };
  if (channels.length === 0) return failure(message, "400::no subscription");
  const client = await clients.live(message.clientId, deps.now());
  if (client === undefined || clients.user === undefined) return unknownClient(message);
  if (channels.some((channel) => channel !== GENESYS_CHANNEL)) return { ...failure(message, "403::forbidden channel"), ...echo };
  const now = epochSeconds(deps.now());
  if (!(await deps.comet.subscribe(clients.user, client.clientId, subscribing, { now, expiresAt: now + CLIENT_LIFETIME_SECONDS }))) {
    clients.set(undefined, client.clientId);
    return unknownClient(message);
  }
  return { ...base(message), clientId: client.clientId, successful: true, ...echo };
}

/** Forgets the client. Its `ext.transcriptPosition` (the app going to the background) is acknowledged: a later handshake sends it again to resume. */
async function disconnect(deps: CometDeps, clients: ClientCache, message: BayeuxMessage): Promise<Reply> {
  const client = await clients.live(message.clientId, deps.now());
  if (client === undefined || clients.user === undefined) return unknownClient(message);
  await deps.comet.deleteClient(clients.user, client.clientId);
  clients.set(undefined, client.clientId);
  return { ...base(message), clientId: client.clientId, successful: true };
}

/** Where the client is in a chat: what it was sent, else where it started. */
function sentOf(client: CometClient, sessionId: string): number {
  return client.delivered[sessionId] ?? client.start;
}

async function connect(deps: CometDeps, clients: ClientCache, message: BayeuxMessage, started: number): Promise<Reply[]> {
  if (message.connectionType !== LONG_POLLING) return [failure(message, `301::${LONG_POLLING}:unsupported connection type`, ADVICE_NONE)];
  let client = await clients.live(message.clientId, deps.now());
  const { user } = clients;
  if (client === undefined || user === undefined) return [unknownClient(message)];
  const timing = timingOf(deps);
  const wait = deps.wait ?? defaultWait;
  const until = started + Math.min(message.timeoutMs ?? timing.holdMs, timing.holdMs);
  const connected = {
    ...base(message),
    clientId: client.clientId,
    successful: true,
    advice: { reconnect: "retry", interval: 0, timeout: timing.holdMs },
  };
  // Positions pushes were refused at in this connect (the client was not subscribed): read again only past them.
  const refused = new Map<string, number>();
  for (;;) {
    const now = deps.now();
    const mailboxes = (await deps.comet.mailboxes(user, MAX_CHATS)).filter((mailbox) => mailbox.expiresAt > epochSeconds(now));
    const current = client;
    const ahead = mailboxes
      .filter((mailbox) => mailbox.position > Math.max(sentOf(current, mailbox.sessionId), refused.get(mailbox.sessionId) ?? 0))
      .slice(0, MAX_PUSHES);
    if (ahead.length > 0) {
      const outcome = await push(deps, current, mailboxes, ahead);
      if (outcome === "refused") for (const mailbox of ahead) refused.set(mailbox.sessionId, mailbox.position);
      else if (outcome !== "nothing") {
        client = outcome.client;
        clients.set(client, client.clientId);
        if (outcome.pushes.length > 0) return [...outcome.pushes, connected];
      }
    }
    // The last wait is cut to the hold's end, which gets one more poll.
    const left = until - deps.now().getTime();
    if (left <= 0) break;
    await wait(Math.min(timing.pollMs, left));
  }
  // Nothing to push: keep the client for another lifetime once half of it has passed.
  const now = epochSeconds(deps.now());
  if (client.expiresAt - now < CLIENT_LIFETIME_SECONDS / 2) {
    const renewal = { now, expiresAt: now + CLIENT_LIFETIME_SECONDS, delivered: client.delivered, requireSubscribed: false };
    if (!(await deps.comet.record(user, client.clientId, renewal))) return [unknownClient(message)];
  }
  return [connected];
}

/**
 * About what one connect answers at most: a chat's page is up to 128 KB of text, which JSON can
 * double, so several chats far behind would make an answer of megabytes. The chats past the budget
 * (never the first) are pushed by the next connect, from where the client was.
 */
const ANSWER_BUDGET_BYTES = 256 * 1024;

function withinAnswerBudget<T extends { readonly push?: GenesysPush }>(moved: readonly T[]): T[] {
  const kept: T[] = [];
  let bytes = 0;
  for (const chat of moved) {
    const size = chat.push === undefined ? 0 : Buffer.byteLength(JSON.stringify(chat.push));
    if (kept.length > 0 && bytes + size > ANSWER_BUDGET_BYTES) continue;
    bytes += size;
    kept.push(chat);
  }
  return kept;
}

/**
 * Reads the chats that are ahead from the client's position, side by side, and records what they
 * show before pushing it. Resolves "nothing" when none showed anything new (a position claimed and
 * not yet written stops a page), "refused" when the client is no longer subscribed or gone.
 */
async function push(
  deps: CometDeps,
  client: CometClient,
  mailboxes: readonly CometMailbox[],
  ahead: readonly CometMailbox[],
): Promise<{ client: CometClient; pushes: GenesysPush[] } | "nothing" | "refused"> {
  const read = await Promise.all(
    ahead.map(async (mailbox) => {
      const since = sentOf(client, mailbox.sessionId);
      try {
        const { chat, page } = await onSession(deps, mailbox.sessionId, (chatId) => liveTranscript(deps, chatId, since));
        // A mailbox is raised only after an event is written, so its chat exists; should it not, nothing is pushed of it.
        if (chat === undefined) return { mailbox, reached: mailbox.position };
        if (page.reached <= since) return { mailbox, reached: since };
        // Exactly what refresh answers from the client's position.
        const message = interactionView(chat, page, { verbose: false, basePath: "" });
        return { mailbox, reached: page.reached, push: genesysPush(mailbox.sessionId, randomUUID(), message) };
      } catch (error) {
        // Ended, cancelled or expired since: nothing more to push of it.
        if (error instanceof UnknownSessionError) return { mailbox, reached: mailbox.position };
        throw error;
      }
    }),
  );
  const moved = withinAnswerBudget(read.filter(({ mailbox, reached }) => reached > sentOf(client, mailbox.sessionId)));
  if (moved.length === 0) return "nothing";
  // Only the chats the client can still be pushed: the map stays as small as the mailboxes read.
  const delivered: Record<string, number> = {};
  for (const mailbox of mailboxes) {
    const sent = client.delivered[mailbox.sessionId];
    if (sent !== undefined) delivered[mailbox.sessionId] = sent;
  }
  for (const { mailbox, reached } of moved) delivered[mailbox.sessionId] = reached;
  const now = epochSeconds(deps.now());
  const expiresAt = now + CLIENT_LIFETIME_SECONDS;
  if (!(await deps.comet.record(client.user, client.clientId, { now, expiresAt, delivered, requireSubscribed: true }))) return "refused";
  return {
    client: { ...client, delivered, expiresAt },
    pushes: moved.flatMap(({ push }) => (push === undefined ? [] : [push])),
  };
}

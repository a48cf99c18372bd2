/**
 * The pages' push channel (docs/push.md): one WebSocket to the stage's push address, subscribed with
 * what the page asks for (the customer's chat; the agent's chats and queue), kept alive with a ping
 * every 5 minutes and renewed before API Gateway's 2-hour limit (the new connection subscribes, then
 * the old one closes). The page applies the frames; `onLive` tells it when to stop polling (the
 * subscription is in force) and when to poll again (the socket closed, could not be opened, or its
 * subscription was refused). While it is down the page says "Reconnecting...", and the socket is
 * tried again after 1 s, doubling up to 30 s, until it works; then the notice goes and polling stops.
 * A connection that drops within a minute of subscribing counts as a failure, so one that keeps
 * dropping backs off too.
 */
export interface PushFrame {
  readonly channel: string;
  /** As the service sent it: the reader checks every field it uses. */
  readonly data: Readonly<Record<string, unknown>>;
}

interface PushOptions {
  /** The push address (from the page's settings); undefined where the API names none: the page then polls. */
  readonly url: () => Promise<string | undefined>;
  /** The subscribe message, made afresh for each subscription (the position reached, the current token). */
  readonly subscription: () => Readonly<Record<string, unknown>>;
  readonly onFrame: (frame: PushFrame) => void;
  /** Called when the channel comes up (subscribed) or goes down, and only then. */
  readonly onLive: (live: boolean) => void;
  /** Where "Reconnecting..." shows (a status region, empty while all is well). */
  readonly notice: HTMLElement;
}

const PING_MS = 5 * 60 * 1000;
/** API Gateway closes a connection after 2 hours: a new one takes over well before. */
const RENEW_MS = 110 * 60 * 1000;
/** A renewal that failed is tried again this much later, while the connection in use carries on. */
const RENEW_RETRY_MS = 60 * 1000;
/** A connection that is not subscribed this long after it was opened is given up. */
const SUBSCRIBE_TIMEOUT_MS = 10 * 1000;
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30 * 1000;
/** A connection that lasted this long was not "dropping": the next failure starts the backoff over. */
const STABLE_MS = 60 * 1000;
const RECONNECTING = "Reconnecting...";

export class PushChannel {
  /** The subscribed connection. */
  private current: WebSocket | undefined;
  /** A connection being opened (the first, a retry or a renewal), until its subscription is in force. */
  private opening: WebSocket | undefined;
  private live = false;
  private liveSince = 0;
  private failures = 0;
  /** Bumped by `stop`: what an earlier run started has nothing more to do. */
  private run = 0;
  private running = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private renewTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly options: PushOptions) {}

  /** Opens the channel, unless it is open (or opening) already. */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.open();
  }

  /** Closes the channel for good (until `start`): the page polls again. */
  stop(): void {
    this.running = false;
    this.run += 1;
    clearTimeout(this.retryTimer);
    clearTimeout(this.renewTimer);
    clearInterval(this.pingTimer);
    const sockets = [this.current, this.opening];
    this.current = undefined;
    this.opening = undefined;
    for (const socket of sockets) socket?.close();
    this.options.notice.textContent = "";
    this.setLive(false);
  }

  /**
   * Sends the subscription again (a refreshed token, a chat accepted, other endpoints) on the
   * connection in use and on one being opened: a connection that sent its subscription before the
   * change would otherwise come up subscribed to what the page no longer wants.
   */
  resubscribe(): void {
    for (const socket of [this.current, this.opening]) if (socket !== undefined) send(socket, this.options.subscription());
  }

  private async open(): Promise<void> {
    const run = this.run;
    let url: string | undefined;
    try {
      url = await this.options.url();
    } catch {
      if (run === this.run) this.failed();
      return;
    }
    if (run !== this.run || url === undefined) return;
    let socket: WebSocket;
    try {
      socket = new WebSocket(url);
    } catch {
      this.failed();
      return;
    }
    this.opening = socket;
    const giveUp = setTimeout(() => socket.close(), SUBSCRIBE_TIMEOUT_MS);
    socket.addEventListener("open", () => send(socket, this.options.subscription()));
    socket.addEventListener("close", () => {
      clearTimeout(giveUp);
      this.closed(socket);
    });
    socket.addEventListener("message", (event) => {
      const frame = parse(event.data);
      if (frame === undefined || (socket !== this.current && socket !== this.opening)) return;
      if (frame.channel === "/gms/subscribed") {
        clearTimeout(giveUp);
        // A first subscription brings the channel up; a resubscription on it is the page's to hear
        // (what changed before it was in force was not pushed).
        if (socket === this.opening) this.subscribed(socket);
        else this.options.onFrame(frame);
      } else if (frame.channel === "/gms/error") {
        // A subscription refused (a token that lapsed, a chat gone): closed, and tried again.
        socket.close();
      } else if (frame.channel !== "/gms/pong") {
        this.options.onFrame(frame);
      }
    });
  }

  private subscribed(socket: WebSocket): void {
    this.opening = undefined;
    const previous = this.current;
    this.current = socket;
    // A renewal: the old connection goes once the new one hears.
    previous?.close();
    this.liveSince = Date.now();
    clearTimeout(this.renewTimer);
    this.renewTimer = setTimeout(() => void this.open(), RENEW_MS);
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (this.current !== undefined) send(this.current, { action: "ping" });
    }, PING_MS);
    this.options.notice.textContent = "";
    this.setLive(true);
  }

  private closed(socket: WebSocket): void {
    if (socket === this.opening) {
      this.opening = undefined;
      // A renewal that failed: the connection in use carries on.
      if (this.current !== undefined) this.renewTimer = setTimeout(() => void this.open(), RENEW_RETRY_MS);
      else this.failed();
      return;
    }
    // Otherwise one this channel closed itself (a renewal's predecessor, or `stop`).
    if (socket !== this.current) return;
    this.current = undefined;
    clearInterval(this.pingTimer);
    clearTimeout(this.renewTimer);
    if (Date.now() - this.liveSince >= STABLE_MS) this.failures = 0;
    this.failed();
  }

  private failed(): void {
    if (!this.running) return;
    this.failures += 1;
    this.options.notice.textContent = RECONNECTING;
    this.setLive(false);
    // A renewal under way takes over as the retry.
    if (this.opening !== undefined) return;
    const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (this.failures - 1));
    // Somewhat less at random, so that pages cut off together do not all come back at once.
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.open(), delay * (0.5 + Math.random() / 2));
  }

  private setLive(live: boolean): void {
    if (live === this.live) return;
    this.live = live;
    this.options.onLive(live);
  }
}

function send(socket: WebSocket, message: Readonly<Record<string, unknown>>): void {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

/** A frame as docs/push.md describes it, or undefined for anything else. */
function parse(data: unknown): PushFrame | undefined {
  if (typeof data !== "string") return undefined;
  try {
    const frame: unknown = JSON.parse(data);
    if (typeof frame !== "object" || frame === null) return undefined;
    const { channel, data: body } = frame as { channel?: unknown; data?: unknown };
    if (typeof channel !== "string" || typeof body !== "object" || body === null) return undefined;
    return { channel, data: body as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

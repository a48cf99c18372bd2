import "../shared/base.css";
import type { ChatIxnState, InteractionView, QueueItem, QueueView } from "../../lib/chat/view.ts";
import { Api, ApiError, apiBase, byId, failed, isAborted, isolated, store, stored } from "../shared/api.ts";
import { ChatPanel, chatPanelElements } from "../shared/conversation.ts";
import { PushChannel, type PushFrame } from "../shared/push.ts";
import { Identity, type IdentityConfig, SignInError, type Tokens } from "./identity.ts";

/**
 * The agent console, on the agent API: sign-in with a user name and password (the identity
 * provider `/agent/config.json` names), presence (renewed while the page is open, since it lapses
 * 60 s after the last renewal), the endpoint's queue, accept (losing gracefully to a faster agent),
 * the conversation, disconnect, and the next chat. While the agent is ready, the queue's changes and
 * the chat's events come over the push channel (docs/push.md), and are polled only while it is down.
 * The agent's tokens stay in this tab's session storage (or, where the browser refuses storage, in
 * the page's memory), and go to the API as `Authorization: Bearer <access token>` and to the push
 * channel in the subscription.
 */
interface Settings {
  readonly nickname: string;
  readonly endpoint: string;
}

/** `/agent/config.json`: the sign-in settings, and where the push channel is. */
interface ConsoleConfig extends IdentityConfig {
  readonly push?: unknown;
}

/** The services a desk works with, from `/agent/config.json`. */
interface Services {
  readonly identity: Identity;
  /** The push address; undefined where the API names none (the desk then polls). */
  readonly push: string | undefined;
}

/** What a reload needs to pick the desk up again: kept in this tab only. */
interface Session {
  readonly settings: Settings;
  readonly tokens: Tokens;
}

interface CurrentChat {
  readonly id: string;
  readonly nickname: string;
  readonly subject: string | undefined;
}

const SESSION_STORE = "gms-agent:session";
const READY_STORE = "gms-agent:ready";
const CHAT_STORE = "gms-agent:chat";
/** Well inside the 60 s after which the service stops counting an agent as ready. */
const PRESENCE_RENEW_SECONDS = 20;
const QUEUE_POLL_SECONDS = 3;
/**
 * A queue read that does not show yet what a queue frame said (the queue index DynamoDB reads is
 * eventually consistent) is made again this much later, at most this many times.
 */
const QUEUE_CONFIRM_MS = 1000;
const QUEUE_CONFIRM_TRIES = 3;
/** The tokens are renewed this long before the access token expires (or halfway, if it lasts less). */
const REFRESH_AHEAD_MS = 5 * 60 * 1000;
/** After a refresh that could not reach the identity provider, the next try. */
const REFRESH_RETRY_MS = 30 * 1000;

const ui = {
  ...chatPanelElements(),
  signin: byId<HTMLFormElement>("signin"),
  username: byId<HTMLInputElement>("username"),
  password: byId<HTMLInputElement>("password"),
  nickname: byId<HTMLInputElement>("nickname"),
  endpoint: byId<HTMLInputElement>("endpoint"),
  signinError: byId("signin-error"),
  signinSubmit: byId<HTMLButtonElement>("signin-submit"),
  newPassword: byId<HTMLFormElement>("new-password"),
  newPasswordInput: byId<HTMLInputElement>("new-password-input"),
  newPasswordError: byId("new-password-error"),
  newPasswordSubmit: byId<HTMLButtonElement>("new-password-submit"),
  desk: byId("desk"),
  who: byId("who"),
  presence: byId<HTMLButtonElement>("presence"),
  presenceStatus: byId("presence-status"),
  pushStatus: byId("push-status"),
  signout: byId<HTMLButtonElement>("signout"),
  deskError: byId("desk-error"),
  queueView: byId("queue-view"),
  queueStatus: byId("queue-status"),
  queuePages: byId("queue-pages"),
  queueOldest: byId<HTMLButtonElement>("queue-oldest"),
  queueMore: byId<HTMLButtonElement>("queue-more"),
  queue: byId<HTMLUListElement>("queue"),
  chatView: byId("chat-view"),
  chatTitle: byId("chat-title"),
  chatStatus: byId("chat-status"),
  next: byId<HTMLButtonElement>("next"),
};

/** The texts present, each isolated, between " · ": a chat's name, subject and email, as typed. */
function dotted(texts: readonly (string | undefined)[]): (string | Node)[] {
  return texts
    .filter((text): text is string => Boolean(text))
    .flatMap((text, index) => (index === 0 ? [isolated(text)] : [" · ", isolated(text)]));
}

const SIGN_IN_REFUSED = "The service refused your sign-in. Please sign in again.";
const SESSION_ENDED = "Your session has ended. Please sign in again.";

/** The API refused the token (401) or this agent (403): back to the sign-in form, tokens forgotten. */
function isSignInRefused(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 401 || (error.status === 403 && error.exception !== "NotYourChatException"));
}

/**
 * One signed-in session at the console, from sign-in to sign-out: its settings and tokens, presence,
 * queue and chat, its push channel (open while the agent is ready), the timers that renew the tokens
 * and presence and poll the queue while the channel is down, and one AbortController. Signing out
 * (or a refused sign-in) revokes the refresh token and aborts it: every request of the desk still
 * under way (its chat's included) ends quietly, its listeners are removed, its timers cleared and its
 * socket closed, so nothing of this desk can change the next one. Answers are applied as they come:
 * once the desk is over, none comes.
 */
class AgentDesk {
  private readonly life = new AbortController();
  private readonly api: Api;
  private readonly panel: ChatPanel;
  private ready = stored<boolean>(READY_STORE) === true;
  /** The chat accepted and not yet left: after a reload, it is picked up again. */
  private chat: CurrentChat | undefined = stored<CurrentChat>(CHAT_STORE);
  private waiting: readonly QueueItem[] = [];
  /**
   * The queue comes in pages, oldest first: the page shown starts after `queueAfter` (the first
   * page when undefined), and `queueNext` is where the one after it starts, if more wait.
   */
  private queueAfter: string | undefined;
  private queueNext: string | undefined;
  /** What the queue shows (ready, and the chats' ids), to redraw it only when that changes. */
  private shownQueue = "";
  private renewTimer: ReturnType<typeof setTimeout> | undefined;
  private queueTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  /** One queue read at a time; another is wanted once it is answered. */
  private queueReading = false;
  private queueAgain = false;
  /** What the queue frames said of each chat (its phase) and reads have not shown yet, and how many reads tried. */
  private readonly queueExpected = new Map<string, unknown>();
  private queueConfirmTries = 0;
  /** The push channel is up: the queue and the chat are pushed, not polled. */
  private live = false;
  private readonly push: PushChannel;
  private readonly identity: Identity;
  private readonly settings: Settings;
  private tokens: Tokens;

  constructor(session: Session, services: Services) {
    this.identity = services.identity;
    this.settings = session.settings;
    this.tokens = session.tokens;
    store(SESSION_STORE, session);
    // Only the API that served the console: a link must not be able to send a token elsewhere.
    this.api = new Api(apiBase({ fromQuery: false }), () => ({ Authorization: `Bearer ${this.tokens.accessToken}` }));
    const { signal } = this.life;
    this.panel = new ChatPanel(ui, this.api, {
      self: "AGENT",
      onState: (state: ChatIxnState, customer: string | undefined) => {
        if (state === "TRANSCRIPT")
          ui.chatStatus.replaceChildren(...(customer ? ["In the chat with ", isolated(customer), "."] : ["In the chat."]));
        if (state === "DISCONNECTED") {
          ui.chatStatus.textContent = "The chat has ended.";
          ui.next.hidden = false;
          // The composer the focus was in is gone: offer the next step.
          ui.next.focus();
        }
      },
      onError: (error, doing) => this.handle(error, doing),
      isFatal: isSignInRefused,
      signal,
    });
    const pushUrl = services.push;
    this.push = new PushChannel({
      url: async () => pushUrl,
      // As this agent, with the token in force: its chats, its endpoint's queue, and the chat shown from where it is.
      subscription: () => ({
        action: "subscribe",
        agentId: this.agentId,
        token: this.tokens.accessToken,
        endpoints: [this.settings.endpoint],
        chats: this.chat === undefined ? [] : [{ id: this.chat.id, transcriptPosition: String(this.panel.position ?? 0) }],
      }),
      onFrame: (frame) => this.pushed(frame),
      onLive: (live) => {
        this.live = live;
        this.panel.setLive(live);
        // Up: one read, since what changed before the subscription was not pushed, then no polling.
        // Down: polled again, from a read at once.
        void this.pollQueue();
      },
      notice: ui.pushStatus,
    });
    ui.presence.addEventListener("click", () => void this.setPresence(!this.ready), { signal });
    ui.signout.addEventListener(
      "click",
      () => {
        if (this.ready) this.api.putWhileLeaving(this.agentUrl("/presence"), this.presenceFields(false));
        this.signOut("");
      },
      { signal },
    );
    ui.next.addEventListener("click", () => this.takeNextChat(), { signal });
    ui.queueMore.addEventListener("click", () => this.turnQueuePage(this.queueNext), { signal });
    ui.queueOldest.addEventListener("click", () => this.turnQueuePage(undefined), { signal });
    // Closing the tab makes the agent not ready at once instead of 60 s later.
    addEventListener(
      "pagehide",
      () => {
        if (this.ready) this.api.putWhileLeaving(this.agentUrl("/presence"), this.presenceFields(false));
      },
      { signal },
    );
    addEventListener(
      "pageshow",
      (event) => {
        if (event.persisted && this.ready) void this.setPresence(true);
      },
      { signal },
    );
  }

  /**
   * Shows the desk and picks up where this tab left off: tokens renewed first if they are about to
   * expire (a reload after a while), then presence renewed, the chat or the queue.
   */
  async open(): Promise<void> {
    ui.signin.hidden = true;
    ui.newPassword.hidden = true;
    ui.desk.hidden = false;
    const { nickname, endpoint } = this.settings;
    ui.who.replaceChildren(isolated(nickname), " (", isolated(this.agentId), ") on ", isolated(endpoint));
    this.showPresence();
    if (this.tokens.expiresAt - Date.now() < REFRESH_AHEAD_MS) {
      if (!(await this.refreshTokens())) return;
    } else this.scheduleRefresh();
    if (this.ready) void this.setPresence(true);
    if (this.chat) this.openChat(this.chat, undefined);
    else this.showQueue();
  }

  /**
   * Ends the desk for good (see the class): revokes the refresh token (and so the tokens made from
   * it), forgets them, and goes back to the sign-in form, saying `message`.
   */
  signOut(message: string): void {
    // Every request under way ends (the chat panel's too, and the panel closes); the listeners go.
    this.life.abort();
    this.push.stop();
    clearTimeout(this.renewTimer);
    clearTimeout(this.queueTimer);
    clearTimeout(this.refreshTimer);
    void this.identity.revoke(this.tokens).catch(() => undefined);
    ui.queue.replaceChildren();
    ui.deskError.textContent = "";
    for (const key of [SESSION_STORE, READY_STORE, CHAT_STORE]) store(key, undefined);
    ui.desk.hidden = true;
    ui.signin.hidden = false;
    ui.signinError.textContent = message;
    ui.username.focus();
  }

  /** The agent id in the API's URLs: the signed-in user's name, as the token says it. */
  private get agentId(): string {
    return this.tokens.username;
  }

  // ---- tokens ---------------------------------------------------------------------------------

  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    const left = this.tokens.expiresAt - Date.now();
    const delay = Math.max(0, left - Math.min(REFRESH_AHEAD_MS, left / 2));
    this.refreshTimer = setTimeout(() => void this.refreshTokens(), delay);
  }

  /**
   * New tokens before the access token expires. An identity provider out of reach is tried again
   * shortly; one that refuses the refresh token (revoked, expired, the user disabled) ends the desk.
   */
  private async refreshTokens(): Promise<boolean> {
    try {
      const tokens = await this.identity.refresh(this.tokens);
      if (this.over) return false;
      this.tokens = tokens;
      store(SESSION_STORE, { settings: this.settings, tokens } satisfies Session);
      this.scheduleRefresh();
      // The subscription lapses with the token it was made with.
      this.push.resubscribe();
      return true;
    } catch (error) {
      if (this.over) return false;
      if (error instanceof SignInError && error.type === "NetworkError") {
        this.refreshTimer = setTimeout(() => void this.refreshTokens(), REFRESH_RETRY_MS);
        return this.tokens.expiresAt > Date.now();
      }
      this.signOut(SESSION_ENDED);
      return false;
    }
  }

  /** Signed out (or the sign-in refused): whatever was under way has nothing more to do. */
  private get over(): boolean {
    return this.life.signal.aborted;
  }

  private agentUrl(path: string): string {
    return this.api.at(`/genesys/1/agent/${encodeURIComponent(this.agentId)}${path}`);
  }

  private chatUrl(chatId: string, operation: string): string {
    return this.agentUrl(`/chats/${encodeURIComponent(chatId)}/${operation}`);
  }

  /** A failed request: an aborted one is nothing to do, a refused sign-in signs out, the rest is shown. */
  private handle(error: unknown, doing: string): void {
    if (isAborted(error) || this.over) return;
    if (isSignInRefused(error)) this.signOut(SIGN_IN_REFUSED);
    else ui.deskError.textContent = failed(doing, error);
  }

  // ---- presence -------------------------------------------------------------------------------

  private presenceFields(isReady: boolean): Record<string, string> {
    return { endpoint: this.settings.endpoint, state: isReady ? "ready" : "not_ready", nickname: this.settings.nickname };
  }

  private showPresence(): void {
    // A toggle button: its name stays "Ready", aria-pressed says whether it is on.
    ui.presence.setAttribute("aria-pressed", String(this.ready));
    ui.presenceStatus.textContent = this.ready
      ? "Ready: customers can reach you and you can accept chats."
      : "Not ready: you will not be offered chats.";
    ui.presenceStatus.className = this.ready ? "status ok" : "status busy";
    this.renderQueue();
  }

  private async setPresence(isReady: boolean): Promise<void> {
    clearTimeout(this.renewTimer);
    try {
      await this.api.put(this.agentUrl("/presence"), this.presenceFields(isReady), this.life.signal);
      this.ready = isReady;
      ui.deskError.textContent = "";
    } catch (error) {
      this.handle(error, isReady ? "go ready" : "go not ready");
      if (this.over) return;
    }
    store(READY_STORE, this.ready);
    this.showPresence();
    // Pushed while ready (the endpoint's queue is the agent's to watch); polled otherwise.
    if (this.ready) this.push.start();
    else this.push.stop();
    // Renewed while the page is open: an agent who closes the laptop stops counting within 60 s.
    if (this.ready) this.renewTimer = setTimeout(() => void this.setPresence(true), PRESENCE_RENEW_SECONDS * 1000);
  }

  // ---- the queue ------------------------------------------------------------------------------

  private showQueue(): void {
    ui.chatView.hidden = true;
    ui.queueView.hidden = false;
    void this.pollQueue();
  }

  /**
   * Reads the queue page shown: polled every few seconds while the push channel is down, and read
   * once for each `/gms/queue` frame while it is up. One read at a time: another wanted meanwhile
   * follows it. A read that failed is tried again after the same few seconds, pushed or not: no
   * frame may come to repair it.
   */
  private async pollQueue(): Promise<void> {
    clearTimeout(this.queueTimer);
    if (this.chat !== undefined || this.over) return;
    if (this.queueReading) {
      this.queueAgain = true;
      return;
    }
    this.queueReading = true;
    const after = this.queueAfter;
    let failed = false;
    try {
      const page = after === undefined ? {} : { after };
      const answer = await this.api.get<QueueView>(
        this.agentUrl("/queue"),
        { endpoint: this.settings.endpoint, ...page },
        this.life.signal,
      );
      if (after !== this.queueAfter) {
        // The page was turned meanwhile: the one now shown is read next.
      } else if (answer.chats.length === 0 && after !== undefined) {
        // A later page that emptied (its chats were taken): back to the oldest.
        this.queueAfter = undefined;
        this.shownQueue = "";
        this.queueAgain = true;
      } else {
        this.waiting = answer.chats;
        this.queueNext = answer.next;
        this.renderQueue();
        this.confirmQueue(answer);
      }
    } catch (error) {
      this.handle(error, "load the queue");
      failed = true;
    } finally {
      this.queueReading = false;
    }
    if (this.over) return;
    if (this.queueAgain || after !== this.queueAfter) {
      this.queueAgain = false;
      void this.pollQueue();
    } else if (!this.live || failed) {
      this.queueTimer = setTimeout(() => void this.pollQueue(), QUEUE_POLL_SECONDS * 1000);
    } else if (this.queueExpected.size > 0) {
      this.queueTimer = setTimeout(() => void this.pollQueue(), QUEUE_CONFIRM_MS);
    }
  }

  /**
   * Forgets what the read shows as the frames said: a waiting chat listed (or beyond this page),
   * one accepted or ended no longer listed. What it does not show yet is read again, a few times.
   */
  private confirmQueue(answer: QueueView): void {
    const listed = new Set(answer.chats.map((chat) => chat.id));
    for (const [id, phase] of this.queueExpected) {
      if (phase === "WAITING" ? listed.has(id) || answer.next !== undefined : !listed.has(id)) this.queueExpected.delete(id);
    }
    this.queueConfirmTries = this.queueExpected.size === 0 ? 0 : this.queueConfirmTries + 1;
    if (this.queueConfirmTries > QUEUE_CONFIRM_TRIES) {
      this.queueExpected.clear();
      this.queueConfirmTries = 0;
    }
  }

  /** A frame of the push channel: a queue that changed is read again; the chat shown takes its events. */
  private pushed({ channel, data }: PushFrame): void {
    if (channel === "/gms/queue") {
      if (typeof data.id === "string") this.queueExpected.set(data.id, data.phase);
      return void this.pollQueue();
    }
    const id = this.chat?.id;
    if (id === undefined) return;
    if (channel === "/_genesys" && data.tag === `service.chat.refresh.${id}`) this.panel.offer(data.message as InteractionView);
    else if (channel === "/gms/refresh" && data.id === id) this.panel.catchUp();
  }

  /** Shows another page of the queue (undefined: the oldest chats). */
  private turnQueuePage(after: string | undefined): void {
    this.queueAfter = after;
    this.shownQueue = "";
    void this.pollQueue();
  }

  /** Redrawn only when something changed, so a focused Accept button keeps its focus. */
  private renderQueue(): void {
    const { ready, waiting } = this;
    const later = this.queueNext !== undefined;
    const paged = later || this.queueAfter !== undefined;
    const shape = JSON.stringify([ready, waiting.map((chat) => chat.id), later, paged]);
    if (shape === this.shownQueue) return;
    this.shownQueue = shape;
    ui.queuePages.hidden = !paged;
    ui.queueMore.disabled = !later;
    ui.queueOldest.disabled = this.queueAfter === undefined;
    // A status region: written only when it changes, so screen readers do not repeat it every 3 s.
    const page = !paged ? "" : this.queueAfter === undefined ? ", the oldest" : ", later ones";
    ui.queueStatus.textContent =
      waiting.length === 0 ? "No chats are waiting." : `${waiting.length} waiting${page}${later ? "; more after these" : ""}`;
    ui.queue.replaceChildren(
      ...waiting.map((chat) => {
        const item = document.createElement("li");
        const name = document.createElement("h3");
        name.append(isolated(chat.nickname));
        const details = document.createElement("p");
        const { customer } = chat;
        const since = `waiting since ${new Date(chat.queuedAt ?? chat.startedAt).toLocaleTimeString()}`;
        details.append(...dotted([customer.subject, customer.email, since]));
        const accept = document.createElement("button");
        accept.type = "button";
        accept.textContent = "Accept";
        accept.setAttribute("aria-label", `Accept the chat with ${chat.nickname}`);
        accept.disabled = !ready;
        if (!ready) accept.title = "Go ready to accept chats";
        accept.addEventListener("click", () => void this.acceptChat(chat));
        item.append(name, details, accept);
        return item;
      }),
    );
  }

  private async acceptChat(chat: QueueItem): Promise<void> {
    // One accept at a time: the queue stays inert until this one is answered.
    ui.queue.inert = true;
    ui.deskError.textContent = "";
    const taking: CurrentChat = { id: chat.id, nickname: chat.nickname, subject: chat.customer.subject };
    try {
      const answer = await this.api.post<InteractionView>(this.chatUrl(taking.id, "accept"), {}, {}, this.life.signal);
      this.chat = taking;
      store(CHAT_STORE, taking);
      this.openChat(taking, answer);
      // The subscription names the chats it resumes: this one, from the accept's position.
      this.push.resubscribe();
    } catch (error) {
      if (error instanceof ApiError && (error.status === 409 || error.status === 404)) {
        ui.deskError.textContent =
          error.exception === "ChatAlreadyAcceptedException"
            ? "Another agent accepted that chat first."
            : `That chat cannot be taken: ${error.message}`;
      } else {
        this.handle(error, "accept the chat");
        if (this.over) return;
      }
      this.shownQueue = "";
      void this.pollQueue();
    } finally {
      ui.queue.inert = false;
    }
  }

  // ---- the conversation -----------------------------------------------------------------------

  /** Shows a chat: from the accept answer, or (after a reload) from the start of its transcript. */
  private openChat(chat: CurrentChat, acceptAnswer: InteractionView | undefined): void {
    clearTimeout(this.queueTimer);
    ui.queueView.hidden = true;
    ui.chatView.hidden = false;
    ui.chatTitle.replaceChildren("Chat with ", ...dotted([chat.nickname, chat.subject]));
    ui.next.hidden = true;
    this.panel.open((operation) => this.chatUrl(chat.id, operation), acceptAnswer);
  }

  private takeNextChat(): void {
    this.panel.close();
    this.chat = undefined;
    store(CHAT_STORE, undefined);
    this.shownQueue = "";
    this.showQueue();
    ui.presence.focus();
  }
}

// ---- sign in --------------------------------------------------------------------------------------

/** The identity provider and the push channel, as `/agent/config.json` names them: loaded once, again after a failure. */
let servicesLoad: Promise<Services> | undefined;
function services(): Promise<Services> {
  servicesLoad ??= (async () => {
    const api = new Api(apiBase({ fromQuery: false }));
    const config = await api.get<ConsoleConfig>(api.at("/agent/config.json"));
    return { identity: new Identity(config), push: typeof config.push === "string" ? config.push : undefined };
  })().catch((error: unknown) => {
    servicesLoad = undefined;
    throw error;
  });
  return servicesLoad;
}

/** A sign-in waiting for the new password a temporary one requires: in this page's memory only. */
let pending: { readonly services: Services; readonly settings: Settings; readonly username: string; readonly session: string } | undefined;

function messageOf(error: unknown, doing: string): string {
  return error instanceof SignInError ? error.message : failed(doing, error);
}

function startDesk(loaded: Services, settings: Settings, tokens: Tokens): void {
  pending = undefined;
  const desk = new AgentDesk({ settings, tokens }, loaded);
  void desk.open();
  ui.presence.focus();
}

ui.signin.addEventListener("submit", (event) => {
  event.preventDefault();
  ui.signinError.textContent = "";
  for (const input of [ui.username, ui.password, ui.nickname, ui.endpoint]) {
    if (input !== ui.password) input.value = input.value.trim();
    if (!input.checkValidity()) {
      ui.signinError.textContent = `Please check "${input.labels?.[0]?.firstChild?.textContent?.trim() ?? input.name}".`;
      input.focus();
      return;
    }
  }
  const settings: Settings = { nickname: ui.nickname.value, endpoint: ui.endpoint.value };
  const username = ui.username.value;
  const password = ui.password.value;
  ui.signinSubmit.disabled = true;
  void (async () => {
    try {
      const loaded = await services();
      const answer = await loaded.identity.signIn(username, password);
      ui.password.value = "";
      if ("tokens" in answer) return startDesk(loaded, settings, answer.tokens);
      pending = { services: loaded, settings, ...answer.newPasswordRequired };
      ui.signin.hidden = true;
      ui.newPassword.hidden = false;
      ui.newPasswordError.textContent = "";
      ui.newPasswordInput.focus();
    } catch (error) {
      ui.signinError.textContent = messageOf(error, "sign in");
      ui.password.focus();
    } finally {
      ui.signinSubmit.disabled = false;
    }
  })();
});

ui.newPassword.addEventListener("submit", (event) => {
  event.preventDefault();
  const waiting = pending;
  if (waiting === undefined) return;
  ui.newPasswordError.textContent = "";
  if (!ui.newPasswordInput.checkValidity()) {
    ui.newPasswordError.textContent = 'Please check "New password".';
    ui.newPasswordInput.focus();
    return;
  }
  ui.newPasswordSubmit.disabled = true;
  void (async () => {
    try {
      const answer = await waiting.services.identity.setNewPassword(waiting.username, waiting.session, ui.newPasswordInput.value);
      if (!("tokens" in answer)) throw new SignInError("ChallengeException", "The new password was not accepted. Please try another.");
      ui.newPasswordInput.value = "";
      startDesk(waiting.services, waiting.settings, answer.tokens);
    } catch (error) {
      ui.newPasswordError.textContent = messageOf(error, "set the password");
      ui.newPasswordInput.focus();
    } finally {
      ui.newPasswordSubmit.disabled = false;
    }
  })();
});

// A reload picks the desk up again from this tab's session storage.
const signedIn = stored<Session>(SESSION_STORE);
if (signedIn?.tokens !== undefined) {
  services().then(
    (loaded) => void new AgentDesk(signedIn, loaded).open(),
    (error: unknown) => {
      store(SESSION_STORE, undefined);
      ui.signinError.textContent = messageOf(error, "load the sign-in settings");
    },
  );
} else {
  ui.username.focus();
  // Fetched ahead, so the first sign-in does not wait for it.
  services().catch(() => undefined);
}

import "../shared/base.css";
import type { PresenceView } from "../../lib/agents/presence.ts";
import type { ChatIxnState, EventTuple, InteractionView, QueueItem, QueueView } from "../../lib/chat/view.ts";
import type { OfferView } from "../../lib/routing/listeners.ts";
import { Api, ApiError, apiBase, byId, failed, isAborted, isolated, store, stored } from "../shared/api.ts";
import { ChatPanel, chatPanelElements } from "../shared/conversation.ts";
import { PushChannel, type PushFrame } from "../shared/push.ts";
import { Identity, type IdentityConfig, SignInError, type Tokens } from "./identity.ts";

/**
 * The agent console, on the agent API: sign-in with a user name and password (the identity
 * provider `/agent/config.json` names), presence on the agent's endpoints (renewed while the page is
 * open, since it lapses 60 s after the last renewal), the chats offered to the agent (a countdown,
 * Accept and Reject, a sound and the page title flashing), several chats at once as tabs with unread
 * counts, transfers, and, on endpoints that let agents pick, the queue to accept from. The agent may
 * go not ready while it finishes its chats: it is then offered none. Offers, presence changes the
 * service makes (a missed offer), the queue's changes and the chats' events come over the push
 * channel (docs/push.md), and are polled only while it is down. The agent's tokens stay in this
 * tab's session storage (or, where the browser refuses storage, in the page's memory), and go to the
 * API as `Authorization: Bearer <access token>` and to the push channel in the subscription.
 */
interface Settings {
  readonly nickname: string;
  /** The endpoints to go ready on; none: every endpoint of the agent's profile. */
  readonly endpoints: readonly string[];
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

/** A chat the agent holds, as its tab shows it. */
interface HeldChat {
  readonly id: string;
  nickname: string;
  readonly subject: string | undefined;
  /** The customer's messages not yet seen (counted from the pushed events of a chat not shown). */
  unread: number;
  ended: boolean;
}

const SESSION_STORE = "gms-agent:session";
const READY_STORE = "gms-agent:ready";
/** The names of the chats held, by chat id, for their tabs after a reload (the service says which are held). */
const CHATS_STORE = "gms-agent:chats";
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
const TITLE = "Agent console";

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
  offersStatus: byId("offers-status"),
  offers: byId<HTMLUListElement>("offers"),
  tabs: byId("chat-tabs"),
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
  transfer: byId<HTMLFormElement>("transfer"),
  transferKind: byId<HTMLSelectElement>("transfer-kind"),
  transferTo: byId<HTMLInputElement>("transfer-to"),
  transferSubmit: byId<HTMLButtonElement>("transfer-submit"),
};

/** The texts present, each isolated, between " · ": a chat's name, subject and email, as typed. */
function dotted(texts: readonly (string | undefined)[]): (string | Node)[] {
  return texts
    .filter((text): text is string => Boolean(text))
    .flatMap((text, index) => (index === 0 ? [isolated(text)] : [" · ", isolated(text)]));
}

/** The endpoints a sign-in form names: separated by commas or spaces; none means all of the agent's. */
function endpointsOf(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

const SIGN_IN_REFUSED = "The service refused your sign-in. Please sign in again.";
const SESSION_ENDED = "Your session has ended. Please sign in again.";
const NOT_READY_REASONS: Readonly<Record<string, string>> = {
  missed: "Not ready: an offer went unanswered, so the service stopped offering you chats. Go ready when you are back.",
  profile: "Not ready: your profile changed. Go ready again.",
};

/** The API refused the token (401) or this agent (403): back to the sign-in form, tokens forgotten. */
function isSignInRefused(error: unknown): boolean {
  return (
    error instanceof ApiError &&
    (error.status === 401 || (error.status === 403 && !["NotYourChatException", "NotAssignedException"].includes(error.exception)))
  );
}

/**
 * A short tone for a new offer, where the browser lets the page play one (it may refuse until the
 * agent has touched the page): silent otherwise, never an error.
 */
function ring(): void {
  try {
    const context = new AudioContext();
    if (context.state !== "running") {
      void context.close();
      return;
    }
    const tone = context.createOscillator();
    const volume = context.createGain();
    tone.frequency.value = 880;
    volume.gain.value = 0.1;
    tone.connect(volume).connect(context.destination);
    tone.start();
    tone.stop(context.currentTime + 0.25);
    tone.onended = () => void context.close();
  } catch {
    // No sound: the title and the list say it.
  }
}

/**
 * One signed-in session at the console, from sign-in to sign-out: its settings and tokens, presence,
 * offers, chats and queue, its push channel, the timers that renew the tokens and presence and poll
 * while the channel is down, and one AbortController. Signing out (or a refused sign-in) revokes the
 * refresh token and aborts it: every request of the desk still under way (its chats' included) ends
 * quietly, its listeners are removed, its timers cleared and its socket closed, so nothing of this
 * desk can change the next one. Answers are applied as they come: once the desk is over, none comes.
 */
class AgentDesk {
  private readonly life = new AbortController();
  private readonly api: Api;
  private readonly panel: ChatPanel;
  private ready = stored<boolean>(READY_STORE) === true;
  /** Why the service made the agent not ready, if it did. */
  private reason: string | null = null;
  /** The endpoints the agent is (or was last) ready on, as the service says. */
  private endpoints: readonly string[] = [];
  /** The chats offered to the agent, by chat id. */
  private readonly offers = new Map<string, OfferView>();
  /** The chats the agent holds, in the order they were taken, and the one shown. */
  private readonly chats = new Map<string, HeldChat>();
  private current: string | undefined;
  private waiting: readonly QueueItem[] = [];
  /** How the queue's endpoint routes its chats: agents accept from the queue only where they pick. */
  private queueRouting: QueueView["routing"] = "pick";
  /**
   * The queue comes in pages, oldest first: the page shown starts after `queueAfter` (the first
   * page when undefined), and `queueNext` is where the one after it starts, if more wait.
   */
  private queueAfter: string | undefined;
  private queueNext: string | undefined;
  /** What the queue shows (ready, routing, and the chats' ids), to redraw it only when that changes. */
  private shownQueue = "";
  private renewTimer: ReturnType<typeof setTimeout> | undefined;
  private queueTimer: ReturnType<typeof setTimeout> | undefined;
  private offersTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  /** Ticks while offers are shown: their countdowns, and the title flashing. */
  private ticker: ReturnType<typeof setInterval> | undefined;
  private flash = false;
  /** One queue read at a time; another is wanted once it is answered. */
  private queueReading = false;
  private queueAgain = false;
  /** What the queue frames said of each chat (its phase) and reads have not shown yet, and how many reads tried. */
  private readonly queueExpected = new Map<string, unknown>();
  private queueConfirmTries = 0;
  /** The push channel is up: offers, the queue and the chats are pushed, not polled. */
  private live = false;
  private readonly push: PushChannel;
  private readonly identity: Identity;
  private readonly settings: Settings;
  private tokens: Tokens;

  constructor(session: Session, services: Services) {
    this.identity = services.identity;
    // A session kept by an earlier console named one endpoint.
    const kept = session.settings as Settings & { endpoint?: string };
    this.settings = { nickname: kept.nickname, endpoints: kept.endpoints ?? (kept.endpoint ? [kept.endpoint] : []) };
    this.tokens = session.tokens;
    store(SESSION_STORE, { settings: this.settings, tokens: this.tokens } satisfies Session);
    for (const chat of Object.values(stored<Record<string, HeldChat>>(CHATS_STORE) ?? {})) this.chats.set(chat.id, { ...chat });
    // Only the API that served the console: a link must not be able to send a token elsewhere.
    this.api = new Api(apiBase({ fromQuery: false }), () => ({ Authorization: `Bearer ${this.tokens.accessToken}` }));
    const { signal } = this.life;
    this.panel = new ChatPanel(ui, this.api, {
      self: "AGENT",
      onState: (state: ChatIxnState, customer: string | undefined) => this.chatState(state, customer),
      onError: (error, doing) => this.handle(error, doing),
      isFatal: isSignInRefused,
      signal,
    });
    const pushUrl = services.push;
    this.push = new PushChannel({
      url: async () => pushUrl,
      // As this agent, with the token in force: its offers and chats, its endpoints' queues, and the chat shown from where it is.
      subscription: () => ({
        action: "subscribe",
        agentId: this.agentId,
        token: this.tokens.accessToken,
        endpoints: [...this.endpoints],
        chats: this.current === undefined ? [] : [{ id: this.current, transcriptPosition: String(this.panel.position ?? 0) }],
      }),
      onFrame: (frame) => this.pushed(frame),
      onLive: (live) => {
        this.live = live;
        this.panel.setLive(live);
        // Up: one read of each, since what changed before the subscription was not pushed, then no
        // polling. Down: polled again, from a read at once.
        void this.pollQueue();
        void this.pollOffers();
      },
      notice: ui.pushStatus,
    });
    ui.presence.addEventListener("click", () => void this.setPresence(!this.ready), { signal });
    ui.signout.addEventListener("click", () => this.signOut("", this.ready), { signal });
    ui.next.addEventListener("click", () => this.closeChat(), { signal });
    ui.transfer.addEventListener(
      "submit",
      (event) => {
        event.preventDefault();
        void this.transfer();
      },
      { signal },
    );
    ui.queueMore.addEventListener("click", () => this.turnQueuePage(this.queueNext), { signal });
    ui.queueOldest.addEventListener("click", () => this.turnQueuePage(undefined), { signal });
    // Closing the tab makes the agent not ready at once instead of 60 s later.
    addEventListener(
      "pagehide",
      () => {
        if (this.ready) void this.api.whileLeaving("PUT", this.agentUrl("/presence"), this.presenceFields(false));
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
   * expire (a reload after a while), then presence (renewed if it was ready), its chats and offers.
   */
  async open(): Promise<void> {
    ui.signin.hidden = true;
    ui.newPassword.hidden = true;
    ui.desk.hidden = false;
    const named = this.settings.endpoints.length === 0 ? "your endpoints" : this.settings.endpoints.join(", ");
    ui.who.replaceChildren(isolated(this.settings.nickname), " (", isolated(this.agentId), ") on ", isolated(named));
    this.showPresence();
    if (this.tokens.expiresAt - Date.now() < REFRESH_AHEAD_MS) {
      if (!(await this.refreshTokens())) return;
    } else this.scheduleRefresh();
    // The service says which chats the agent holds (and where it is ready); then the push channel.
    if (this.ready) await this.setPresence(true);
    else await this.readPresence();
    if (this.over) return;
    this.push.start();
    void this.pollOffers();
    void this.pollQueue();
  }

  /**
   * Ends the desk for good (see the class): not ready first if `notReady`, then the sign-in ends for
   * the API (every token of it refused: POST .../sign-out) and at the identity provider (the refresh
   * token revoked); the tokens are forgotten, and the sign-in form says `message`.
   */
  signOut(message: string, notReady = false): void {
    const presence = notReady ? this.api.whileLeaving("PUT", this.agentUrl("/presence"), this.presenceFields(false)) : Promise.resolve();
    const tokens = this.tokens;
    void presence
      .then(() => this.api.whileLeaving("POST", this.agentUrl("/sign-out")))
      .then(() => this.identity.revoke(tokens))
      .catch(() => undefined);
    // Every request under way ends (the chat panel's too, and the panel closes); the listeners go.
    this.life.abort();
    this.push.stop();
    for (const timer of [this.renewTimer, this.queueTimer, this.offersTimer, this.refreshTimer]) clearTimeout(timer);
    clearInterval(this.ticker);
    document.title = TITLE;
    for (const list of [ui.queue, ui.offers, ui.tabs]) list.replaceChildren();
    ui.deskError.textContent = "";
    for (const key of [SESSION_STORE, READY_STORE, CHATS_STORE]) store(key, undefined);
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

  private presenceFields(isReady: boolean, renew = false): Record<string, string> {
    if (!isReady) return { state: "not_ready" };
    const endpoints = this.settings.endpoints.length === 0 ? {} : { endpoints: this.settings.endpoints.join(",") };
    return { state: "ready", nickname: this.settings.nickname, ...endpoints, ...(renew ? { renew: "true" } : {}) };
  }

  private showPresence(): void {
    // A toggle button: its name stays "Ready", aria-pressed says whether it is on.
    ui.presence.setAttribute("aria-pressed", String(this.ready));
    ui.presenceStatus.textContent = this.ready
      ? "Ready: you are offered chats while you have room for them."
      : ((this.reason !== null ? NOT_READY_REASONS[this.reason] : undefined) ?? "Not ready: you will not be offered chats.");
    ui.presenceStatus.className = this.ready ? "status ok" : "status busy";
    this.renderQueue();
  }

  /** What the service says of the agent's presence (an answer, or a `/gms/presence` frame). */
  private applyPresence(view: PresenceView): void {
    const endpoints = view.endpoints.join();
    this.ready = view.state === "ready";
    this.reason = view.reason;
    store(READY_STORE, this.ready);
    // The chats it holds are the service's word: tabs for those this console did not know (another tab's), none for the others.
    const held = new Set(view.chats.map((chat) => chat.chatId));
    for (const chat of view.chats) {
      if (!this.chats.has(chat.chatId))
        this.chats.set(chat.chatId, { id: chat.chatId, nickname: "Chat", subject: undefined, unread: 0, ended: false });
    }
    for (const [id, chat] of this.chats) if (!held.has(id) && !chat.ended && id !== this.current) this.chats.delete(id);
    const moved = endpoints !== this.endpoints.join();
    this.endpoints = view.endpoints;
    this.saveChats();
    this.renderTabs();
    if (this.current === undefined && this.chats.size > 0) this.showChat([...this.chats.keys()][0] as string);
    this.showPresence();
    if (moved) {
      this.push.resubscribe();
      this.shownQueue = "";
      void this.pollQueue();
    }
    if (!this.ready) clearTimeout(this.renewTimer);
  }

  private async readPresence(): Promise<void> {
    try {
      this.applyPresence(await this.api.get<PresenceView>(this.agentUrl("/presence"), {}, this.life.signal));
    } catch (error) {
      this.handle(error, "read your presence");
    }
  }

  /** Goes ready or not ready (or, `renew`, stays ready: a renewal never makes the agent ready again). */
  private async setPresence(isReady: boolean, renew = false): Promise<void> {
    clearTimeout(this.renewTimer);
    try {
      const answer = await this.api.put<PresenceView>(this.agentUrl("/presence"), this.presenceFields(isReady, renew), this.life.signal);
      if (!renew) ui.deskError.textContent = "";
      this.applyPresence(answer);
    } catch (error) {
      if (error instanceof ApiError && error.exception === "NotAssignedException") {
        ui.deskError.textContent = error.message;
      } else {
        this.handle(error, isReady ? "go ready" : "go not ready");
      }
      if (this.over) return;
    }
    // Renewed while the page is open: an agent who closes the laptop stops counting within 60 s.
    if (this.ready) this.renewTimer = setTimeout(() => void this.setPresence(true, true), PRESENCE_RENEW_SECONDS * 1000);
  }

  // ---- offers ---------------------------------------------------------------------------------

  /** Reads the offers: once the push channel is up, and every few seconds while it is down. */
  private async pollOffers(): Promise<void> {
    clearTimeout(this.offersTimer);
    if (this.over) return;
    try {
      const answer = await this.api.get<{ offers: readonly OfferView[] }>(this.agentUrl("/offers"), {}, this.life.signal);
      const now = new Set(answer.offers.map((offer) => offer.chatId));
      for (const id of this.offers.keys()) if (!now.has(id)) this.offers.delete(id);
      for (const offer of answer.offers) this.offered(offer, false);
      this.renderOffers();
    } catch (error) {
      this.handle(error, "read your offers");
    }
    if (!this.over && !this.live) this.offersTimer = setTimeout(() => void this.pollOffers(), QUEUE_POLL_SECONDS * 1000);
  }

  /** A chat offered to the agent: listed with its countdown, heard (`announce`), the title flashing. */
  private offered(offer: OfferView, announce: boolean): void {
    const known = this.offers.has(offer.chatId);
    this.offers.set(offer.chatId, offer);
    if (!known && announce) ring();
    this.renderOffers();
  }

  private renderOffers(): void {
    const now = Date.now();
    for (const [id, offer] of this.offers) if (Date.parse(offer.expiresAt) <= now - 5000) this.offers.delete(id);
    const offers = [...this.offers.values()];
    ui.offersStatus.textContent =
      offers.length === 0
        ? "No chat is offered to you."
        : offers.length === 1
          ? "A chat is offered to you."
          : `${offers.length} chats are offered to you.`;
    const shown = new Set([...ui.offers.children].map((item) => (item as HTMLElement).dataset.chatId));
    if (offers.length !== shown.size || offers.some((offer) => !shown.has(offer.chatId))) {
      ui.offers.replaceChildren(...offers.map((offer) => this.offerItem(offer)));
    }
    for (const item of ui.offers.children) {
      const offer = this.offers.get((item as HTMLElement).dataset.chatId ?? "");
      const left = offer === undefined ? 0 : Math.max(0, Math.ceil((Date.parse(offer.expiresAt) - now) / 1000));
      const countdown = item.querySelector(".countdown");
      if (countdown !== null) countdown.textContent = `${left} s left`;
    }
    if (offers.length > 0 && this.ticker === undefined) this.ticker = setInterval(() => this.tick(), 1000);
    if (offers.length === 0) {
      clearInterval(this.ticker);
      this.ticker = undefined;
      document.title = TITLE;
    }
  }

  /** Each second while offers are shown: the countdowns, and the title flashing. */
  private tick(): void {
    this.flash = !this.flash;
    document.title = this.flash ? `(${this.offers.size}) Chat offered — ${TITLE}` : TITLE;
    this.renderOffers();
  }

  private offerItem(offer: OfferView): HTMLLIElement {
    const item = document.createElement("li");
    item.dataset.chatId = offer.chatId;
    const name = document.createElement("h3");
    name.append(isolated(offer.nickname));
    const details = document.createElement("p");
    const countdown = document.createElement("span");
    countdown.className = "countdown";
    details.append(...dotted([offer.customer.subject, offer.customer.email, offer.endpoint]), " · ", countdown);
    const choices = document.createElement("div");
    choices.className = "choices";
    const accept = document.createElement("button");
    accept.type = "button";
    accept.textContent = "Accept";
    accept.setAttribute("aria-label", `Accept the chat with ${offer.nickname}`);
    accept.addEventListener("click", () => void this.acceptChat(offer.chatId, offer.nickname, offer.customer.subject));
    const reject = document.createElement("button");
    reject.type = "button";
    reject.className = "secondary";
    reject.textContent = "Reject";
    reject.setAttribute("aria-label", `Reject the chat with ${offer.nickname}`);
    reject.addEventListener("click", () => void this.rejectChat(offer.chatId));
    choices.append(accept, reject);
    item.append(name, details, choices);
    return item;
  }

  private async rejectChat(chatId: string): Promise<void> {
    this.offers.delete(chatId);
    this.renderOffers();
    try {
      await this.api.post(this.chatUrl(chatId, "reject"), {}, {}, this.life.signal);
    } catch (error) {
      // Withdrawn meanwhile (taken, ended, its time up): nothing left to refuse.
      if (!(error instanceof ApiError && (error.status === 409 || error.status === 404))) this.handle(error, "reject the chat");
    }
  }

  // ---- chats ----------------------------------------------------------------------------------

  /** Accepts a chat offered to the agent, or (where the endpoint lets agents pick) one from the queue; it opens in its tab. */
  private async acceptChat(chatId: string, nickname: string, subject: string | undefined): Promise<void> {
    ui.deskError.textContent = "";
    this.offers.delete(chatId);
    this.renderOffers();
    ui.queue.inert = true;
    try {
      const answer = await this.api.post<InteractionView>(this.chatUrl(chatId, "accept"), {}, {}, this.life.signal);
      this.chats.set(chatId, { id: chatId, nickname, subject, unread: 0, ended: false });
      this.saveChats();
      this.showChat(chatId, answer);
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

  /** Shows a held chat in the panel: from an accept's answer, or from the start of its transcript. */
  private showChat(chatId: string, answer?: InteractionView): void {
    const chat = this.chats.get(chatId);
    if (chat === undefined) return;
    if (this.current !== chatId) this.panel.close();
    this.current = chatId;
    chat.unread = 0;
    ui.chatView.hidden = false;
    ui.chatTitle.replaceChildren("Chat with ", ...dotted([chat.nickname, chat.subject]));
    ui.chatStatus.textContent = "";
    ui.next.hidden = !chat.ended;
    ui.transfer.hidden = chat.ended;
    this.panel.open((operation) => this.chatUrl(chatId, operation), answer);
    this.renderTabs();
    // The subscription resumes the chat shown from its position.
    this.push.resubscribe();
  }

  /** The chat shown changed state: named once the customer is known, ended when it ends. */
  private chatState(state: ChatIxnState, customer: string | undefined): void {
    const chat = this.current === undefined ? undefined : this.chats.get(this.current);
    if (chat === undefined) return;
    if (state === "TRANSCRIPT") {
      ui.chatStatus.replaceChildren(...(customer ? ["In the chat with ", isolated(customer), "."] : ["In the chat."]));
      if (customer && chat.nickname === "Chat") {
        chat.nickname = customer;
        ui.chatTitle.replaceChildren("Chat with ", ...dotted([chat.nickname, chat.subject]));
        this.saveChats();
        this.renderTabs();
      }
    }
    if (state === "DISCONNECTED") {
      chat.ended = true;
      ui.chatStatus.textContent = "The chat has ended.";
      ui.next.hidden = false;
      ui.transfer.hidden = true;
      this.renderTabs();
      // The composer the focus was in is gone: offer the next step.
      ui.next.focus();
    }
  }

  /** Closes the tab of the chat shown (ended, or handed on): the next one shows, if any. */
  private closeChat(): void {
    const closing = this.current;
    if (closing === undefined) return;
    this.panel.close();
    this.chats.delete(closing);
    this.current = undefined;
    this.saveChats();
    const next = [...this.chats.keys()][0];
    if (next === undefined) {
      ui.chatView.hidden = true;
      this.renderTabs();
      this.push.resubscribe();
      ui.presence.focus();
    } else this.showChat(next);
  }

  private async transfer(): Promise<void> {
    const chatId = this.current;
    if (chatId === undefined) return;
    const to = ui.transferTo.value.trim();
    if (to === "") {
      ui.transferTo.focus();
      return;
    }
    const field = ui.transferKind.value === "agent" ? "agent" : "endpoint";
    ui.transferSubmit.disabled = true;
    try {
      await this.api.post(this.chatUrl(chatId, "transfer"), { [field]: to }, {}, this.life.signal);
      ui.transferTo.value = "";
      ui.deskError.textContent = "";
      this.closeChat();
      ui.chatStatus.textContent = "";
      ui.offersStatus.textContent = `The chat went to ${field === "agent" ? "agent" : "endpoint"} ${to}.`;
    } catch (error) {
      if (error instanceof ApiError && error.status < 500 && !isSignInRefused(error))
        ui.deskError.textContent = `The chat stays with you: ${error.message}`;
      else this.handle(error, "transfer the chat");
    } finally {
      ui.transferSubmit.disabled = false;
    }
  }

  private renderTabs(): void {
    ui.tabs.hidden = this.chats.size === 0;
    ui.tabs.replaceChildren(
      ...[...this.chats.values()].map((chat) => {
        const tab = document.createElement("button");
        tab.type = "button";
        tab.className = "tab";
        tab.setAttribute("role", "tab");
        tab.setAttribute("aria-selected", String(chat.id === this.current));
        tab.setAttribute("aria-controls", "chat-view");
        tab.dataset.chatId = chat.id;
        tab.append(isolated(chat.nickname));
        if (chat.ended) tab.append(" (ended)");
        if (chat.unread > 0) {
          const unread = document.createElement("span");
          unread.className = "unread";
          unread.textContent = String(chat.unread);
          unread.setAttribute("aria-label", `${chat.unread} unread`);
          tab.append(unread);
        }
        tab.addEventListener("click", () => this.showChat(chat.id));
        return tab;
      }),
    );
  }

  private saveChats(): void {
    store(CHATS_STORE, Object.fromEntries(this.chats));
  }

  /**
   * A frame of the push channel: offers and their withdrawal, presence the service changed, a queue
   * that changed (read again), the chat shown takes its events, the others count their unread ones.
   */
  private pushed({ channel, data }: PushFrame): void {
    if (channel === "/gms/offer") {
      this.offered(data as unknown as OfferView, true);
    } else if (channel === "/gms/withdrawn") {
      if (typeof data.chatId === "string") this.offers.delete(data.chatId);
      if (data.reason === "timeout") ui.deskError.textContent = "An offer was withdrawn: it was not answered in time.";
      this.renderOffers();
    } else if (channel === "/gms/presence") {
      this.applyPresence(data as unknown as PresenceView);
    } else if (channel === "/gms/queue") {
      if (typeof data.id === "string") this.queueExpected.set(data.id, data.phase);
      void this.pollQueue();
    } else if (channel === "/gms/subscribed") {
      // A resubscription (other endpoints, a chat shown) is in force: what changed before was not pushed.
      void this.pollQueue();
      void this.pollOffers();
    } else if (channel === "/gms/refresh") {
      if (data.id === this.current) this.panel.catchUp();
    } else if (channel === "/_genesys" && typeof data.tag === "string") {
      this.chatEvents(data.tag.slice("service.chat.refresh.".length), data.message as InteractionView);
    }
  }

  /** A held chat's pushed events: the chat shown shows them; another counts the customer's messages as unread. */
  private chatEvents(id: string, message: InteractionView): void {
    if (id === this.current) {
      this.panel.offer(message);
      return;
    }
    const chat = this.chats.get(id);
    if (chat === undefined) return;
    const events = (Array.isArray(message?.transcriptToShow) ? message.transcriptToShow : []) as readonly EventTuple[];
    chat.unread += events.filter((event) => Array.isArray(event) && event[0] === "Message.Text" && event[4] === "CLIENT").length;
    if (message?.chatIxnState === "DISCONNECTED") chat.ended = true;
    this.renderTabs();
  }

  // ---- the queue ------------------------------------------------------------------------------

  /** The endpoint whose queue is shown: the first the agent is ready on. */
  private get queueEndpoint(): string | undefined {
    return this.endpoints[0] ?? this.settings.endpoints[0];
  }

  /**
   * Reads the queue page shown: polled every few seconds while the push channel is down, and read
   * once for each `/gms/queue` frame while it is up. One read at a time: another wanted meanwhile
   * follows it. A read that failed is tried again after the same few seconds, pushed or not: no
   * frame may come to repair it.
   */
  private async pollQueue(): Promise<void> {
    clearTimeout(this.queueTimer);
    const endpoint = this.queueEndpoint;
    if (this.over || endpoint === undefined) return;
    if (this.queueReading) {
      this.queueAgain = true;
      return;
    }
    this.queueReading = true;
    const after = this.queueAfter;
    let failed = false;
    try {
      const page = after === undefined ? {} : { after };
      const answer = await this.api.get<QueueView>(this.agentUrl("/queue"), { endpoint, ...page }, this.life.signal);
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
        this.queueRouting = answer.routing;
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

  /** Shows another page of the queue (undefined: the oldest chats). */
  private turnQueuePage(after: string | undefined): void {
    this.queueAfter = after;
    this.shownQueue = "";
    void this.pollQueue();
  }

  /** Redrawn only when something changed, so a focused Accept button keeps its focus. */
  private renderQueue(): void {
    const { ready, waiting } = this;
    const picking = this.queueRouting === "pick";
    const later = this.queueNext !== undefined;
    const paged = later || this.queueAfter !== undefined;
    const shape = JSON.stringify([ready, picking, waiting.map((chat) => chat.id), later, paged]);
    if (shape === this.shownQueue) return;
    this.shownQueue = shape;
    ui.queuePages.hidden = !paged;
    ui.queueMore.disabled = !later;
    ui.queueOldest.disabled = this.queueAfter === undefined;
    // A status region: written only when it changes, so screen readers do not repeat it every 3 s.
    const page = !paged ? "" : this.queueAfter === undefined ? ", the oldest" : ", later ones";
    const how = picking ? "" : " (offered to agents in turn)";
    ui.queueStatus.textContent =
      waiting.length === 0 ? "No chats are waiting." : `${waiting.length} waiting${page}${later ? "; more after these" : ""}${how}`;
    ui.queue.replaceChildren(
      ...waiting.map((chat) => {
        const item = document.createElement("li");
        const name = document.createElement("h3");
        name.append(isolated(chat.nickname));
        const details = document.createElement("p");
        const { customer } = chat;
        const since = `waiting since ${new Date(chat.queuedAt ?? chat.startedAt).toLocaleTimeString()}`;
        details.append(...dotted([customer.subject, customer.email, since]));
        item.append(name, details);
        // Where the endpoint offers its chats, the queue is for looking: they come as offers.
        if (picking) {
          const accept = document.createElement("button");
          accept.type = "button";
          accept.textContent = "Accept";
          accept.setAttribute("aria-label", `Accept the chat with ${chat.nickname}`);
          accept.disabled = !ready;
          if (!ready) accept.title = "Go ready to accept chats";
          accept.addEventListener("click", () => void this.acceptChat(chat.id, chat.nickname, chat.customer.subject));
          item.append(accept);
        }
        return item;
      }),
    );
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
  const settings: Settings = { nickname: ui.nickname.value, endpoints: endpointsOf(ui.endpoint.value) };
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

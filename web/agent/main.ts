import "../shared/base.css";
import type { ChatIxnState, InteractionView, QueueItem, QueueView } from "../../lib/chat/view.ts";
import { Api, ApiError, apiBase, byId, failed, isAborted, isolated, store, stored } from "../shared/api.ts";
import { ChatPanel, chatPanelElements } from "../shared/conversation.ts";

/**
 * The agent console, on the agent API: presence (renewed while the page is open, since it lapses
 * 60 s after the last renewal), the endpoint's queue, accept (losing gracefully to a faster agent),
 * the conversation, disconnect, and the next chat. The API key stays in this tab's session storage
 * (or, where the browser refuses storage, in the page's memory).
 */
interface Settings {
  readonly agentId: string;
  readonly nickname: string;
  readonly endpoint: string;
  readonly apiKey: string;
}

interface CurrentChat {
  readonly id: string;
  readonly nickname: string;
  readonly subject: string | undefined;
}

const SETTINGS_STORE = "gms-agent:settings";
const READY_STORE = "gms-agent:ready";
const CHAT_STORE = "gms-agent:chat";
/** Well inside the 60 s after which the service stops counting an agent as ready. */
const PRESENCE_RENEW_SECONDS = 20;
const QUEUE_POLL_SECONDS = 3;

const ui = {
  ...chatPanelElements(),
  signin: byId<HTMLFormElement>("signin"),
  agentId: byId<HTMLInputElement>("agent-id"),
  nickname: byId<HTMLInputElement>("nickname"),
  endpoint: byId<HTMLInputElement>("endpoint"),
  apiKey: byId<HTMLInputElement>("api-key"),
  signinError: byId("signin-error"),
  desk: byId("desk"),
  who: byId("who"),
  presence: byId<HTMLButtonElement>("presence"),
  presenceStatus: byId("presence-status"),
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

const KEY_REFUSED = "The API key was refused. Check it and sign in again.";

/** The API key was refused (API Gateway's 403): back to the sign-in form, key forgotten. */
function isKeyRefused(error: unknown): boolean {
  return error instanceof ApiError && error.status === 403 && error.exception !== "NotYourChatException";
}

/**
 * One signed-in session at the console, from sign-in to sign-out: its settings, presence, queue and
 * chat, the timers that renew presence and poll the queue, and one AbortController. Signing out (or
 * a refused key) aborts it: every request of the desk still under way (its chat's included) ends
 * quietly, its listeners are removed and its timers cleared, so nothing of this desk can change the
 * next one. Answers are applied as they come: once the desk is over, none comes.
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

  constructor(private readonly settings: Settings) {
    // Only the API that served the console: a link must not be able to send the key elsewhere.
    this.api = new Api(apiBase({ fromQuery: false }), () => ({ "x-api-key": settings.apiKey }));
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
      isFatal: isKeyRefused,
      signal,
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

  /** Shows the desk and picks up where this tab left off: presence renewed, the chat or the queue. */
  open(): void {
    ui.signin.hidden = true;
    ui.desk.hidden = false;
    const { nickname, agentId, endpoint } = this.settings;
    ui.who.replaceChildren(isolated(nickname), ` (${agentId}) on `, isolated(endpoint));
    this.showPresence();
    if (this.ready) void this.setPresence(true);
    if (this.chat) this.openChat(this.chat, undefined);
    else this.showQueue();
  }

  /** Ends the desk for good (see the class) and goes back to the sign-in form, saying `message`. */
  signOut(message: string): void {
    // Every request under way ends (the chat panel's too, and the panel closes); the listeners go.
    this.life.abort();
    clearTimeout(this.renewTimer);
    clearTimeout(this.queueTimer);
    ui.queue.replaceChildren();
    ui.deskError.textContent = "";
    for (const key of [SETTINGS_STORE, READY_STORE, CHAT_STORE]) store(key, undefined);
    ui.desk.hidden = true;
    ui.signin.hidden = false;
    ui.signinError.textContent = message;
    ui.agentId.focus();
  }

  /** Signed out (or the key refused): whatever was under way has nothing more to do. */
  private get over(): boolean {
    return this.life.signal.aborted;
  }

  private agentUrl(path: string): string {
    return this.api.at(`/genesys/1/agent/${encodeURIComponent(this.settings.agentId)}${path}`);
  }

  private chatUrl(chatId: string, operation: string): string {
    return this.agentUrl(`/chats/${encodeURIComponent(chatId)}/${operation}`);
  }

  /** A failed request: an aborted one is nothing to do, a refused key signs out, the rest is shown. */
  private handle(error: unknown, doing: string): void {
    if (isAborted(error) || this.over) return;
    if (isKeyRefused(error)) this.signOut(KEY_REFUSED);
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
    // Renewed while the page is open: an agent who closes the laptop stops counting within 60 s.
    if (this.ready) this.renewTimer = setTimeout(() => void this.setPresence(true), PRESENCE_RENEW_SECONDS * 1000);
  }

  // ---- the queue ------------------------------------------------------------------------------

  private showQueue(): void {
    ui.chatView.hidden = true;
    ui.queueView.hidden = false;
    void this.pollQueue();
  }

  private async pollQueue(): Promise<void> {
    clearTimeout(this.queueTimer);
    if (this.chat !== undefined) return;
    try {
      const page = this.queueAfter === undefined ? {} : { after: this.queueAfter };
      const answer = await this.api.get<QueueView>(
        this.agentUrl("/queue"),
        { endpoint: this.settings.endpoint, ...page },
        this.life.signal,
      );
      // A later page that emptied (its chats were taken): back to the oldest.
      if (answer.chats.length === 0 && this.queueAfter !== undefined) return this.turnQueuePage(undefined);
      this.waiting = answer.chats;
      this.queueNext = answer.next;
      this.renderQueue();
    } catch (error) {
      this.handle(error, "load the queue");
      if (this.over) return;
    }
    this.queueTimer = setTimeout(() => void this.pollQueue(), QUEUE_POLL_SECONDS * 1000);
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

ui.signin.addEventListener("submit", (event) => {
  event.preventDefault();
  ui.signinError.textContent = "";
  for (const input of [ui.agentId, ui.nickname, ui.endpoint, ui.apiKey]) {
    input.value = input.value.trim();
    if (!input.checkValidity()) {
      ui.signinError.textContent = `Please check "${input.labels?.[0]?.firstChild?.textContent?.trim() ?? input.name}".`;
      input.focus();
      return;
    }
  }
  const settings: Settings = {
    agentId: ui.agentId.value,
    nickname: ui.nickname.value,
    endpoint: ui.endpoint.value,
    apiKey: ui.apiKey.value,
  };
  store(SETTINGS_STORE, settings);
  ui.apiKey.value = "";
  new AgentDesk(settings).open();
  ui.presence.focus();
});

// A reload picks the desk up again from this tab's session storage.
const signedIn = stored<Settings>(SETTINGS_STORE);
if (signedIn !== undefined) new AgentDesk(signedIn).open();
else ui.agentId.focus();

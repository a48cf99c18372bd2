import type { ChatIxnState, EventTuple, InteractionView, Party } from "../../lib/chat/view.ts";
import { type Api, ApiError, byId, isAborted, isolated } from "./api.ts";

/** What a page shows of an answer; a chat that is gone (404) shows as ended, with no events. */
type ChatUpdate = Pick<InteractionView, "chatIxnState" | "transcriptToShow"> &
  Partial<Pick<InteractionView, "startedAt" | "transcriptPosition">>;

interface ConversationElements {
  /** `role="log"`: new entries are announced politely. */
  readonly transcript: HTMLOListElement;
  /** Where "… is typing" shows. */
  readonly typing: HTMLElement;
  /** Connection trouble and its retry. */
  readonly problem: HTMLElement;
}

interface ConversationOptions {
  /** Whose page this is: the other party's events are the ones to notice. */
  readonly self: Party;
  /** Chat API v1 refresh (or the agent API's): the events after `position`. */
  readonly refresh: (position: number) => Promise<InteractionView>;
  /** Every answer's `chatIxnState`, and the other party's nickname once it is known. */
  readonly onState: (state: ChatIxnState, otherNickname: string | undefined) => void;
  /** A refresh failure the page handles itself (e.g. a refused API key): polling stops. */
  readonly isFatal: (error: ApiError) => boolean;
}

const POLL_SECONDS = 2;
const MAX_BACKOFF_SECONDS = 30;

/**
 * One chat's transcript on a page, kept up to date by polling refresh with `transcriptPosition`, as
 * field clients do, or, while the page's push channel is up (`setLive`), by the events it pushes
 * (`offer`), with no polling at all. Answers are applied only in order: each one's events follow the
 * position it was asked for, so a late answer can never skip or repeat an event. A pushed update is
 * shown only when it is exactly the next event; anything else past the position (a gap, several
 * events at once) is one refresh from the position, which says where its events start. Polling stops
 * at the end of the chat or at `close`, and nothing that was under way at that moment is shown
 * afterwards.
 */
class Conversation {
  private lastShown = 0;
  private startedAt = 0;
  private otherNickname: string | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight = false;
  private again = false;
  private failures = 0;
  /** Ended, or closed by the page: no more requests, no more changes to the page. */
  private done = false;
  /** The connection problem this conversation is showing, so it clears only its own message. */
  private problem = "";
  /** The push channel brings the events: a refresh only fills a gap. */
  private live = false;

  constructor(
    private readonly elements: ConversationElements,
    private readonly options: ConversationOptions,
  ) {}

  /** The position of the last event shown. */
  get position(): number {
    return this.lastShown;
  }

  /** Shows an answer to a request made at `since` (create and accept answer from 0); false if it came too late. */
  apply(view: ChatUpdate, since: number): boolean {
    if (since !== this.lastShown || this.done) return false;
    if (typeof view.startedAt === "string") this.startedAt = Date.parse(view.startedAt);
    // What the service documents, unless something between (a proxy's page) answered instead.
    const events = Array.isArray(view.transcriptToShow) ? view.transcriptToShow : [];
    // An event that is not an array is not shown (it still counts: the position is the service's).
    for (const event of events) if (Array.isArray(event)) this.show(event as unknown as EventTuple);
    // The position the answer reached: past its events when it passed over positions that hold
    // none (docs/api.md, Transcript positions).
    const reached = Number(view.transcriptPosition);
    this.lastShown = Number.isSafeInteger(reached) && reached >= since + events.length ? reached : since + events.length;
    const state = view.chatIxnState;
    if (state === "DISCONNECTED") {
      this.close();
      this.elements.typing.textContent = "";
    }
    this.options.onState(state, this.otherNickname);
    return true;
  }

  /**
   * An update nobody asked for at a position: a pushed frame, or the answer to a send (the new event
   * and any that followed). Shown when it is exactly the next event; dropped when it holds nothing
   * new; otherwise the events since the position are fetched with one refresh.
   */
  offer(view: ChatUpdate): void {
    if (this.done || typeof view !== "object" || view === null) return;
    const reached = Number(view.transcriptPosition);
    if (!Number.isSafeInteger(reached) || reached <= this.lastShown) return;
    const events = Array.isArray(view.transcriptToShow) ? view.transcriptToShow : [];
    if (events.length === 1 && reached === this.lastShown + 1) this.apply(view, this.lastShown);
    else this.refreshNow();
  }

  /**
   * While the push channel is up, no polling (the subscription catches up from the position); when it
   * goes down, a refresh at once and polling again. A refresh that failed is still tried again.
   */
  setLive(live: boolean): void {
    if (live === this.live) return;
    this.live = live;
    if (!live) this.refreshNow();
    else if (!this.inFlight && this.failures === 0) clearTimeout(this.timer);
  }

  /** Polls from the current position, first after `seconds`, until the chat ends or `close`. */
  start(seconds = 0): void {
    this.schedule(seconds);
  }

  close(): void {
    this.done = true;
    clearTimeout(this.timer);
  }

  /** Refreshes now (after sending): at most one refresh runs at a time. */
  refreshNow(): void {
    if (this.inFlight) this.again = true;
    else this.schedule(0);
  }

  private schedule(seconds: number): void {
    clearTimeout(this.timer);
    if (!this.done) this.timer = setTimeout(() => void this.poll(), seconds * 1000);
  }

  private async poll(): Promise<void> {
    this.inFlight = true;
    const since = this.lastShown;
    // Polling: the next poll. Pushed: none, unless this answer came too late (events were pushed
    // meanwhile, and what it was for may still be missing) or failed.
    let next: number | undefined = POLL_SECONDS;
    try {
      const view = await this.options.refresh(since);
      this.showProblem("");
      this.failures = 0;
      const applied = this.apply(view, since);
      if (this.live) next = applied ? undefined : 0;
    } catch (error) {
      if (this.done) return;
      if (!(error instanceof ApiError)) throw error;
      if (this.options.isFatal(error)) return this.close();
      // Expired or deleted: nothing more will come.
      if (error.status === 404) return void this.apply({ chatIxnState: "DISCONNECTED", transcriptToShow: [] }, since);
      this.failures += 1;
      next = error.retryAfterSeconds ?? Math.min(MAX_BACKOFF_SECONDS, POLL_SECONDS * 2 ** this.failures);
      this.showProblem(`Connection problem (${error.message}). Retrying in ${next} s…`);
    } finally {
      this.inFlight = false;
    }
    if (this.again) next = 0;
    this.again = false;
    if (next !== undefined) this.schedule(next);
  }

  private showProblem(text: string): void {
    if (this.done) return;
    const { problem } = this.elements;
    if (text !== "" || problem.textContent === this.problem) problem.textContent = text;
    this.problem = text;
  }

  /** `[type, nickname, text, offset seconds, party]`. */
  private show([type, nickname, text, offset, party]: EventTuple): void {
    const mine = party === this.options.self;
    if (!mine) this.otherNickname = nickname;
    const typing = this.elements.typing;
    switch (type) {
      case "Notice.TypingStarted":
        if (!mine) typing.replaceChildren(isolated(nickname), " is typing…");
        return;
      case "Notice.TypingStopped":
        if (!mine) typing.textContent = "";
        return;
      case "Message.Text":
        if (!mine) typing.textContent = "";
        this.entry(mine ? "message mine" : "message theirs", offset, nickname, [text]);
        return;
      case "Notice.Joined":
        this.entry("notice", offset, undefined, mine ? ["You joined the chat"] : [isolated(nickname), " joined the chat"]);
        return;
      case "Notice.Left":
        if (!mine) typing.textContent = "";
        this.entry("notice", offset, undefined, mine ? ["You left the chat"] : [isolated(nickname), " left the chat"]);
        return;
      // What an agent did to the chat, in its words (a transfer: "transferred the chat").
      case "Notice.Custom":
        this.entry("notice", offset, undefined, mine ? ["You ", text] : [isolated(nickname), " ", text]);
        return;
      default:
        return;
    }
  }

  private entry(kind: string, offset: string, nickname: string | undefined, content: readonly (string | Node)[]): void {
    const item = document.createElement("li");
    item.className = kind;
    const time = document.createElement("time");
    const at = new Date(this.startedAt + Number(offset) * 1000);
    if (!Number.isNaN(at.getTime())) {
      time.dateTime = at.toISOString();
      time.textContent = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    }
    if (nickname !== undefined) {
      const who = isolated(nickname);
      who.className = "who";
      item.append(who);
    }
    const body = document.createElement("p");
    body.append(...content);
    item.append(body, time);
    this.elements.transcript.append(item);
    item.scrollIntoView({ block: "end" });
  }
}

interface ChatPanelElements extends ConversationElements {
  readonly composer: HTMLFormElement;
  readonly message: HTMLTextAreaElement;
  readonly send: HTMLButtonElement;
  readonly disconnect: HTMLButtonElement;
}

/** The panel's elements, from the markup both pages include (web/shared/chat-panel.html). */
export function chatPanelElements(): ChatPanelElements {
  return {
    transcript: byId<HTMLOListElement>("transcript"),
    typing: byId("typing"),
    problem: byId("problem"),
    composer: byId<HTMLFormElement>("composer"),
    message: byId<HTMLTextAreaElement>("message"),
    send: byId<HTMLButtonElement>("send"),
    disconnect: byId<HTMLButtonElement>("disconnect"),
  };
}

type ChatOperation = "refresh" | "send" | "startTyping" | "stopTyping" | "disconnect";

/** The URL of an operation on one chat (Chat API v1's, or the agent API's). */
export type ChatUrl = (operation: ChatOperation) => string;

interface ChatPanelOptions extends Pick<ConversationOptions, "self" | "onState"> {
  /** A call that failed, and what it was doing (e.g. "send your message"). */
  readonly onError: (error: unknown, doing: string) => void;
  /** Errors `onError` deals with for good (e.g. a refused API key), which also stop the polling. */
  readonly isFatal?: (error: unknown) => boolean;
  /**
   * The panel's life, when it is shorter than the page's (the agent console's signed-in desk): its
   * abort closes the chat, aborts every request of the panel still under way and removes its listeners.
   */
  readonly signal?: AbortSignal;
}

/** The chat the panel shows. */
interface OpenChat {
  readonly url: ChatUrl;
  readonly conversation: Conversation;
}

/**
 * The chat panel both pages share: transcript, composer and disconnect button, for one chat at a
 * time. Enter sends (Shift+Enter is a new line); typing notices go out as the user types and stop
 * after a pause or with the message; a message that fails comes back into the box.
 */
export class ChatPanel {
  private chat: OpenChat | undefined;
  /** The page's push channel is up: chats are pushed, not polled. */
  private live = false;
  private typing = false;
  private pause: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ui: ChatPanelElements,
    private readonly api: Api,
    private readonly options: ChatPanelOptions,
  ) {
    const { signal } = options;
    const listening: AddEventListenerOptions = signal === undefined ? {} : { signal };
    ui.message.addEventListener(
      "keydown",
      (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          ui.composer.requestSubmit();
        }
      },
      listening,
    );
    ui.message.addEventListener("input", () => this.typed(), listening);
    ui.composer.addEventListener(
      "submit",
      (event) => {
        event.preventDefault();
        void this.send();
      },
      listening,
    );
    ui.disconnect.addEventListener("click", () => void this.disconnect(), listening);
    signal?.addEventListener("abort", () => this.close(), { once: true });
  }

  /**
   * Shows the chat at `url`: from an answer given at position 0 (create, accept), or from the start
   * of its transcript.
   */
  open(url: ChatUrl, answer?: InteractionView): void {
    this.close();
    const { ui } = this;
    ui.transcript.replaceChildren();
    ui.typing.textContent = "";
    ui.problem.textContent = "";
    this.setEnded(false);
    const isFatal = this.options.isFatal ?? (() => false);
    const conversation = new Conversation(ui, {
      self: this.options.self,
      refresh: (position) =>
        this.api.post<InteractionView>(url("refresh"), { transcriptPosition: String(position) }, {}, this.options.signal),
      onState: (state, other) => {
        if (state === "DISCONNECTED") this.end();
        this.options.onState(state, other);
      },
      isFatal: (error) => {
        if (!isFatal(error)) return false;
        this.options.onError(error, "refresh the chat");
        return true;
      },
    });
    this.chat = { url, conversation };
    conversation.setLive(this.live);
    if (answer !== undefined) conversation.apply(answer, 0);
    // An answer already shows the transcript: the first refresh can wait its turn, or never come
    // while the push channel is up.
    if (answer === undefined) conversation.start(0);
    else if (!this.live) conversation.start(POLL_SECONDS);
    ui.message.focus();
  }

  /** The position the chat shown has reached (undefined: no chat): where a subscription resumes. */
  get position(): number | undefined {
    return this.chat?.conversation.position;
  }

  /** The push channel is up (true: no polling) or down (false: polling, from a refresh at once). */
  setLive(live: boolean): void {
    this.live = live;
    this.chat?.conversation.setLive(live);
  }

  /** A pushed update of the chat shown (the `message` of a `/_genesys` frame): see `Conversation.offer`. */
  offer(view: ChatUpdate): void {
    this.chat?.conversation.offer(view);
  }

  /** The push channel says to refresh (`/gms/refresh`): one refresh from the position reached. */
  catchUp(): void {
    this.chat?.conversation.refreshNow();
  }

  /** Stops everything this chat started: polling, a refresh under way, the typing timer. */
  close(): void {
    clearTimeout(this.pause);
    this.typing = false;
    this.chat?.conversation.close();
    this.chat = undefined;
  }

  private end(): void {
    clearTimeout(this.pause);
    this.typing = false;
    this.setEnded(true);
  }

  private setEnded(ended: boolean): void {
    this.ui.message.disabled = ended;
    this.ui.send.disabled = ended;
    this.ui.disconnect.hidden = ended;
    this.ui.composer.hidden = ended;
  }

  private notify(started: boolean): void {
    if (this.chat === undefined) return;
    this.typing = started;
    this.api.post(this.chat.url(started ? "startTyping" : "stopTyping"), {}, {}, this.options.signal).catch(() => undefined);
  }

  private typed(): void {
    clearTimeout(this.pause);
    if (this.ui.message.value.trim() === "") {
      if (this.typing) this.notify(false);
      return;
    }
    if (!this.typing) this.notify(true);
    this.pause = setTimeout(() => this.notify(false), TYPING_PAUSE_MS);
  }

  private async send(): Promise<void> {
    const { chat } = this;
    const { message } = this.ui;
    const text = message.value.trim();
    if (chat === undefined || text === "") return;
    clearTimeout(this.pause);
    // The message itself tells the other side that typing stopped.
    this.typing = false;
    message.value = "";
    try {
      chat.conversation.offer(await this.api.post<InteractionView>(chat.url("send"), { message: text }, {}, this.options.signal));
    } catch (error) {
      // Aborted: the panel is gone (signed out), and so is the chat.
      if (isAborted(error)) return;
      // Nothing is lost: the text comes back for another try.
      if (message.value === "") message.value = text;
      this.options.onError(error, "send your message (it is back in the box: press Enter to try again)");
    }
  }

  private async disconnect(): Promise<void> {
    const { chat } = this;
    if (chat === undefined) return;
    this.ui.disconnect.disabled = true;
    try {
      chat.conversation.offer(await this.api.post<InteractionView>(chat.url("disconnect"), {}, {}, this.options.signal));
    } catch (error) {
      if (!isAborted(error)) this.options.onError(error, "end the chat");
    } finally {
      this.ui.disconnect.disabled = false;
    }
  }
}

/** Typing counts as stopped after this long without a key: long enough for the other side's 2 s polling to notice it. */
const TYPING_PAUSE_MS = 5000;

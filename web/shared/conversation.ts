import { ApiError, byId, type Api, type Json } from "./api.ts";

export type Party = "CLIENT" | "AGENT";
export type ChatIxnState = "CONNECTED" | "TRANSCRIPT" | "DISCONNECTED";

export interface ConversationElements {
  /** `role="log"`: new entries are announced politely. */
  readonly transcript: HTMLOListElement;
  /** Where "… is typing" shows. */
  readonly typing: HTMLElement;
  /** Connection trouble and its retry. */
  readonly problem: HTMLElement;
}

export interface ConversationOptions {
  /** Whose page this is: the other party's events are the ones to notice. */
  readonly self: Party;
  /** Chat API v1 refresh (or the agent API's): the events after `position`. */
  readonly refresh: (position: number) => Promise<Json>;
  /** Every answer's `chatIxnState`, and the other party's nickname once it is known. */
  readonly onState: (state: ChatIxnState, otherNickname: string | undefined) => void;
  readonly pollSeconds?: number;
}

const MAX_BACKOFF_SECONDS = 30;

/**
 * One chat's transcript on a page, kept up to date by polling refresh with `transcriptPosition`, as
 * field clients do. Answers are applied only in order: each one's events follow the position it was
 * asked for, so a late answer can never skip or repeat an event. Polling stops at the end of the chat.
 */
export class Conversation {
  private position = 0;
  private startedAt = 0;
  private otherNickname: string | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight = false;
  private again = false;
  private failures = 0;
  private ended = false;

  constructor(
    private readonly elements: ConversationElements,
    private readonly options: ConversationOptions,
  ) {}

  /** Shows an answer to a request made at `since` (create and accept answer from 0). */
  apply(view: Json, since: number): void {
    if (since !== this.position || this.ended) return;
    if (typeof view.startedAt === "string") this.startedAt = Date.parse(view.startedAt);
    const events = Array.isArray(view.transcriptToShow) ? (view.transcriptToShow as string[][]) : [];
    for (const event of events) this.show(event);
    this.position = since + events.length;
    const state = view.chatIxnState as ChatIxnState;
    if (state === "DISCONNECTED") {
      this.ended = true;
      this.stop();
      this.elements.typing.textContent = "";
    }
    this.options.onState(state, this.otherNickname);
  }

  /** Polls from the current position until the chat ends or `stop` is called. */
  start(): void {
    this.schedule(0);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Refreshes now (after sending): at most one refresh runs at a time. */
  refreshNow(): void {
    if (this.ended) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  private schedule(seconds: number): void {
    this.stop();
    if (!this.ended) this.timer = setTimeout(() => void this.poll(), seconds * 1000);
  }

  private async poll(): Promise<void> {
    this.inFlight = true;
    const since = this.position;
    let wait = this.options.pollSeconds ?? 2;
    try {
      this.apply(await this.options.refresh(since), since);
      this.failures = 0;
      this.elements.problem.textContent = "";
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      // Expired or deleted: nothing more will come.
      if (error.status === 404) {
        this.apply({ chatIxnState: "DISCONNECTED", transcriptToShow: [] }, since);
        return;
      }
      this.failures += 1;
      wait = error.retryAfterSeconds ?? Math.min(MAX_BACKOFF_SECONDS, wait * 2 ** this.failures);
      this.elements.problem.textContent = `Connection problem (${error.message}). Retrying in ${wait} s…`;
    } finally {
      this.inFlight = false;
    }
    this.schedule(this.again ? 0 : wait);
    this.again = false;
  }

  /** `[type, nickname, text, offset seconds, party]`. */
  private show([type = "", nickname = "", text = "", offset = "0", party = ""]: string[]): void {
    const mine = party === this.options.self;
    if (!mine) this.otherNickname = nickname;
    const typing = this.elements.typing;
    switch (type) {
      case "Notice.TypingStarted":
        if (!mine) typing.textContent = `${nickname} is typing…`;
        return;
      case "Notice.TypingStopped":
        if (!mine) typing.textContent = "";
        return;
      case "Message.Text":
        if (!mine) typing.textContent = "";
        this.entry(mine ? "message mine" : "message theirs", offset, nickname, text);
        return;
      case "Notice.Joined":
        this.entry("notice", offset, undefined, mine ? "You joined the chat" : `${nickname} joined the chat`);
        return;
      case "Notice.Left":
        if (!mine) typing.textContent = "";
        this.entry("notice", offset, undefined, mine ? "You left the chat" : `${nickname} left the chat`);
        return;
      default:
        return;
    }
  }

  private entry(kind: string, offset: string, nickname: string | undefined, text: string): void {
    const item = document.createElement("li");
    item.className = kind;
    const time = document.createElement("time");
    const at = new Date(this.startedAt + Number(offset) * 1000);
    if (!Number.isNaN(at.getTime())) {
      time.dateTime = at.toISOString();
      time.textContent = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    }
    if (nickname !== undefined) {
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = nickname;
      item.append(who);
    }
    const body = document.createElement("p");
    body.textContent = text;
    item.append(body, time);
    this.elements.transcript.append(item);
    item.scrollIntoView({ block: "end" });
  }
}

export interface ChatPanelElements extends ConversationElements {
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

export type ChatOperation = "refresh" | "send" | "startTyping" | "stopTyping" | "disconnect";

export interface ChatPanelOptions extends Pick<ConversationOptions, "self" | "onState"> {
  /** The URL of an operation on the chat shown now (Chat API v1's, or the agent API's). */
  readonly url: (operation: ChatOperation) => string;
  /** A call that failed, and what it was doing (e.g. "send your message"). */
  readonly onError: (error: unknown, doing: string) => void;
}

/**
 * The chat panel both pages share: transcript, composer and disconnect button, for one chat at a
 * time. Enter sends (Shift+Enter is a new line); typing notices go out as the user types and stop
 * after a pause or with the message; a message that fails comes back into the box.
 */
export class ChatPanel {
  private conversation: Conversation | undefined;
  private typing = false;
  private pause: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ui: ChatPanelElements,
    private readonly api: Api,
    private readonly options: ChatPanelOptions,
  ) {
    ui.message.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        ui.composer.requestSubmit();
      }
    });
    ui.message.addEventListener("input", () => this.typed());
    ui.composer.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.send();
    });
    ui.disconnect.addEventListener("click", () => void this.disconnect());
  }

  /** Shows a chat: from an answer given at position 0 (create, accept), or from the start of its transcript. */
  open(answer?: Json): void {
    this.close();
    const { ui } = this;
    ui.transcript.replaceChildren();
    ui.typing.textContent = "";
    ui.problem.textContent = "";
    this.setEnded(false);
    this.conversation = new Conversation(ui, {
      self: this.options.self,
      refresh: (position) => this.api.post(this.options.url("refresh"), { transcriptPosition: String(position) }),
      onState: (state, other) => {
        if (state === "DISCONNECTED") this.setEnded(true);
        this.options.onState(state, other);
      },
    });
    if (answer !== undefined) this.conversation.apply(answer, 0);
    this.conversation.start();
    ui.message.focus();
  }

  close(): void {
    clearTimeout(this.pause);
    this.typing = false;
    this.conversation?.stop();
    this.conversation = undefined;
  }

  private setEnded(ended: boolean): void {
    this.ui.message.disabled = ended;
    this.ui.send.disabled = ended;
    this.ui.disconnect.hidden = ended;
    this.ui.composer.hidden = ended;
  }

  private notify(started: boolean): void {
    this.typing = started;
    this.api.post(this.options.url(started ? "startTyping" : "stopTyping")).catch(() => undefined);
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
    const { message } = this.ui;
    const text = message.value.trim();
    if (text === "") return;
    clearTimeout(this.pause);
    // The message itself tells the other side that typing stopped.
    this.typing = false;
    message.value = "";
    try {
      await this.api.post(this.options.url("send"), { message: text });
      this.conversation?.refreshNow();
    } catch (error) {
      // Nothing is lost: the text comes back for another try.
      if (message.value === "") message.value = text;
      this.options.onError(error, "send your message (it is back in the box: press Enter to try again)");
    }
  }

  private async disconnect(): Promise<void> {
    this.ui.disconnect.disabled = true;
    try {
      await this.api.post(this.options.url("disconnect"));
      this.conversation?.refreshNow();
    } catch (error) {
      this.options.onError(error, "end the chat");
    } finally {
      this.ui.disconnect.disabled = false;
    }
  }
}

/** Typing counts as stopped after this long without a key: long enough for the other side's 2 s polling to notice it. */
const TYPING_PAUSE_MS = 5000;

import "../shared/base.css";
import { Api, ApiError, apiBase, byId, failed, store, stored, type Json } from "../shared/api.ts";
import { ChatPanel, chatPanelElements, type ChatIxnState } from "../shared/conversation.ts";

/**
 * The agent console, on the agent API: presence (renewed while the page is open, since it lapses
 * 60 s after the last renewal), the endpoint's queue, accept (losing gracefully to a faster agent),
 * the conversation, disconnect, and the next chat. The API key stays in this tab's session storage.
 */
interface Settings {
  readonly agentId: string;
  readonly nickname: string;
  readonly endpoint: string;
  readonly apiKey: string;
}

interface CurrentChat {
  readonly id: string;
  readonly title: string;
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
  queue: byId<HTMLUListElement>("queue"),
  chatView: byId("chat-view"),
  chatTitle: byId("chat-title"),
  chatStatus: byId("chat-status"),
  next: byId<HTMLButtonElement>("next"),
};

let settings: Settings | undefined = stored<Settings>(SETTINGS_STORE);
let ready = sessionStorage.getItem(READY_STORE) === "true";
let current: CurrentChat | undefined = stored<CurrentChat>(CHAT_STORE);
let renewTimer: ReturnType<typeof setTimeout> | undefined;
let queueTimer: ReturnType<typeof setTimeout> | undefined;
let shownQueue = "";
/** Counts sign-ins: an answer that arrives after a sign-out belongs to an earlier desk and is dropped. */
let desk = 0;

const api = new Api(apiBase(), () => (settings === undefined ? {} : { "x-api-key": settings.apiKey }));

function agentUrl(path: string): string {
  return api.at(`/genesys/1/agent/${encodeURIComponent(settings!.agentId)}${path}`);
}

function chatUrl(operation: string, chatId = current!.id): string {
  return agentUrl(`/chats/${encodeURIComponent(chatId)}/${operation}`);
}

/** The API key was refused (API Gateway's 403): back to the sign-in form, key forgotten. */
function isKeyRefused(error: unknown): boolean {
  return error instanceof ApiError && error.status === 403 && error.exception !== "NotYourChatException";
}

function handle(error: unknown, doing: string): void {
  if (isKeyRefused(error)) {
    signOut("The API key was refused. Check it and sign in again.");
    return;
  }
  ui.deskError.textContent = failed(doing, error);
}

// ---- sign in and out -------------------------------------------------------------------------

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
  settings = { agentId: ui.agentId.value, nickname: ui.nickname.value, endpoint: ui.endpoint.value, apiKey: ui.apiKey.value };
  store(SETTINGS_STORE, settings);
  ui.apiKey.value = "";
  openDesk();
  ui.presence.focus();
});

ui.signout.addEventListener("click", () => {
  if (ready) api.putWhileLeaving(agentUrl("/presence"), presenceFields(false));
  signOut("");
});

function signOut(message: string): void {
  desk += 1;
  clearTimeout(renewTimer);
  clearTimeout(queueTimer);
  panel.close();
  settings = undefined;
  ready = false;
  current = undefined;
  waiting = [];
  shownQueue = "";
  ui.queue.replaceChildren();
  ui.deskError.textContent = "";
  for (const key of [SETTINGS_STORE, READY_STORE, CHAT_STORE]) sessionStorage.removeItem(key);
  ui.desk.hidden = true;
  ui.signin.hidden = false;
  ui.signinError.textContent = message;
  ui.agentId.focus();
}

function openDesk(): void {
  ui.signin.hidden = true;
  ui.desk.hidden = false;
  ui.who.textContent = `${settings!.nickname} (${settings!.agentId}) on ${settings!.endpoint}`;
  showPresence();
  if (ready) void setPresence(true);
  if (current) openChat(current, undefined);
  else showQueue();
}

// ---- presence ---------------------------------------------------------------------------------

function presenceFields(isReady: boolean): Record<string, string> {
  return { endpoint: settings!.endpoint, state: isReady ? "ready" : "not_ready", nickname: settings!.nickname };
}

function showPresence(): void {
  // A toggle button: its name stays "Ready", aria-pressed says whether it is on.
  ui.presence.setAttribute("aria-pressed", String(ready));
  ui.presenceStatus.textContent = ready ? "Ready: customers can reach you and you can accept chats." : "Not ready: you will not be offered chats.";
  ui.presenceStatus.className = ready ? "status ok" : "status busy";
  renderQueue();
}

async function setPresence(isReady: boolean): Promise<void> {
  clearTimeout(renewTimer);
  const at = desk;
  try {
    await api.put(agentUrl("/presence"), presenceFields(isReady));
    if (at !== desk) return;
    ready = isReady;
    ui.deskError.textContent = "";
  } catch (error) {
    if (at !== desk) return;
    handle(error, isReady ? "go ready" : "go not ready");
    if (isKeyRefused(error)) return;
  }
  sessionStorage.setItem(READY_STORE, String(ready));
  showPresence();
  // Renewed while the page is open: an agent who closes the laptop stops counting within 60 s.
  if (ready) renewTimer = setTimeout(() => void setPresence(true), PRESENCE_RENEW_SECONDS * 1000);
}

ui.presence.addEventListener("click", () => void setPresence(!ready));

// Closing the tab makes the agent not ready at once instead of 60 s later.
addEventListener("pagehide", () => {
  if (settings !== undefined && ready) api.putWhileLeaving(agentUrl("/presence"), presenceFields(false));
});
addEventListener("pageshow", (event) => {
  if (event.persisted && settings !== undefined && ready) void setPresence(true);
});

// ---- the queue ----------------------------------------------------------------------------------

let waiting: Json[] = [];

function showQueue(): void {
  ui.chatView.hidden = true;
  ui.queueView.hidden = false;
  void pollQueue();
}

async function pollQueue(): Promise<void> {
  clearTimeout(queueTimer);
  if (settings === undefined || current !== undefined) return;
  const at = desk;
  try {
    const answer = await api.get(agentUrl("/queue"), { endpoint: settings.endpoint });
    if (at !== desk) return;
    waiting = Array.isArray(answer.chats) ? answer.chats : [];
    renderQueue();
  } catch (error) {
    if (at !== desk) return;
    handle(error, "load the queue");
    if (isKeyRefused(error)) return;
  }
  queueTimer = setTimeout(() => void pollQueue(), QUEUE_POLL_SECONDS * 1000);
}

/** Redrawn only when something changed, so a focused Accept button keeps its focus. */
function renderQueue(): void {
  const shape = JSON.stringify([ready, waiting.map((chat) => chat.id)]);
  if (shape === shownQueue) return;
  shownQueue = shape;
  // A status region: written only when it changes, so screen readers do not repeat it every 3 s.
  ui.queueStatus.textContent = waiting.length === 0 ? "No chats are waiting." : `${waiting.length} waiting`;
  ui.queue.replaceChildren(
    ...waiting.map((chat) => {
      const item = document.createElement("li");
      const name = document.createElement("h3");
      name.textContent = String(chat.nickname ?? "Customer");
      const details = document.createElement("p");
      const customer = (chat.customer ?? {}) as Record<string, string>;
      details.textContent = [customer.subject, customer.email, `waiting since ${new Date(String(chat.queuedAt ?? chat.startedAt)).toLocaleTimeString()}`].filter(Boolean).join(" · ");
      const accept = document.createElement("button");
      accept.type = "button";
      accept.textContent = "Accept";
      accept.setAttribute("aria-label", `Accept the chat with ${name.textContent}`);
      accept.disabled = !ready;
      if (!ready) accept.title = "Go ready to accept chats";
      accept.addEventListener("click", () => void acceptChat(chat));
      item.append(name, details, accept);
      return item;
    }),
  );
}

async function acceptChat(chat: Json): Promise<void> {
  // One accept at a time: the queue stays inert until this one is answered.
  ui.queue.inert = true;
  ui.deskError.textContent = "";
  const customer = (chat.customer ?? {}) as Record<string, string>;
  const taking: CurrentChat = { id: String(chat.id), title: [chat.nickname, customer.subject].filter(Boolean).join(" · ") };
  const at = desk;
  try {
    const answer = await api.post(chatUrl("accept", taking.id));
    if (at !== desk) return;
    current = taking;
    store(CHAT_STORE, current);
    openChat(current, answer);
  } catch (error) {
    if (at !== desk) return;
    if (error instanceof ApiError && (error.status === 409 || error.status === 404)) {
      ui.deskError.textContent =
        error.exception === "ChatAlreadyAcceptedException" ? "Another agent accepted that chat first." : `That chat cannot be taken: ${error.message}`;
    } else {
      handle(error, "accept the chat");
    }
    shownQueue = "";
    void pollQueue();
  } finally {
    ui.queue.inert = false;
  }
}

// ---- the conversation ---------------------------------------------------------------------------

const panel = new ChatPanel(ui, api, {
  self: "AGENT",
  url: (operation) => chatUrl(operation),
  onState: (state: ChatIxnState, customer: string | undefined) => {
    if (state === "TRANSCRIPT") ui.chatStatus.textContent = customer ? `In the chat with ${customer}.` : "In the chat.";
    if (state === "DISCONNECTED") {
      ui.chatStatus.textContent = "The chat has ended.";
      ui.next.hidden = false;
      // The composer the focus was in is gone: offer the next step.
      ui.next.focus();
    }
  },
  onError: handle,
  isFatal: isKeyRefused,
});

/** Shows a chat: from the accept answer, or (after a reload) from the start of its transcript. */
function openChat(chat: CurrentChat, acceptAnswer: Json | undefined): void {
  clearTimeout(queueTimer);
  ui.queueView.hidden = true;
  ui.chatView.hidden = false;
  ui.chatTitle.textContent = `Chat with ${chat.title}`;
  ui.next.hidden = true;
  panel.open(acceptAnswer);
}

ui.next.addEventListener("click", () => {
  panel.close();
  current = undefined;
  store(CHAT_STORE, undefined);
  shownQueue = "";
  showQueue();
  ui.presence.focus();
});

if (settings !== undefined) openDesk();
else ui.agentId.focus();

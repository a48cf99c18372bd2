import "../shared/base.css";
import type { ChatIxnState, InteractionView } from "../../lib/chat/view.ts";
import type { OpenSessionView } from "../../lib/session/session.ts";
import { Api, ApiError, apiBase, byId, failed, isolated, store, stored, tabValue } from "../shared/api.ts";
import { ChatPanel, chatPanelElements } from "../shared/conversation.ts";
import { PushChannel } from "../shared/push.ts";

/**
 * The customer chat widget: Chat API v1 exactly as field clients use it. request-chat first (the
 * "Chat with us" button waits while it answers 503, re-checking after its Retry-After), then create
 * with the pre-chat form's fields, the chat's events pushed over the push channel (docs/push.md) and
 * refresh polling with transcriptPosition while it is down, send, typing notices and disconnect.
 * `?service=` picks the GMS service (default request-chat); `?api=` points the widget at the API on
 * another origin, one the stage allows. Where the browser refuses storage (a frame on another site),
 * the widget keeps its session in memory.
 */
const params = new URLSearchParams(location.search);
const service = params.get("service") || "request-chat";
const base = apiBase({ fromQuery: true });
// Web clients send a gms_user header; here it is random per tab, and scopes the Idempotency-Key.
const api = new Api(base, () => ({ gms_user: tabValue("gms-chat:user") }));

/** Re-checks with no Retry-After (network down): 5 s, doubling up to 5 min. */
const FALLBACK_RECHECK_SECONDS = 5;
const MAX_RECHECK_SECONDS = 300;
/** request-chat is retried with the same key (the same session comes back); a new key after a chat. */
const KEY_STORE = "gms-chat:idempotency-key";
const SESSION_STORE = "gms-chat:session";

interface Session {
  readonly chatUrl: string;
  started: boolean;
}

const ui = {
  ...chatPanelElements(),
  startView: byId("start-view"),
  availability: byId("availability"),
  start: byId<HTMLButtonElement>("start"),
  prechat: byId<HTMLFormElement>("prechat"),
  name: byId<HTMLInputElement>("name"),
  email: byId<HTMLInputElement>("email"),
  subject: byId<HTMLInputElement>("subject"),
  prechatError: byId("prechat-error"),
  begin: byId<HTMLButtonElement>("begin"),
  cancel: byId<HTMLButtonElement>("cancel"),
  chatView: byId("chat-view"),
  chatStatus: byId("chat-status"),
  pushStatus: byId("push-status"),
  restart: byId<HTMLButtonElement>("restart"),
};

let session: Session | undefined = stored<Session>(SESSION_STORE);
let recheck: ReturnType<typeof setTimeout> | undefined;
let failures = 0;

/** Forgets the session and its Idempotency-Key, so the next request-chat opens a new one. */
function forgetSession(): void {
  session = undefined;
  store(SESSION_STORE, session);
  store(KEY_STORE, undefined);
}

function show(view: "start" | "prechat" | "chat"): void {
  ui.startView.hidden = view !== "start";
  ui.prechat.hidden = view !== "prechat";
  ui.chatView.hidden = view !== "chat";
}

/** request-chat: 200 opens (or, retried with the same key, returns) the session; 503 waits. */
async function checkAvailability(freshKeyTried = false): Promise<void> {
  clearTimeout(recheck);
  ui.start.disabled = true;
  try {
    const answer = await api.post<OpenSessionView>(
      api.at(`/genesys/1/service/${encodeURIComponent(service)}`),
      { channel: "web-widget" },
      { "Idempotency-Key": tabValue(KEY_STORE) },
    );
    session = { chatUrl: api.resolve(String(answer["_chatIxnAPI-CREATE-URL"])), started: false };
    store(SESSION_STORE, session);
    failures = 0;
    ui.availability.textContent = "An agent is available.";
    ui.availability.className = "status ok";
    ui.start.disabled = false;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    ui.availability.className = "status busy";
    if (error.status === 404) {
      ui.availability.textContent = `Chat is not offered here (no service "${service}").`;
      return;
    }
    if (error.exception === "IdempotencyKeyConflictException" && !freshKeyTried) {
      // The key's session has ended (the chat was closed in another way): start afresh, once.
      forgetSession();
      return checkAvailability(true);
    }
    failures += 1;
    const wait = Math.min(MAX_RECHECK_SECONDS, error.retryAfterSeconds ?? FALLBACK_RECHECK_SECONDS * 2 ** (failures - 1));
    const reason =
      error.exception === "NoAgentAvailableException" ? "All our agents are busy right now." : "Chat is unavailable at the moment.";
    ui.availability.textContent = `${reason} We will check again in ${wait} seconds.`;
    recheck = setTimeout(whenVisible, wait * 1000);
  }
}

/** A hidden tab does not poll: it re-checks once it is looked at again. */
function whenVisible(): void {
  if (document.visibilityState === "visible") void checkAvailability();
  else document.addEventListener("visibilitychange", whenVisible, { once: true });
}

function chatUrl(operation?: string): string {
  if (session === undefined) throw new Error("no session");
  return operation === undefined ? session.chatUrl : `${session.chatUrl}/${operation}`;
}

/** The session id, from the create-URL request-chat handed out (`/genesys/1/service/<id>/ixn/chat`). */
function sessionId(): string {
  const path = new URL(chatUrl()).pathname;
  return decodeURIComponent(/\/service\/([^/]+)\/ixn\/chat$/.exec(path)?.[1] ?? "");
}

/**
 * The push address, from the settings of the API the widget talks to (a plain GET: no preflight
 * even cross-origin): read once, again after a failure.
 */
let pushSettings: Promise<string | undefined> | undefined;
function pushAddress(): Promise<string | undefined> {
  pushSettings ??= new Api(base)
    .get<{ push?: unknown }>(`${base}/chat/config.json`)
    .then((settings) => (typeof settings.push === "string" ? settings.push : undefined))
    .catch((error: unknown) => {
      pushSettings = undefined;
      throw error;
    });
  return pushSettings;
}

const panel = new ChatPanel(ui, api, {
  self: "CLIENT",
  onState: (state: ChatIxnState, agent: string | undefined) => {
    if (state === "CONNECTED") ui.chatStatus.textContent = "Waiting for an agent…";
    if (state === "TRANSCRIPT")
      ui.chatStatus.replaceChildren(...(agent ? ["You are chatting with ", isolated(agent), "."] : ["An agent has joined."]));
    if (state === "DISCONNECTED") {
      push.stop();
      ui.chatStatus.textContent = "The chat has ended.";
      ui.restart.hidden = false;
      // The composer the focus was in is gone: offer the next step.
      ui.restart.focus();
      forgetSession();
    }
  },
  onError: (error, doing) => {
    ui.problem.textContent = failed(doing, error);
  },
});

/** The chat's events, pushed: each applied by its position (see Conversation), the typing notices too. */
const push = new PushChannel({
  url: pushAddress,
  subscription: () => ({ action: "subscribe", chat: sessionId(), transcriptPosition: String(panel.position ?? 0) }),
  onFrame: ({ channel, data }) => {
    const id = session === undefined ? undefined : sessionId();
    if (channel === "/_genesys" && data.tag === `service.chat.refresh.${id}`) panel.offer(data.message as InteractionView);
    else if (channel === "/gms/refresh" && data.id === id) panel.catchUp();
  },
  onLive: (live) => panel.setLive(live),
  notice: ui.pushStatus,
});

function openChat(answer?: InteractionView): void {
  ui.restart.hidden = true;
  show("chat");
  panel.open(chatUrl, answer);
  push.start();
}

ui.start.addEventListener("click", () => {
  show("prechat");
  ui.name.focus();
});

ui.cancel.addEventListener("click", () => {
  show("start");
  ui.start.focus();
});

ui.prechat.addEventListener("submit", (event) => {
  event.preventDefault();
  ui.prechatError.textContent = "";
  for (const input of [ui.name, ui.email]) input.removeAttribute("aria-invalid");
  if (!ui.name.value.trim()) return fieldError(ui.name, "Please enter your name.");
  if (!ui.email.checkValidity()) return fieldError(ui.email, "Please enter a valid email address, or leave it empty.");
  void startChat();
});

function fieldError(input: HTMLInputElement, message: string): void {
  ui.prechatError.textContent = message;
  input.setAttribute("aria-invalid", "true");
  input.focus();
}

/** Chat API v1 create, with the pre-chat form's fields as field clients send them. */
async function startChat(): Promise<void> {
  // The form opens from "Chat with us", which request-chat's session enables.
  const opening = session;
  if (opening === undefined) return;
  const name = ui.name.value.trim().replace(/\s+/g, " ");
  const [firstName = name, ...rest] = name.split(" ");
  const fields: Record<string, string> = { userDisplayName: name, firstName };
  if (rest.length > 0) fields.lastName = rest.join(" ");
  if (ui.email.value.trim()) fields.email = ui.email.value.trim();
  if (ui.subject.value.trim()) fields.subject = ui.subject.value.trim();
  ui.begin.disabled = true;
  try {
    const answer = await api.post<InteractionView>(chatUrl(), fields);
    opening.started = true;
    store(SESSION_STORE, opening);
    openChat(answer);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 404) {
      // The session expired while the form was open: ask for a new one.
      forgetSession();
      show("start");
      void checkAvailability();
      return;
    }
    ui.prechatError.textContent = `The chat could not start: ${error.message}`;
  } finally {
    ui.begin.disabled = false;
  }
}

ui.restart.addEventListener("click", () => {
  panel.close();
  push.stop();
  forgetSession();
  show("start");
  // "Chat with us" is disabled until request-chat answers: keep the focus on what it says.
  ui.availability.focus();
  void checkAvailability();
});

// A reload in the middle of a chat picks it up again from the start of its transcript.
if (session?.started) {
  openChat();
} else {
  show("start");
  void checkAvailability();
}

import "../shared/base.css";
import type { ChatIxnState, InteractionView } from "../../lib/chat/view.ts";
import type { OpenSessionView } from "../../lib/session/session.ts";
import { Api, ApiError, apiBase, byId, failed, isolated, store, stored, tabValue } from "../shared/api.ts";
import { ChatPanel, chatPanelElements } from "../shared/conversation.ts";

/**
 * The customer chat widget: Chat API v1 exactly as field clients use it. request-chat first (the
 * "Chat with us" button waits while it answers 503, re-checking after its Retry-After), then create
 * with the pre-chat form's fields, refresh polling with transcriptPosition, send, typing notices and
 * disconnect. `?service=` picks the GMS service (default request-chat); `?api=` points the widget at
 * the API on another origin, one the stage allows. Where the browser refuses storage (a frame on
 * another site), the widget keeps its session in memory.
 */
const params = new URLSearchParams(location.search);
const service = params.get("service") || "request-chat";
// Web clients send a gms_user header; here it is random per tab, and scopes the Idempotency-Key.
const api = new Api(apiBase({ fromQuery: true }), () => ({ gms_user: tabValue("gms-chat:user") }));

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

const panel = new ChatPanel(ui, api, {
  self: "CLIENT",
  onState: (state: ChatIxnState, agent: string | undefined) => {
    if (state === "CONNECTED") ui.chatStatus.textContent = "Waiting for an agent…";
    if (state === "TRANSCRIPT")
      ui.chatStatus.replaceChildren(...(agent ? ["You are chatting with ", isolated(agent), "."] : ["An agent has joined."]));
    if (state === "DISCONNECTED") {
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

function openChat(answer?: InteractionView): void {
  ui.restart.hidden = true;
  show("chat");
  panel.open(chatUrl, answer);
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

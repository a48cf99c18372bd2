import WebSocket from "ws";
import { type LocalStack, startLocalStack } from "../scripts/local/launch.ts";
import { STACK_ADMIN_KEY } from "../scripts/local/stack.ts";
import { signIn } from "./push.ts";

/**
 * Routing's latency on the local stack (`npm start`'s: serverless-offline, dynalite, local-aws-sqs
 * feeding the router function), for `npm run bench:routing`: real time, over HTTP and the push
 * channel, as an agent's console hears it.
 * - new chat -> offer: from the customer's create answered to the `/gms/offer` frame at the agent;
 * - free slot -> offer: with a chat waiting, from the agent's disconnect answered to the next offer;
 * - expiry -> next offer: an offer left unanswered (offer timeout 5 s), from its `expiresAt` to the
 *   frame offering the chat to the next agent.
 */

// biome-ignore lint/suspicious/noExplicitAny: JSON from the API, read field by field.
type Json = Record<string, any>;

export interface LocalLatency {
  readonly newChatMs: readonly number[];
  readonly freeSlotMs: readonly number[];
  readonly expiryMs: readonly number[];
}

const PASSWORD = "Bench-local-1";
const ENDPOINT = "bench_route_q";

/** A console's push connection: the frames it hears, each with when it arrived. */
class Console {
  private readonly frames: { readonly at: number; readonly frame: Json }[] = [];
  private waiters: (() => void)[] = [];
  private taken = 0;

  private constructor(readonly socket: WebSocket) {
    socket.on("message", (data: Buffer) => {
      this.frames.push({ at: performance.now(), frame: JSON.parse(data.toString("utf8")) as Json });
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async open(stack: LocalStack, agentId: string, token: string): Promise<Console> {
    const socket = new WebSocket(stack.pushUrl);
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    const opened = new Console(socket);
    socket.send(JSON.stringify({ action: "subscribe", agentId, token }));
    await opened.next("/gms/subscribed");
    return opened;
  }

  /** The next frame on `channel` after those taken, and when it arrived. */
  async next(channel: string): Promise<{ readonly at: number; readonly frame: Json }> {
    for (;;) {
      while (this.taken < this.frames.length) {
        const heard = this.frames[this.taken++];
        if (heard?.frame.channel === channel) return heard;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}

export async function measureLocalLatency(samples: number): Promise<LocalLatency> {
  const stack = await startLocalStack({ GMS_DEV_USERS: `ria:${PASSWORD}:agent@${ENDPOINT}/1,tam:${PASSWORD}:agent@${ENDPOINT}/1` });
  const consoles: Console[] = [];
  try {
    const api = async (path: string, method: string, form: Record<string, string>, headers: Record<string, string> = {}) => {
      const answer = await fetch(`${stack.baseUrl}/genesys/1/${path}`, { method, headers, body: new URLSearchParams(form) });
      const text = await answer.text();
      if (!answer.ok) throw new Error(`${method} ${path}: ${answer.status} ${text}`);
      return (text === "" ? {} : JSON.parse(text)) as Json;
    };
    const admin = { "x-api-key": STACK_ADMIN_KEY };
    await api("admin/services/bench-route", "PUT", { _chat_endpoint: ENDPOINT }, admin);
    await api(`admin/endpoints/${ENDPOINT}`, "PUT", { routing: "offer", offerTimeout: "5" }, admin);
    const agents: Record<string, { token: string; console: Console }> = {};
    for (const agentId of ["ria", "tam"]) {
      const token = await signIn(stack, agentId, PASSWORD);
      const heard = await Console.open(stack, agentId, token);
      consoles.push(heard);
      agents[agentId] = { token, console: heard };
    }
    const as = (agentId: string) => ({ authorization: `Bearer ${agents[agentId]?.token}` });
    const presence = (agentId: string, state: string) => api(`agent/${agentId}/presence`, "PUT", { state, nickname: agentId }, as(agentId));
    const onChat = (agentId: string, chatId: string, operation: string) =>
      api(`agent/${agentId}/chats/${encodeURIComponent(chatId)}/${operation}`, "POST", {}, as(agentId));
    const heard = (agentId: string) => agents[agentId]?.console as Console;
    /** A customer's chat, created; resolves when the create was answered. */
    const customer = async () => {
      const opened = await api("service/bench-route", "POST", { firstName: "Bench" });
      await api(`service/${opened._id}/ixn/chat`, "POST", { nickname: "Bench", subject: "Latency" });
      return performance.now();
    };

    const newChatMs: number[] = [];
    const freeSlotMs: number[] = [];
    const expiryMs: number[] = [];
    await presence("ria", "ready");
    for (let i = 0; i < samples; i += 1) {
      // A new chat to the one ready agent, whose slot is free.
      const created = await customer();
      const offer = await heard("ria").next("/gms/offer");
      newChatMs.push(offer.at - created);
      await onChat("ria", offer.frame.data.chatId, "accept");
      // Another chat waits while her slot is taken; the disconnect frees it.
      await customer();
      const begun = performance.now();
      await onChat("ria", offer.frame.data.chatId, "disconnect");
      const next = await heard("ria").next("/gms/offer");
      freeSlotMs.push(next.at - begun);
      await onChat("ria", next.frame.data.chatId, "accept");
      await onChat("ria", next.frame.data.chatId, "disconnect");
    }
    // Misses: ria is offered a chat and lets it time out; tam, ready too, is offered it next.
    for (let i = 0; i < Math.max(3, Math.round(samples / 4)); i += 1) {
      await presence("ria", "ready");
      await customer();
      const missed = await heard("ria").next("/gms/offer");
      await presence("tam", "ready");
      const next = await heard("tam").next("/gms/offer");
      const expiredAt = Date.parse(missed.frame.data.expiresAt as string);
      // performance.now() and the wall clock, tied at the frame's arrival.
      expiryMs.push(Date.now() - (performance.now() - next.at) - expiredAt);
      await onChat("tam", next.frame.data.chatId, "accept");
      await onChat("tam", next.frame.data.chatId, "disconnect");
      await presence("tam", "not_ready");
    }
    return { newChatMs, freeSlotMs, expiryMs };
  } finally {
    for (const open of consoles) open.socket.close();
    await stack.stop();
  }
}

import { describe, expect, it } from "vitest";
import { cometUserDigest, gmsUserOf, wantsComet } from "../../lib/chat/notify.ts";
import { handleBayeux } from "../../lib/comet/bayeux.ts";
import { MAX_MESSAGES, parseMessages } from "../../lib/comet/messages.ts";
import { InvalidInputError } from "../../lib/errors.ts";
import type { CometClient, CometStore } from "../../lib/storage.ts";

/** The Bayeux messages' checks, who gets pushes, and the replies that need no chat. */
const handshake = { channel: "/meta/handshake", version: "1.0", supportedConnectionTypes: ["long-polling"] };

describe("parseMessages", () => {
  it("takes one message or an array, keeping the fields it uses and ignoring the rest", () => {
    expect(parseMessages(handshake)).toEqual([{ channel: "/meta/handshake", supportedConnectionTypes: ["long-polling"] }]);
    expect(
      parseMessages([
        {
          id: "7",
          channel: "/meta/connect",
          clientId: "abc_DEF-123",
          connectionType: "long-polling",
          advice: { timeout: 0, interval: 5 },
          ext: { ack: true },
          custom: [1, 2],
        },
        { id: 8, channel: "/meta/subscribe", subscription: ["/_genesys", "/chat/**"] },
      ]),
    ).toEqual([
      { id: "7", channel: "/meta/connect", clientId: "abc_DEF-123", connectionType: "long-polling", timeoutMs: 0 },
      { id: 8, channel: "/meta/subscribe", subscription: ["/_genesys", "/chat/**"] },
    ]);
  });

  it.each([
    ["a number", 5, 5],
    ["digits", "12", 12],
    ["digits with spaces", " 3 ", 3],
    ["null", null, undefined],
    ["empty", "", undefined],
  ])("reads ext.transcriptPosition given as %s", (_name, position, expected) => {
    expect(parseMessages([{ ...handshake, ext: { transcriptPosition: position } }])[0]?.transcriptPosition).toBe(expected);
  });

  it.each([
    ["no message", []],
    ["too many messages", Array.from({ length: MAX_MESSAGES + 1 }, () => handshake)],
    ["a string", "handshake"],
    ["null", null],
    ["a message that is an array", [[handshake]]],
    ["no channel", [{ id: "1" }]],
    ["a channel that is not one", [{ channel: "meta/handshake" }]],
    ["a channel too long", [{ channel: `/${"a".repeat(200)}` }]],
    ["an id that is an object", [{ ...handshake, id: {} }]],
    ["an id too long", [{ ...handshake, id: "x".repeat(65) }]],
    ["a clientId of another alphabet", [{ ...handshake, clientId: "<script>" }]],
    ["a subscription that is a number", [{ channel: "/meta/subscribe", subscription: 1 }]],
    ["an empty subscription list", [{ channel: "/meta/subscribe", subscription: [] }]],
    ["connection types that are not a list", [{ ...handshake, supportedConnectionTypes: "long-polling" }]],
    ["a negative timeout", [{ channel: "/meta/connect", advice: { timeout: -1 } }]],
    ["a timeout that is a string", [{ channel: "/meta/connect", advice: { timeout: "10" } }]],
    ["advice that is a list", [{ channel: "/meta/connect", advice: [] }]],
    ["a negative position", [{ ...handshake, ext: { transcriptPosition: "-1" } }]],
    ["a position that is a word", [{ ...handshake, ext: { transcriptPosition: "five" } }]],
    ["a fractional position", [{ ...handshake, ext: { transcriptPosition: 1.5 } }]],
    ["ext that is a string", [{ ...handshake, ext: "x" }]],
  ])("refuses %s as invalid input", (_name, body) => {
    expect(() => parseMessages(body)).toThrow(InvalidInputError);
  });
});

describe("who is pushed to", () => {
  it("is a create with notify_by=comet in any case, and a gms_user that is not blank", () => {
    expect(["comet", "COMET", " Comet "].map(wantsComet)).toEqual([true, true, true]);
    expect([undefined, "", "polling", "comets"].map(wantsComet)).toEqual([false, false, false, false]);
    expect([undefined, "", "   ", " anna "].map(gmsUserOf)).toEqual([undefined, undefined, undefined, "anna"]);
  });

  it("keeps the user as a digest: stable, distinct per user, and not the header", () => {
    expect(cometUserDigest("anna")).toBe(cometUserDigest("anna"));
    expect(cometUserDigest("anna")).not.toBe(cometUserDigest("Anna"));
    expect(cometUserDigest("anna")).toMatch(/^[\w-]{43}$/);
    expect(cometUserDigest("anna-and-more")).not.toContain("anna");
  });
});

describe("handleBayeux, without chats", () => {
  /** A store of clients in memory; no mailboxes. */
  function memoryStore() {
    const clients = new Map<string, CometClient>();
    const key = (user: string, clientId: string) => `${user} ${clientId}`;
    const store: CometStore = {
      bump: async () => {},
      mailboxes: async () => [],
      dropMailbox: async () => {},
      putClient: async (client) => {
        clients.set(key(client.user, client.clientId), client);
      },
      getClient: async (user, clientId) => clients.get(key(user, clientId)),
      subscribe: async (user, clientId, subscribed, until) => {
        const client = clients.get(key(user, clientId));
        if (client === undefined || client.expiresAt <= until.now) return false;
        clients.set(key(user, clientId), { ...client, subscribed, expiresAt: until.expiresAt });
        return true;
      },
      record: async () => true,
      deleteClient: async (user, clientId) => {
        clients.delete(key(user, clientId));
      },
      clients: async (user) => [...clients.values()].filter((client) => client.user === user),
    };
    return { store, clients };
  }
  const deps = (store: CometStore) => ({
    comet: store,
    sessions: {} as never,
    now: () => new Date("2026-12-01T10:00:00Z"),
    wait: async () => {},
  });

  it("gives each handshake a new random client of its user, starting at its position, unsubscribed, for ten minutes", async () => {
    const { store, clients } = memoryStore();
    const first = await handleBayeux(deps(store), {
      gmsUser: "anna",
      messages: parseMessages([{ ...handshake, id: "1", ext: { transcriptPosition: "4" } }]),
    });
    const second = await handleBayeux(deps(store), { gmsUser: "anna", messages: parseMessages([handshake]) });
    expect(first).toEqual([
      {
        id: "1",
        channel: "/meta/handshake",
        version: "1.0",
        supportedConnectionTypes: ["long-polling"],
        clientId: expect.stringMatching(/^[0-9a-f]{32}$/),
        successful: true,
        advice: { reconnect: "retry", interval: 0, timeout: 15_000 },
      },
    ]);
    expect(second[0]?.clientId).not.toBe(first[0]?.clientId);
    expect([...clients.values()]).toEqual([
      {
        user: cometUserDigest("anna"),
        clientId: first[0]?.clientId,
        subscribed: false,
        start: 4,
        delivered: {},
        expiresAt: Date.parse("2026-12-01T10:10:00Z") / 1000,
        since: Date.parse("2026-12-01T10:00:00Z"),
      },
      expect.objectContaining({ clientId: second[0]?.clientId, start: 0 }),
    ]);
  });

  it("answers a batch's messages in order, its connect last", async () => {
    const { store } = memoryStore();
    const messages = parseMessages([
      { id: "1", ...handshake },
      { id: "2", channel: "/meta/connect", clientId: "nobody", connectionType: "long-polling" },
      { id: "3", channel: "/meta/subscribe", clientId: "nobody", subscription: "/_genesys" },
    ]);
    const answers = await handleBayeux(deps(store), { gmsUser: "anna", messages });
    expect(answers.map((answer) => [answer.id, answer.successful])).toEqual([
      ["1", true],
      ["3", false],
      ["2", false],
    ]);
  });
});

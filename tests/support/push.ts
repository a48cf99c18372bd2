import WebSocket from "ws";

/** A frame the push channel sent (docs/push.md). */
// biome-ignore lint/suspicious/noExplicitAny: test-side JSON is checked by assertions, not by types.
export type Frame = { channel: string; data: Record<string, any> };

/**
 * A plain WebSocket client of the push channel, as a client author would write one: it keeps every
 * frame, and `next` awaits the first frame (not yet taken) that matches, however long it takes to
 * come (the test's timeout bounds it).
 */
export class PushClient {
  readonly frames: Frame[] = [];
  /** What the client sent, parsed when it was JSON. */
  readonly sent: unknown[] = [];
  /** The raw size in bytes of each frame, in order. */
  readonly sizes: number[] = [];
  private taken = 0;
  private waiters: (() => void)[] = [];
  readonly closed: Promise<number>;

  private constructor(readonly socket: WebSocket) {
    socket.on("message", (data: Buffer) => {
      this.sizes.push(data.length);
      this.frames.push(JSON.parse(data.toString("utf8")) as Frame);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => socket.once("close", (code: number) => resolve(code)));
  }

  static async open(url: string): Promise<PushClient> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    return new PushClient(socket);
  }

  send(message: object | string): void {
    this.sent.push(message);
    this.socket.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** The next frame after those already taken that `matches`; frames it passes over stay for later calls only if they come after it. */
  async next(matches: (frame: Frame) => boolean = () => true): Promise<Frame> {
    for (;;) {
      while (this.taken < this.frames.length) {
        const frame = this.frames[this.taken] as Frame;
        this.taken += 1;
        if (matches(frame)) return frame;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** The next `/_genesys` frame of a chat: by its session id as its customer hears it, by its chat id as its agent does. */
  chat(id: string): Promise<Frame> {
    return this.next((frame) => frame.channel === "/_genesys" && frame.data.tag === `service.chat.refresh.${id}`);
  }

  async close(): Promise<void> {
    this.socket.close();
    await this.closed;
  }
}

// The live signals over SSE, read with fetch so the key travels in the Authorization header
// only. Reconnects by itself with a bounded backoff and resumes after the last cursor it saw:
// the service replays the stored revisions after it, then live ones (no gap, no repeat).

import { ApiError, authHeaders, keys, problemOf } from "./api";
import type { Reaction } from "./types";

export type StreamState = "connecting" | "catching up" | "live" | "disconnected" | "refused";

export type StreamEvents = {
  onSignal(signal: Reaction): void;
  onState(state: StreamState, detail: string): void;
};

const QUIET_MS = 400; // no backlog left once the replay goes quiet this long
const BACKOFF_MS = [250, 500, 1000, 2000, 4000];

export class SignalStream {
  cursor: number;
  private controller: AbortController | null = null;
  private stopped = true;
  private failures = 0;

  constructor(
    private readonly events: StreamEvents,
    cursor = 0,
  ) {
    this.cursor = cursor;
  }

  start(): void {
    this.stopped = false;
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
  }

  /** Drop the connection and reconnect at once (new keys). */
  restart(): void {
    this.controller?.abort();
    this.failures = 0;
    if (this.stopped) this.start();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      this.events.onState("connecting", `from cursor ${this.cursor}`);
      this.controller = new AbortController();
      try {
        await this.read(this.controller.signal);
        this.events.onState("disconnected", "the service closed the stream");
      } catch (error) {
        if (error instanceof ApiError && error.unauthorized) {
          this.events.onState("refused", error.message);
          this.stopped = true;
          return;
        }
        if (!this.stopped) this.events.onState("disconnected", String(error));
      }
      if (this.stopped) return;
      const wait = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)];
      this.failures += 1;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  private async read(signal: AbortSignal): Promise<void> {
    const response = await fetch(`/v1/signals/stream?cursor=${this.cursor}`, {
      headers: { Accept: "text/event-stream", ...authHeaders(keys.read()) },
      signal,
      cache: "no-store",
    });
    if (!response.ok || !response.body) throw new ApiError(await problemOf(response));
    this.failures = 0;
    this.events.onState("catching up", `replaying after cursor ${this.cursor}`);
    let quiet = setTimeout(() => this.events.onState("live", ""), QUIET_MS);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf("\n\n");
        if (this.dispatch(block)) {
          clearTimeout(quiet);
          quiet = setTimeout(() => this.events.onState("live", ""), QUIET_MS);
        }
      }
    }
  }

  /** One SSE block; true when it carried a signal. */
  private dispatch(block: string): boolean {
    let event = "message";
    const data: string[] = [];
    for (const line of block.replaceAll("\r", "").split("\n")) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (event === "dropped") {
      this.events.onState("disconnected", `dropped by the service: ${data.join("")}`);
      return false;
    }
    if (!data.length) return false;
    const payload = JSON.parse(data.join("\n")) as Reaction & { heartbeat?: boolean };
    if (payload.heartbeat) return false;
    if (payload.cursor > this.cursor) this.cursor = payload.cursor;
    this.events.onSignal(payload);
    return true;
  }
}

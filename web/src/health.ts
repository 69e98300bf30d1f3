// The health strip: feed staleness per instrument while its market is open, consumer lag and
// the stream's state. Reads /metrics and /readyz (open, no key) every few seconds.

import { el } from "./format";
import type { StreamState } from "./stream";

const POLL_MS = 5000;
const STALE_S = 120;

type Sample = { labels: Record<string, string>; value: number };

export function parseMetrics(text: string): Map<string, Sample[]> {
  const out = new Map<string, Sample[]>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    const samples = out.get(match[1]) ?? [];
    samples.push({ labels, value: Number(match[3]) });
    out.set(match[1], samples);
  }
  return out;
}

export class HealthStrip {
  private stream: HTMLElement = el("span", { class: "pill", "data-stream": "connecting" }, "stream: connecting");
  private feeds = el("span", { class: "feeds" });
  private lag = el("span", { class: "lag" });

  constructor(private readonly root: HTMLElement) {
    root.replaceChildren(this.stream, this.feeds, this.lag);
  }

  start(): void {
    void this.poll();
    window.setInterval(() => void this.poll(), POLL_MS);
  }

  setStream(state: StreamState, detail: string): void {
    this.stream.dataset.stream = state;
    this.stream.textContent = `stream: ${state}`;
    this.stream.title = detail;
  }

  private async poll(): Promise<void> {
    try {
      const response = await fetch("/metrics", { cache: "no-store" });
      this.render(parseMetrics(await response.text()));
    } catch {
      this.feeds.replaceChildren(el("span", { class: "pill bad" }, "metrics unreachable"));
      this.lag.replaceChildren();
    }
  }

  private render(metrics: Map<string, Sample[]>): void {
    const open = new Map((metrics.get("mr_market_open") ?? []).map((s) => [s.labels.instrument, s.value === 1]));
    const pills = (metrics.get("mr_price_staleness_seconds") ?? []).map((s) => {
      const instrument = s.labels.instrument;
      const isOpen = open.get(instrument) ?? false;
      const stale = isOpen && s.value > STALE_S;
      const text = isOpen ? `${instrument} ${Math.round(s.value)}s` : `${instrument} closed`;
      return el("span", { class: `pill ${stale ? "bad" : isOpen ? "ok" : "idle"}`, "data-instrument": instrument, title: `last price ${Math.round(s.value)}s ago` }, text);
    });
    this.feeds.replaceChildren(...pills);
    const lags = metrics.get("mr_consumer_lag_messages") ?? [];
    const total = lags.reduce((sum, s) => sum + (Number.isFinite(s.value) ? s.value : 0), 0);
    this.lag.replaceChildren(el("span", { class: `pill ${total > 1000 ? "bad" : "ok"}`, title: lags.map((s) => `${Object.values(s.labels).join(" ")}: ${s.value}`).join("\n") }, `consumer lag ${total}`));
  }
}

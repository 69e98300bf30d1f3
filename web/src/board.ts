// The live board: announcements newest first, under each a tile per instrument and horizon.
// Signals only mark tiles dirty; the DOM is touched once per animation frame, so a burst of
// thousands of revisions a second costs one layout per frame.

import { el, num, pct, time, timeElement, utc } from "./format";
import { HORIZONS, type Announcement, type Reaction, reactionKey } from "./types";

const FLASH_MS = 700;

export type Filters = { instrument: string; horizon: string; minAbsZ: number; significantOnly: boolean };


export class Board {
  readonly root = el("div", { class: "board" });
  private readonly list = el("div", { class: "announcements" });
  private readonly announcements = new Map<string, Announcement>();
  private readonly cards = new Map<string, HTMLElement>();
  private readonly reactions = new Map<string, Reaction>();
  private readonly tiles = new Map<string, HTMLElement>();
  private readonly dirty = new Set<string>();
  private readonly newCards = new Set<string>();
  private frame = 0;
  /** Tiles lit by a change, oldest first, with when each goes dark again. */
  private flashing: [number, HTMLElement][] = [];
  private readonly litUntil = new Map<HTMLElement, number>();
  private dimmer = 0;
  private filters: Filters = { instrument: "", horizon: "", minAbsZ: 0, significantOnly: false };
  /** Called after each frame's DOM update with the keys it drew (the benchmark reads it). */
  onPainted: (keys: string[]) => void = () => {};
  /** Asked for an announcement the board has not seen yet. */
  fetchAnnouncement: (id: string) => void = () => {};

  constructor() {
    this.root.append(this.filterBar(), this.list);
  }

  get size(): number {
    return this.reactions.size;
  }

  addAnnouncements(items: Announcement[]): void {
    for (const a of items) {
      if (this.announcements.has(a.id)) continue;
      this.announcements.set(a.id, a);
      this.newCards.add(a.id);
    }
    this.schedule();
  }

  /** A revision from the stream; an older revision than the one shown is ignored. */
  accept(signal: Reaction): void {
    const key = reactionKey(signal);
    const shown = this.reactions.get(key);
    if (shown && shown.cursor >= signal.cursor) return;
    this.reactions.set(key, signal);
    this.dirty.add(key);
    if (!this.announcements.has(signal.announcement_id)) this.fetchAnnouncement(signal.announcement_id);
    this.schedule();
  }

  latest(): Reaction[] {
    return [...this.reactions.values()];
  }

  private schedule(): void {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.paint());
  }

  private paint(): void {
    this.frame = 0;
    for (const id of this.newCards) this.placeCard(id);
    this.newCards.clear();
    const painted: string[] = [];
    for (const key of this.dirty) {
      const reaction = this.reactions.get(key);
      if (!reaction || !this.cards.has(reaction.announcement_id)) continue;
      this.drawTile(reaction);
      painted.push(key);
    }
    for (const key of painted) this.dirty.delete(key);
    this.dim();
    if (painted.length) this.onPainted(painted);
  }

  /** A flash is on, then off: two repaints per change, not an animation's every frame. */
  private dim(): void {
    const now = performance.now();
    let done = 0;
    while (done < this.flashing.length && this.flashing[done][0] <= now) {
      const tile = this.flashing[done][1];
      if (this.litUntil.get(tile)! <= now) {
        tile.classList.remove("changed");
        this.litUntil.delete(tile);
      }
      done++;
    }
    this.flashing.splice(0, done);
    if (this.flashing.length && !this.dimmer) {
      const wait = Math.max(0, this.flashing[0][0] - now);
      this.dimmer = window.setTimeout(() => {
        this.dimmer = 0;
        this.schedule();
      }, wait);
    }
  }

  private placeCard(id: string): void {
    const a = this.announcements.get(id);
    if (!a || this.cards.has(id)) return;
    const rate =
      a.tariff_rate_pct === null ? "" : ` · ${a.previous_rate_pct ?? 0}% → ${a.tariff_rate_pct}%`;
    const card = el(
      "article",
      { class: "announcement", "data-id": a.id, "data-published": a.published_at },
      el(
        "header",
        {},
        el("span", { class: `action action-${a.action}` }, a.action),
        el("h2", {}, a.headline),
        el(
          "p",
          { class: "meta" },
          timeElement(a.published_at, "KOSPI"),
          ` · ${a.targets.join(", ")} · ${a.sectors.join(", ")}${rate} · ${a.source ?? "source unknown"} · ${a.id}`,
        ),
      ),
      el("div", { class: "tiles" }),
    );
    // newest first: before the first card published earlier than this one
    const later = [...this.list.children].find(
      (c) => (c as HTMLElement).dataset.published! < a.published_at,
    );
    this.list.insertBefore(card, later ?? null);
    this.cards.set(id, card);
    for (const [key, r] of this.reactions) if (r.announcement_id === id) this.dirty.add(key);
  }

  private drawTile(r: Reaction): void {
    const key = reactionKey(r);
    let tile = this.tiles.get(key);
    if (!tile) {
      tile = newTile(key, r.horizon);
      this.tiles.set(key, tile);
      this.rowOf(r).append(tile);
    }
    const state = r.corrected ? "corrected" : r.final ? "final" : "provisional";
    tile.dataset.state = state;
    tile.dataset.cursor = String(r.cursor);
    tile.dataset.direction = r.direction ?? "flat";
    tile.classList.toggle("significant", r.significant === true);
    const set = (field: string, text: string) => {
      const node = tile!.querySelector<HTMLElement>(`[data-field="${field}"]`)!;
      if (node.textContent !== text) node.textContent = text;
    };
    set("state", `${state} r${r.revision}`);
    set("return", pct(r.return_pct));
    set("peak", pct(peakOf(r)));
    set("rise", pct(r.max_rise_pct));
    set("fall", pct(r.max_fall_pct));
    set("z", num(r.z_score));
    set("abnormal", pct(r.abnormal_return_pct));
    set("last", `last ${time(r.last_at, r.instrument)}`);
    tile.querySelector<HTMLElement>(".tile-foot")!.title = utc(r.last_at);
    const confounders = tile.querySelector<HTMLElement>('[data-field="confounders"]')!;
    const n = r.confounders.length;
    set("confounders", n ? ` ⚠ ${n} confounder${n > 1 ? "s" : ""}` : "");
    confounders.title = r.confounders.join(", ");
    const hidden = !this.passes(r);
    if (tile.hidden !== hidden) tile.hidden = hidden;
    if (!hidden) this.showAncestors(tile);
    const until = performance.now() + FLASH_MS;
    tile.classList.add("changed");
    this.litUntil.set(tile, until);
    this.flashing.push([until, tile]);
  }

  private showAncestors(tile: HTMLElement): void {
    const row = tile.parentElement!;
    const card = row.closest<HTMLElement>(".announcement")!;
    if (row.hidden) row.hidden = false;
    if (card.hidden) card.hidden = false;
  }

  /** One row per instrument under its announcement, a column per horizon. */
  private rowOf(r: Reaction): HTMLElement {
    const tiles = this.cards.get(r.announcement_id)!.querySelector(".tiles")!;
    const rows = [...tiles.children] as HTMLElement[];
    const existing = rows.find((row) => row.dataset.instrument === r.instrument);
    if (existing) return existing;
    const row = el("div", { class: "instrument-row", "data-instrument": r.instrument }, el("div", { class: "instrument" }, r.instrument));
    tiles.insertBefore(row, rows.find((other) => other.dataset.instrument! > r.instrument) ?? null);
    return row;
  }

  private passes(r: Reaction): boolean {
    const f = this.filters;
    if (f.instrument && r.instrument !== f.instrument) return false;
    if (f.horizon && r.horizon !== f.horizon) return false;
    if (f.minAbsZ > 0 && (r.z_score === null || Math.abs(r.z_score) < f.minAbsZ)) return false;
    return !(f.significantOnly && r.significant !== true);
  }

  private refilter(): void {
    for (const [key, tile] of this.tiles) tile.hidden = !this.passes(this.reactions.get(key)!);
    for (const row of this.list.querySelectorAll<HTMLElement>(".instrument-row")) {
      row.hidden = ![...row.querySelectorAll<HTMLElement>(".tile")].some((t) => !t.hidden);
    }
    for (const card of this.cards.values()) {
      card.hidden = ![...card.querySelectorAll<HTMLElement>(".tile")].some((t) => !t.hidden);
    }
  }

  private filterBar(): HTMLElement {
    const instrument = el("input", { name: "instrument", placeholder: "all", size: "9" });
    const horizon = el("select", { name: "horizon" }, el("option", { value: "" }, "all"), ...HORIZONS.map((h) => el("option", { value: h }, h)));
    const minZ = el("input", { name: "min_abs_z", type: "number", min: "0", step: "0.5", value: "0", size: "4" });
    const significant = el("input", { name: "significant", type: "checkbox" });
    const form = el(
      "form",
      { class: "filters" },
      el("label", {}, "Instrument ", instrument),
      el("label", {}, "Horizon ", horizon),
      el("label", {}, "min |z| ", minZ),
      el("label", {}, significant, " significant only"),
    );
    form.addEventListener("input", () => {
      this.filters = {
        instrument: instrument.value.trim().toUpperCase(),
        horizon: horizon.value,
        minAbsZ: Number(minZ.value) || 0,
        significantOnly: significant.checked,
      };
      this.refilter();
    });
    form.addEventListener("submit", (e) => e.preventDefault());
    return form;
  }
}

function newTile(key: string, horizon: string): HTMLElement {
  const field = (name: string) => el("dd", { "data-field": name });
  const tile = el(
    "a",
    { class: "tile", "data-key": key, href: `#/reaction/${encodeURIComponent(key)}` },
    el("div", { class: "tile-head" }, el("b", {}, horizon), el("span", { class: "state", "data-field": "state" })),
    el("div", { class: "ret", "data-field": "return" }),
    el(
      "dl",
      {},
      el("dt", {}, "peak"), field("peak"),
      el("dt", {}, "rise"), field("rise"),
      el("dt", {}, "fall"), field("fall"),
      el("dt", {}, "z"), field("z"),
      el("dt", {}, "abn"), field("abnormal"),
    ),
    el("div", { class: "tile-foot" }, el("span", { "data-field": "last" }), el("span", { class: "confounded", "data-field": "confounders" })),
  );
  tile.style.gridColumn = String(HORIZONS.indexOf(horizon) + 2);
  return tile;
}

export function peakOf(r: Reaction): number | null {
  if (r.max_rise_pct === null || r.max_fall_pct === null) return r.max_rise_pct ?? r.max_fall_pct;
  return Math.abs(r.max_rise_pct) >= Math.abs(r.max_fall_pct) ? r.max_rise_pct : r.max_fall_pct;
}

// The live board: announcements newest first, under each a tile per instrument and horizon.
// Signals only mark tiles dirty; the DOM is touched once per animation frame, so a burst of
// thousands of revisions a second costs one layout per frame.

import { el, num, pct, time, timeElement, utc } from "./format";
import { HORIZONS, type Announcement, type Reaction, reactionKey } from "./types";

export type Filters = { instrument: string; horizon: string; minAbsZ: number; significantOnly: boolean };

const FLASH_MS = 900;

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
    if (painted.length) this.onPainted(painted);
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
      tile = el("a", { class: "tile", "data-key": key, href: `#/reaction/${encodeURIComponent(key)}` });
      tile.style.gridColumn = String(HORIZONS.indexOf(r.horizon) + 2);
      this.tiles.set(key, tile);
      this.rowOf(r).append(tile);
    }
    const state = r.corrected ? "corrected" : r.final ? "final" : "provisional";
    tile.dataset.state = state;
    tile.dataset.cursor = String(r.cursor);
    tile.dataset.direction = r.direction ?? "flat";
    tile.classList.toggle("significant", r.significant === true);
    tile.replaceChildren(
      el("div", { class: "tile-head" }, el("b", {}, r.horizon), el("span", { class: `state state-${state}` }, `${state} r${r.revision}`)),
      el("div", { class: "ret", "data-field": "return" }, pct(r.return_pct)),
      el(
        "dl",
        {},
        el("dt", {}, "peak"), el("dd", { "data-field": "peak" }, pct(peakOf(r))),
        el("dt", {}, "rise"), el("dd", {}, pct(r.max_rise_pct)),
        el("dt", {}, "fall"), el("dd", {}, pct(r.max_fall_pct)),
        el("dt", {}, "z"), el("dd", { "data-field": "z" }, num(r.z_score)),
        el("dt", {}, "abn"), el("dd", {}, pct(r.abnormal_return_pct)),
      ),
      el(
        "div",
        { class: "tile-foot", title: utc(r.last_at) },
        `last ${time(r.last_at, r.instrument)}`,
        r.confounders.length ? el("span", { class: "confounded", title: r.confounders.join(", ") }, ` ⚠ ${r.confounders.length} confounder${r.confounders.length > 1 ? "s" : ""}`) : "",
      ),
    );
    tile.hidden = !this.passes(r);
    if (!tile.hidden) this.cards.get(r.announcement_id)!.hidden = false;
    tile.classList.remove("flash");
    void tile.offsetWidth; // restart the animation
    tile.classList.add("flash");
    window.setTimeout(() => tile!.classList.remove("flash"), FLASH_MS);
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

export function peakOf(r: Reaction): number | null {
  if (r.max_rise_pct === null || r.max_fall_pct === null) return r.max_rise_pct ?? r.max_fall_pct;
  return Math.abs(r.max_rise_pct) >= Math.abs(r.max_fall_pct) ? r.max_rise_pct : r.max_fall_pct;
}

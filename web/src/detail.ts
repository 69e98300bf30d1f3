// One reaction: the price path around the anchor (lightweight-charts) with the base line, the
// anchor, each horizon's end and the peak marked; its revisions; its z against the band.

import {
  ColorType,
  createChart,
  createSeriesMarkers,
  LineSeries,
  LineStyle,
  type AutoscaleInfo,
  type IChartApi,
  type SeriesMarker,
  type UTCTimestamp,
} from "lightweight-charts";
import { getJson } from "./api";
import { peakOf } from "./board";
import { el, num, pct, time, timeElement, utc, zoneOf } from "./format";
import type { PriceBar, Reaction } from "./types";

const Z_LIMIT = 1.96;
const SCALE = 4; // the z bar spans −4…+4
const LEAD_BARS = 12;

/** The chart on screen: removed (with its observers) before another is drawn. */
let shown: IChartApi | null = null;

export function disposeDetail(): void {
  shown?.remove();
  shown = null;
}

type Revisions = { revisions: Reaction[] };
type Bars = { bars: PriceBar[] };
type Detail = { reactions: Reaction[] };

const seconds = (iso: string): number => Math.floor(Date.parse(iso) / 1000);

function intervalFor(spanS: number): { interval: string; step: number } {
  if (spanS > 3 * 86_400) return { interval: "1h", step: 3600 };
  if (spanS > 26 * 3600) return { interval: "5m", step: 300 };
  return { interval: "1m", step: 60 };
}

export async function renderDetail(root: HTMLElement, key: string): Promise<void> {
  const [announcementId, instrument, horizon] = key.split("|");
  const path = [announcementId, instrument, horizon].map(encodeURIComponent).join("/");
  const [{ revisions }, announcement] = await Promise.all([
    getJson<Revisions>(`/v1/reactions/${path}/revisions`),
    getJson<Detail>(`/v1/announcements/${encodeURIComponent(announcementId)}`),
  ]);
  const r = revisions[revisions.length - 1];
  // from the base to this horizon's end; the other horizons that end inside are marked too
  const start = seconds(r.base_at ?? r.anchor_at) - 1800;
  const stop = seconds(r.last_at ?? r.anchor_at) + 1800;
  const ends = announcement.reactions.filter(
    (x) => x.instrument === instrument && x.last_at && seconds(x.last_at) <= stop,
  );
  const { interval, step } = intervalFor(stop - start);
  const { bars } = await getJson<Bars>(`/v1/prices/${encodeURIComponent(instrument)}`, {
    from: new Date(start * 1000).toISOString(),
    to: new Date(stop * 1000).toISOString(),
    interval,
  });

  const chartBox = el("div", { class: "chart", "data-points": String(bars.length) });
  root.replaceChildren(
    el("p", {}, el("a", { href: "#/board" }, "← board")),
    el(
      "h2",
      {},
      `${instrument} · ${horizon} · `,
      el("span", { class: `ret dir-${r.direction ?? "flat"}` }, pct(r.return_pct)),
      ` (peak ${pct(peakOf(r))}) · ${r.corrected ? "corrected" : r.final ? "final" : "provisional"} r${r.revision}`,
    ),
    el("p", { class: "meta" }, `${announcementId} · anchor `, timeElement(r.anchor_at, instrument), " · base ", `${r.base_price ?? "–"} at `, timeElement(r.base_at, instrument), ` · ${r.data_granularity}`),
    chartBox,
    zBand(r),
    revisionTable(revisions),
  );
  const marks = drawChart(chartBox, bars, r, ends, step);
  chartBox.dataset.marks = marks.join(",");
}

function drawChart(box: HTMLElement, bars: PriceBar[], r: Reaction, ends: Reaction[], step: number): string[] {
  const zone = zoneOf(r.instrument);
  const clock = new Intl.DateTimeFormat("en-GB", { timeZone: zone.tz, hour: "2-digit", minute: "2-digit", day: "2-digit", month: "short" });
  disposeDetail();
  const chart = createChart(box, {
    height: 360,
    autoSize: true,
    layout: { background: { type: ColorType.Solid, color: "#10151c" }, textColor: "#c7d0db" },
    grid: { vertLines: { color: "#1c2530" }, horzLines: { color: "#1c2530" } },
    timeScale: { timeVisible: true, rightOffset: 12, tickMarkFormatter: (t: number) => clock.format(t * 1000) },
    localization: { timeFormatter: (t: number) => `${clock.format(t * 1000)} ${zone.name}` },
  });
  const base = r.base_price;
  const series = chart.addSeries(LineSeries, {
    color: "#5fb3ff",
    lineWidth: 2,
    // keep the base line in view: the move is read against it
    autoscaleInfoProvider: (original: () => AutoscaleInfo | null) => {
      const info = original();
      if (info?.priceRange && base !== null) {
        info.priceRange.minValue = Math.min(info.priceRange.minValue, base);
        info.priceRange.maxValue = Math.max(info.priceRange.maxValue, base);
      }
      return info;
    },
  });
  // a little room before the first bar, so the anchor's mark is not cut at the edge
  const first = bars.length ? seconds(bars[0].ts) : seconds(r.anchor_at);
  const lead = Array.from({ length: LEAD_BARS }, (_, i) => ({ time: (first - (LEAD_BARS - i) * step) as UTCTimestamp }));
  series.setData([...lead, ...bars.map((b) => ({ time: seconds(b.ts) as UTCTimestamp, value: b.close }))]);
  const marks: string[] = [];
  if (r.base_price !== null) {
    series.createPriceLine({ price: r.base_price, color: "#8a96a3", lineStyle: LineStyle.Dashed, title: "base" });
    marks.push("base");
  }
  const at = (iso: string) => (Math.floor(seconds(iso) / step) * step) as UTCTimestamp;
  const markers: SeriesMarker<UTCTimestamp>[] = [
    { time: at(r.anchor_at), position: "belowBar", shape: "arrowUp", color: "#f5c542", text: "anchor" },
  ];
  marks.push("anchor");
  for (const end of ends) {
    markers.push({ time: at(end.last_at!), position: "aboveBar", shape: "square", color: "#8a96a3", text: end.horizon });
    marks.push(`end:${end.horizon}`);
  }
  if (r.peak_at) {
    markers.push({ time: at(r.peak_at), position: "aboveBar", shape: "circle", color: "#3ddc84", text: `peak ${pct(peakOf(r))}` });
    marks.push("peak");
  }
  markers.sort((a, b) => a.time - b.time);
  createSeriesMarkers(series, markers);
  chart.timeScale().fitContent();
  shown = chart;
  return marks;
}

function zBand(r: Reaction): HTMLElement {
  const box = el("div", { class: "zband", "data-z": String(r.z_score ?? "") });
  const position = (z: number) => `${((Math.max(-SCALE, Math.min(SCALE, z)) + SCALE) / (2 * SCALE)) * 100}%`;
  const band = el("div", { class: "band" });
  band.style.left = position(-Z_LIMIT);
  band.style.right = `calc(100% - ${position(Z_LIMIT)})`;
  const track = el("div", { class: "track" }, band);
  if (r.z_score !== null) {
    const dot = el("div", { class: `dot${Math.abs(r.z_score) >= Z_LIMIT ? " out" : ""}`, title: `z ${num(r.z_score)}` });
    dot.style.left = position(r.z_score);
    track.append(dot);
  }
  box.append(
    el("h3", {}, `z ${num(r.z_score)} against its baseline`),
    track,
    el("p", { class: "meta" }, `band ±${Z_LIMIT} · baseline mean ${pct(r.baseline_mean_pct)}, s.d. ${pct(r.baseline_std_pct)} per session · abnormal ${pct(r.abnormal_return_pct)}`),
  );
  return box;
}

function revisionTable(revisions: Reaction[]): HTMLElement {
  const head = ["rev", "state", "emitted", "last", "return", "rise", "fall", "z"];
  const rows = [...revisions].reverse().map((r) =>
    el(
      "tr",
      {},
      el("td", {}, String(r.revision)),
      el("td", {}, r.corrected ? "corrected" : r.final ? "final" : "provisional"),
      el("td", { title: utc(r.emitted_at) }, time(r.emitted_at, r.instrument)),
      el("td", { title: utc(r.last_at) }, `${r.last_price ?? "–"} · ${time(r.last_at, r.instrument)}`),
      el("td", {}, pct(r.return_pct)),
      el("td", {}, pct(r.max_rise_pct)),
      el("td", {}, pct(r.max_fall_pct)),
      el("td", {}, num(r.z_score)),
    ),
  );
  return el(
    "section",
    { class: "revisions" },
    el("h3", {}, `${revisions.length} revision${revisions.length > 1 ? "s" : ""}`),
    el("table", {}, el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))), el("tbody", {}, ...rows)),
  );
}

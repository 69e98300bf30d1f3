// How a trader reads numbers and times: signed percentages with two decimals and the unit;
// times in the exchange's zone with the zone named, UTC on hover.

const ZONES: Record<string, { tz: string; name: string }> = {
  KR: { tz: "Asia/Seoul", name: "KST" },
};
const INSTRUMENT_COUNTRY: Record<string, string> = {
  KOSPI: "KR",
  KOSDAQ: "KR",
  USDKRW: "KR",
};

export function zoneOf(instrument: string | null): { tz: string; name: string } {
  const country = instrument?.endsWith(".KS") ? "KR" : INSTRUMENT_COUNTRY[instrument ?? ""];
  return ZONES[country ?? ""] ?? { tz: "UTC", name: "UTC" };
}

export function pct(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  const sign = value > 0 ? "+" : value < 0 ? "-" : "";
  return `${sign}${Math.abs(value).toFixed(2)}%`;
}

export function num(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined) return "–";
  const sign = value > 0 ? "+" : value < 0 ? "-" : "";
  return `${sign}${Math.abs(value).toFixed(digits)}`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", {
      timeZone: tz,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(tz, f);
  }
  return f;
}

/** "2025-07-08 09:00 KST" in the instrument's zone. */
export function time(iso: string | null, instrument: string | null): string {
  if (!iso) return "–";
  const zone = zoneOf(instrument);
  return `${formatter(zone.tz).format(new Date(iso)).replace(",", "")} ${zone.name}`;
}

/** The title attribute: the same instant in UTC. */
export function utc(iso: string | null): string {
  return iso ? `${new Date(iso).toISOString().slice(0, 19).replace("T", " ")} UTC` : "";
}

export function timeElement(iso: string | null, instrument: string | null): HTMLTimeElement {
  const el = document.createElement("time");
  el.textContent = time(iso, instrument);
  if (iso) {
    el.dateTime = iso;
    el.title = utc(iso);
  }
  return el;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

// Event studies over GET /v1/studies: the CAAR path with its 95% band, the per-event table and
// a CSV download (fetched with the key in the header, then saved from a blob).

import { createOptionsChart, ColorType, type IChartApiBase, LineSeries, LineStyle } from "lightweight-charts";
import { describe, getJson, request } from "./api";
import { el, num, pct } from "./format";

type StudyEvent = {
  announcement_id: string;
  anchor_session: string;
  car_pct: number | null;
  scar: number | null;
  sigma_pct: number | null;
  alpha: number | null;
  beta: number | null;
  n_estimation: number;
  confounded: boolean;
};
type PathPoint = { tau: number; caar_pct: number | null } & Record<string, number | null>;
type Study = {
  n: number;
  caar_pct: number | null;
  t_cs: number | null;
  z_patell: number | null;
  t_bmp: number | null;
  z_sign: number | null;
  z_rank: number | null;
  events: StudyEvent[];
  path: PathPoint[];
};

let shown: IChartApiBase<number> | null = null;

export function disposeStudies(): void {
  shown?.remove();
  shown = null;
}

const INSTRUMENTS = ["KOSPI", "KOSDAQ", "USDKRW", "005380.KS", "005490.KS"];
const MODELS = ["mean", "market", "market_model"];

export function renderStudies(root: HTMLElement): void {
  const input = (name: string, value = "", attrs: Record<string, string> = {}) => el("input", { name, value, ...attrs });
  const form = el(
    "form",
    { class: "study-form" },
    el("label", {}, "Instrument ", el("select", { name: "instrument" }, ...INSTRUMENTS.map((i) => el("option", {}, i)))),
    el("label", {}, "Action ", input("action", "", { placeholder: "any" })),
    el("label", {}, "Sector ", input("sector", "", { placeholder: "any" })),
    el("label", {}, "Target ", input("target", "", { placeholder: "any" })),
    el("label", {}, "Model ", el("select", { name: "model" }, ...MODELS.map((m) => el("option", {}, m)))),
    el("label", {}, "Window ", input("window", "0,5", { size: "6" })),
    el("label", {}, "Estimation ", input("estimation", "-130,-11", { size: "8" })),
    el("label", {}, input("exclude_confounded", "true", { type: "checkbox" }), " exclude confounded"),
    el("button", { type: "submit" }, "Run study"),
  );
  const out = el("div", { class: "study" });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const params = paramsOf(form);
    out.replaceChildren(el("p", {}, "computing…"));
    try {
      const study = await getJson<Study>("/v1/studies", params);
      renderStudy(out, study, params);
    } catch (error) {
      out.replaceChildren(el("p", { class: "error" }, describe(error)));
    }
  });
  root.replaceChildren(el("h2", {}, "Event study"), form, out);
}

function paramsOf(form: HTMLFormElement): Record<string, string> {
  const data = new FormData(form);
  const params: Record<string, string> = {};
  for (const [name, value] of data) if (String(value).trim()) params[name] = String(value).trim();
  return params;
}

function renderStudy(out: HTMLElement, study: Study, params: Record<string, string>): void {
  const chartBox = el("div", { class: "chart study-chart", "data-points": String(study.path.length) });
  const stats: [string, string][] = [
    ["N", String(study.n)],
    ["CAAR", pct(study.caar_pct)],
    ["t (cross-section)", num(study.t_cs)],
    ["z Patell", num(study.z_patell)],
    ["t BMP", num(study.t_bmp)],
    ["z sign", num(study.z_sign)],
    ["z rank", num(study.z_rank)],
  ];
  const download = el("button", { type: "button", class: "csv" }, "Download CSV");
  download.addEventListener("click", () => void downloadCsv(params));
  out.replaceChildren(
    el("dl", { class: "study-stats" }, ...stats.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
    chartBox,
    download,
    eventTable(study.events),
  );
  disposeStudies();
  const chart = createOptionsChart(chartBox, {
    height: 300,
    autoSize: true,
    layout: { background: { type: ColorType.Solid, color: "#10151c" }, textColor: "#c7d0db" },
    grid: { vertLines: { color: "#1c2530" }, horzLines: { color: "#1c2530" } },
    localization: { priceFormatter: (p: number) => pct(p) },
  });
  const line = (color: string, style: LineStyle, pick: (p: PathPoint) => number | null | undefined) => {
    const series = chart.addSeries(LineSeries, { color, lineStyle: style, lineWidth: 2 });
    series.setData(study.path.filter((p) => pick(p) != null).map((p) => ({ time: p.tau, value: pick(p)! })));
  };
  shown = chart;
  line("#5fb3ff", LineStyle.Solid, (p) => p.caar_pct);
  line("#8a96a3", LineStyle.Dashed, (p) => bandEdge(p, /low/));
  line("#8a96a3", LineStyle.Dashed, (p) => bandEdge(p, /high|upp/));
  chart.timeScale().fitContent();
}

/** The band's lower or upper edge, whatever its field is called (ci_low_pct, lower_pct…). */
function bandEdge(point: PathPoint, name: RegExp): number | null {
  const key = Object.keys(point).find((k) => name.test(k));
  return key === undefined ? null : point[key];
}

function eventTable(events: StudyEvent[]): HTMLElement {
  const head = ["announcement", "anchor session", "CAR", "SCAR", "σ", "α", "β", "L", "confounded"];
  return el(
    "table",
    { class: "events" },
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))),
    el(
      "tbody",
      {},
      ...events.map((e) =>
        el(
          "tr",
          {},
          el("td", {}, e.announcement_id),
          el("td", {}, e.anchor_session),
          el("td", {}, pct(e.car_pct)),
          el("td", {}, num(e.scar)),
          el("td", {}, pct(e.sigma_pct)),
          el("td", {}, num(e.alpha, 4)),
          el("td", {}, num(e.beta)),
          el("td", {}, String(e.n_estimation)),
          el("td", {}, e.confounded ? "yes" : ""),
        ),
      ),
    ),
  );
}

async function downloadCsv(params: Record<string, string>): Promise<void> {
  const response = await request(`/v1/studies?${new URLSearchParams(params)}`, { headers: { Accept: "text/csv" } });
  const url = URL.createObjectURL(await response.blob());
  const link = el("a", { href: url, download: `study-${params.instrument ?? "all"}.csv` });
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}

// Enter an announcement: the schema's fields over POST /v1/announcements with the write key;
// a field's error shows next to it; the new announcement's tiles then appear on the board live.

import { ApiError, describe, request, keys, type Problem } from "./api";
import { el } from "./format";

const ACTIONS = ["impose", "raise", "lower", "pause", "delay", "exempt", "deal", "threaten", "other"];
const PRECISIONS = ["second", "minute", "hour", "day"];

type Field = { name: string; label: string; input: HTMLInputElement | HTMLSelectElement; hint?: string };

function field(name: string, label: string, input: HTMLInputElement | HTMLSelectElement, hint = ""): Field {
  input.name = name;
  input.id = `f-${name}`;
  return { name, label, input, hint };
}

const text = (attrs: Record<string, string> = {}) => el("input", { type: "text", ...attrs });
const select = (options: string[], value: string) => {
  const s = el("select", {}, ...options.map((o) => el("option", { value: o }, o)));
  s.value = value;
  return s;
};

export function renderEntry(root: HTMLElement, onCreated: (id: string) => void): void {
  const fields: Field[] = [
    field("headline", "Headline", text({ required: "", size: "60" })),
    field("id", "Id", text({ required: "", maxlength: "200", placeholder: "us-kr-2025-08-01-deal" }), "unique: a repeat is refused"),
    field("published_at", "Published at", text({ required: "", value: new Date().toISOString().slice(0, 19) + "Z" }), "RFC 3339 with a zone, e.g. 2025-07-07T16:04:00Z"),
    field("published_at_precision", "Precision", select(PRECISIONS, "minute")),
    field("action", "Action", select(ACTIONS, "impose")),
    field("targets", "Targets", text({ required: "", value: "KR" }), "countries, comma-separated"),
    field("sectors", "Sectors", text({ value: "all" }), "comma-separated: all, autos, steel…"),
    field("tariff_rate_pct", "Rate %", text({ inputmode: "decimal" })),
    field("previous_rate_pct", "Previous rate %", text({ inputmode: "decimal" })),
    field("effective_at", "Effective at", text({ placeholder: "2025-08-01" })),
    field("issuer", "Issuer", text({ value: "US" })),
    field("source", "Source", text({ placeholder: "white_house" })),
    field("url", "URL", text({ type: "url" })),
  ];
  const status = el("p", { class: "form-status", role: "status" });
  const form = el(
    "form",
    { class: "entry", novalidate: "" },
    ...fields.map((f) =>
      el(
        "div",
        { class: "field" },
        el("label", { for: f.input.id }, f.label),
        f.input,
        el("small", {}, f.hint ?? ""),
        el("span", { class: "field-error", "data-for": f.name }),
      ),
    ),
    el("button", { type: "submit" }, "Publish announcement"),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const e of form.querySelectorAll(".field-error")) e.textContent = "";
    status.textContent = "sending…";
    status.className = "form-status";
    const body = bodyOf(fields);
    try {
      await request("/v1/announcements", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      }, keys.write());
      status.textContent = `Accepted: ${body.id}. Its tiles appear on the board as the service computes them.`;
      status.className = "form-status ok";
      onCreated(String(body.id));
    } catch (error) {
      status.className = "form-status error";
      status.textContent =
        error instanceof ApiError && [409, 422].includes(error.problem.status)
          ? `Not accepted: ${error.message}. See the fields marked above.`
          : describe(error);
      if (error instanceof ApiError) showFieldErrors(form, error.problem);
    }
  });
  root.replaceChildren(el("h2", {}, "Enter an announcement"), form);
}

function bodyOf(fields: Field[]): Record<string, unknown> {
  const value = (name: string) => fields.find((f) => f.name === name)!.input.value.trim();
  const list = (name: string) => value(name).split(",").map((s) => s.trim()).filter(Boolean);
  const numberOrNull = (name: string) => (value(name) === "" ? null : Number(value(name)));
  const orNull = (name: string) => value(name) || null;
  return {
    id: value("id"),
    published_at: value("published_at"),
    published_at_precision: value("published_at_precision"),
    headline: value("headline"),
    action: value("action"),
    targets: list("targets"),
    sectors: list("sectors"),
    tariff_rate_pct: numberOrNull("tariff_rate_pct"),
    previous_rate_pct: numberOrNull("previous_rate_pct"),
    effective_at: orNull("effective_at"),
    issuer: value("issuer") || "US",
    source: orNull("source"),
    url: orNull("url"),
  };
}

function showFieldErrors(form: HTMLFormElement, problem: Problem): void {
  if (problem.status === 409) {
    form.querySelector('[data-for="id"]')!.textContent = problem.detail ?? "this id exists already";
  }
  for (const error of problem.errors ?? []) {
    const loc = (error.loc ?? []).filter((part) => part !== "body");
    const slot = form.querySelector(`[data-for="${String(loc[0] ?? "")}"]`);
    if (slot) slot.textContent = [slot.textContent, error.msg].filter(Boolean).join("; ");
  }
}

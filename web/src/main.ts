// The console's wiring: keys, the views (board, reaction detail, entry, studies) by URL hash,
// the live stream feeding the board and the health strip.

import { ApiError, describe, getJson, keys } from "./api";
import { Board } from "./board";
import { disposeDetail, renderDetail } from "./detail";
import { renderEntry } from "./entry";
import { HealthStrip } from "./health";
import { disposeStudies, renderStudies } from "./studies";
import { SignalStream } from "./stream";
import { type Announcement, type Page, reactionKey } from "./types";

const ANNOUNCEMENT_PAGES_MAX = 20;
const DETAIL_REFRESH_MS = 1000; // a reaction's detail redraws at most this often while it forms

const view = document.getElementById("view")!;
const notice = document.getElementById("notice")!;
const health = new HealthStrip(document.getElementById("health")!);
const board = new Board();
const requested = new Set<string>();
let detailKey = "";
let detailRefresh = 0;

function say(message: string): void {
  notice.textContent = message;
  notice.hidden = !message;
}

async function loadAnnouncements(): Promise<void> {
  let cursor: string | null = "";
  for (let page = 0; page < ANNOUNCEMENT_PAGES_MAX && cursor !== null; page++) {
    const result: Page<Announcement> = await getJson("/v1/announcements", { limit: "1000", cursor });
    board.addAnnouncements(result.items);
    cursor = result.next_cursor;
  }
}

board.fetchAnnouncement = (id) => {
  if (requested.has(id)) return;
  requested.add(id);
  getJson<Announcement>(`/v1/announcements/${encodeURIComponent(id)}`)
    .then((a) => board.addAnnouncements([a]))
    .catch(() => requested.delete(id));
};

const stream = new SignalStream({
  onSignal: (signal) => {
    board.accept(signal);
    if (detailKey === reactionKey(signal) && !detailRefresh) {
      detailRefresh = window.setTimeout(() => {
        detailRefresh = 0;
        if (detailKey) route();
      }, DETAIL_REFRESH_MS);
    }
  },
  onState: (state, detail) => {
    health.setStream(state, detail);
    board.root.classList.toggle("stale", state === "disconnected" || state === "refused");
    if (state === "refused") say(`The read key was refused (${detail}). Enter a valid key above.`);
    else if (state === "disconnected") say("Disconnected from the service: reconnecting, then catching up from the last revision seen. The board may be stale until then.");
    else if (state === "live" || state === "catching up") say("");
  },
});

async function start(): Promise<void> {
  say("");
  try {
    await loadAnnouncements();
  } catch (error) {
    say(describe(error));
    if (error instanceof ApiError && error.unauthorized) return;
  }
  stream.restart();
}

function route(): void {
  const [, name = "board", arg = ""] = location.hash.split("/");
  if (name !== "reaction") disposeDetail();
  if (name !== "studies") disposeStudies();
  detailKey = name === "reaction" ? decodeURIComponent(arg) : "";
  for (const tab of document.querySelectorAll<HTMLAnchorElement>(".tabs a")) {
    tab.classList.toggle("active", tab.dataset.view === name || (name === "reaction" && tab.dataset.view === "board"));
  }
  if (name === "reaction") {
    // drawn aside, then swapped in: a redraw while the reaction forms does not flicker
    const box = document.createElement("div");
    box.className = "detail";
    const key = detailKey;
    renderDetail(box, key)
      .catch((error) => box.replaceChildren(describe(error)))
      .finally(() => {
        if (detailKey === key) view.replaceChildren(box);
      });
  } else if (name === "enter") {
    const box = document.createElement("div");
    view.replaceChildren(box);
    renderEntry(box, () => {});
  } else if (name === "studies") {
    const box = document.createElement("div");
    view.replaceChildren(box);
    renderStudies(box);
  } else {
    view.replaceChildren(board.root);
  }
}

const keyForm = document.getElementById("keys") as HTMLFormElement;
const readKey = document.getElementById("read-key") as HTMLInputElement;
const writeKey = document.getElementById("write-key") as HTMLInputElement;
readKey.value = keys.read();
writeKey.value = keys.write();
keyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  keys.save(readKey.value.trim(), writeKey.value.trim());
  void start().then(route);
});

// for the browser tests and the benchmark: what the board holds and when it painted
Object.assign(window, { mrConsole: { board, stream } });
window.addEventListener("hashchange", route);
route();
health.start();
void start();

/**
 * The playback page of a recording (/recordings/{id}): one <video> per site, each playing its
 * own file (WebM or Matroska, starting at 0) at its offset on the recording's timeline. One
 * clock (the page's) drives them: each video is put back in step when it strays by more than
 * 0.25 s, and a site whose file has not started (it joined late) or has ended waits, hidden.
 * The chapter list jumps to the petition heard. `window.tcdPlayer` exposes seek/play/pause and
 * the clock for tests.
 */

import { page, t } from "./common.js";

const DRIFT = 0.25;
const recording = page.recording ?? { sites: [], chapters: [], duration_s: 0 };
const root = document.getElementById("recording");
const players = document.getElementById("players");
const template = document.getElementById("player-template");
const playButton = document.getElementById("btn-play");
const timeline = document.getElementById("timeline");
const clock = document.getElementById("clock");
const chapterList = document.getElementById("chapters");

const duration = Number(recording.duration_s) || 0;
let position = 0; // seconds on the recording's timeline while paused
let startedAt = null; // performance.now() minus the position, while playing

const sites = (recording.sites ?? []).map((site) => {
  const tile = template.content.firstElementChild.cloneNode(true);
  const video = tile.querySelector("video");
  tile.dataset.officeId = String(site.office_id);
  tile.querySelector(".tile__office").textContent = site.office_name;
  if (site.url) video.src = site.url;
  players.append(tile);
  return { ...site, tile, video };
});

function now() {
  return startedAt === null ? position : Math.min(duration, (performance.now() - startedAt) / 1000);
}

function fmt(seconds) {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** Put every site's video where the timeline is (playing or paused as the page is). */
function align(force = false) {
  const at = now();
  for (const site of sites) {
    const local = at - site.offset_s;
    const present = local >= 0 && local <= site.duration_s;
    site.tile.querySelector(".tile__note").hidden = present;
    site.tile.dataset.present = String(present);
    if (!present) {
      if (!site.video.paused) site.video.pause();
      continue;
    }
    if (force || Math.abs(site.video.currentTime - local) > DRIFT) site.video.currentTime = local;
    if (startedAt !== null && site.video.paused) site.video.play().catch(() => {});
    if (startedAt === null && !site.video.paused) site.video.pause();
  }
  timeline.value = String(at);
  clock.textContent = fmt(at);
  root.dataset.position = at.toFixed(2);
}

function play() {
  if (startedAt !== null) return;
  if (position >= duration) position = 0;
  startedAt = performance.now() - position * 1000;
  playButton.textContent = t("recording.pause");
  root.dataset.state = "playing";
  align(true);
}

function pause() {
  if (startedAt === null) return;
  position = now();
  startedAt = null;
  playButton.textContent = t("recording.play");
  root.dataset.state = "paused";
  align(true);
}

function seek(seconds) {
  const target = Math.max(0, Math.min(duration, Number(seconds) || 0));
  if (startedAt === null) position = target;
  else startedAt = performance.now() - target * 1000;
  align(true);
}

playButton.addEventListener("click", () => (startedAt === null ? play() : pause()));
timeline.addEventListener("input", () => seek(timeline.value));

for (const chapter of recording.chapters ?? []) {
  const item = document.createElement("li");
  item.className = "live-list__item";
  item.dataset.petitionId = String(chapter.petition_id ?? "");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "btn btn--small";
  button.textContent = t("recording.chapter_jump", { title: chapter.title });
  button.addEventListener("click", () => {
    seek(chapter.start_s);
    play();
  });
  const when = document.createElement("span");
  when.className = "muted";
  when.textContent = ` ${fmt(chapter.start_s)} – ${fmt(chapter.end_s)}`;
  item.append(button, when);
  chapterList.append(item);
}

setInterval(() => {
  if (startedAt !== null) {
    if (now() >= duration) pause();
    else align();
  }
}, 250);

root.dataset.state = "paused";
align(true);
window.tcdPlayer = { seek, play, pause, time: now, sites };

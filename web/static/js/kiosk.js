/**
 * The site kiosk (/site): the bridge-point PC, signed in once, shows its office's next hearing,
 * waits until it is live, joins it by itself (waiting room until the chair admits it), shows the
 * other sites full screen (the spotlit one large), says clearly when the chair muted it, rejoins
 * by itself after a drop (HearingClient's reconnect) and, once the hearing ends, waits for the
 * next one.
 *
 * A site that drops keeps its tile, marked "Mất kết nối lúc ..." with its picture cleared, until
 * its office joins again; one the hub says is reconnecting (participant_link) is marked so.
 * Tiles carry data-participant-id, data-office-id and data-link (connected, reconnecting,
 * dropped) and data-low-bandwidth, as on the join page: a site in low-bandwidth mode (receiving
 * sound and the spotlit site's video only) shows a "Băng thông thấp" badge, this site's own on
 * its self view.
 *
 * `#kiosk[data-phase]`: idle | waiting-start | joining | waiting-room | in-hearing | reconnecting.
 * `window.tcdKiosk` exposes the current client for tests and people at the site.
 */

import { api, fmtDateTime, fmtTime, t } from "./common.js";
import { HearingClient, chosenVideoCodec } from "./hearing-client.js";

const POLL_MS = 3000;

const root = document.getElementById("kiosk");
const statusLine = document.getElementById("kiosk-status");
const hearingLine = document.getElementById("kiosk-hearing");
const mutedBanner = document.getElementById("kiosk-muted");
const stage = document.getElementById("kiosk-tiles");
const emptyNote = document.getElementById("kiosk-empty");
const selfTile = document.getElementById("kiosk-self");
const selfVideo = document.getElementById("kiosk-self-video");
const soundButton = document.getElementById("kiosk-sound");
const fullscreenButton = document.getElementById("kiosk-fullscreen");
const tileTemplate = document.getElementById("kiosk-tile-template");

const officeId = Number(root.dataset.officeId);
const iceServers = parseJson(root.dataset.iceServers, []);

/** participant_id -> tile */
const tiles = new Map();
/** office_id -> the marked tile of a site that dropped, until its office joins again. */
const droppedTiles = new Map();
let client = null;
let pollTimer = null;
let lastNote = "";

window.tcdKiosk = {
  get client() {
    return client;
  },
};

function parseJson(text, fallback) {
  try {
    return text ? JSON.parse(text) : fallback;
  } catch {
    return fallback;
  }
}

function setPhase(phase, text) {
  root.dataset.phase = phase;
  statusLine.textContent = text;
}

// --- waiting for the next hearing --------------------------------------------------------------

async function nextHearing() {
  const live = await api("/api/v1/hearings", { query: { office: officeId, status: "live" } });
  const mine = (items) =>
    items.filter((h) => h.host_office_id === officeId || (h.site_office_ids ?? []).includes(officeId));
  const liveItems = mine(live.items ?? []);
  if (liveItems.length) return liveItems[0];
  // The soonest scheduled one still ahead (or started late: from a few hours back).
  const from = new Date(Date.now() - 6 * 3600 * 1000).toISOString();
  const scheduled = await api("/api/v1/hearings", {
    query: { office: officeId, status: "scheduled", starts_from: from, limit: 5 },
  });
  return mine(scheduled.items ?? [])[0] ?? null;
}

async function poll() {
  pollTimer = null;
  if (client) return;
  let hearing = null;
  try {
    hearing = await nextHearing();
  } catch (error) {
    setPhase("waiting-start", t("kiosk.poll_failed"));
    console.warn("kiosk poll:", error.message ?? error);
    schedulePoll();
    return;
  }
  if (client) return;
  if (!hearing) {
    hearingLine.textContent = t("kiosk.no_hearing");
  } else {
    hearingLine.textContent = t("kiosk.next", {
      title: hearing.title,
      time: fmtDateTime(hearing.starts_at),
    });
    root.dataset.hearingId = String(hearing.id);
  }
  if (hearing && hearing.status === "live") {
    startClient(hearing);
    return;
  }
  setPhase("waiting-start", lastNote ? `${lastNote} ${t("kiosk.waiting_start")}` : t("kiosk.waiting_start"));
  schedulePoll();
}

function schedulePoll(delay = POLL_MS) {
  if (pollTimer === null) pollTimer = setTimeout(poll, delay);
}

// --- in the hearing ------------------------------------------------------------------------------

function startClient(hearing) {
  lastNote = "";
  hearingLine.textContent = hearing.title;
  setPhase("joining", t("kiosk.joining"));
  const current = new HearingClient({
    hearingId: hearing.id,
    iceServers,
    videoCodec: chosenVideoCodec(),
  });
  client = current;
  bind(current);
  current.join().catch((error) => {
    if (client !== current) return;
    console.warn("kiosk join:", error.message ?? error);
    finish(current, "");
  });
}

/** Back to waiting for the next hearing (after the end, a removal or a failed join). */
function finish(current, note) {
  if (client !== current) return;
  client = null;
  current.close("closed");
  for (const pid of [...tiles.keys()]) removeTile(pid);
  for (const office of [...droppedTiles.keys()]) officeBack(office);
  selfTile.hidden = true;
  selfVideo.srcObject = null;
  mutedBanner.hidden = true;
  root.dataset.mutedByHost = "false";
  lastNote = note;
  setPhase("waiting-start", note ? `${note} ${t("kiosk.waiting_start")}` : t("kiosk.waiting_start"));
  schedulePoll();
}

function showAdmission() {
  if (!client || client.state !== "joined") return;
  if (client.admission === "waiting") setPhase("waiting-room", t("kiosk.waiting_room"));
  else setPhase("in-hearing", t("kiosk.in_hearing"));
}

function ensureTile(participantId) {
  let tile = tiles.get(participantId);
  if (tile) return tile;
  tile = tileTemplate.content.firstElementChild.cloneNode(true);
  tile.dataset.participantId = String(participantId);
  setLink(tile, "connected");
  tiles.set(participantId, tile);
  stage.append(tile);
  labelTile(tile, client?.participants.get(participantId) ?? {});
  applySpotlight();
  return tile;
}

function setLink(tile, link, text = "") {
  tile.dataset.link = link;
  tile.classList.toggle("tile--offline", link === "dropped");
  tile.classList.toggle("tile--reconnecting", link === "reconnecting");
  const note = tile.querySelector(".tile__link");
  note.textContent = text;
  note.hidden = !text;
}

/** Someone of this office is in the hearing again: its dropped tile goes. */
function officeBack(officeId) {
  const tile = droppedTiles.get(officeId);
  if (!tile) return;
  droppedTiles.delete(officeId);
  tile.remove();
}

function labelTile(tile, participant) {
  if (typeof participant.office_id === "number") {
    tile.dataset.officeId = String(participant.office_id);
    officeBack(participant.office_id);
  }
  tile.dataset.officeName = participant.office_name ?? "";
  tile.dataset.state = participant.state ?? "admitted";
  tile.querySelector(".tile__office").textContent = participant.office_name ?? "";
  tile.querySelector(".tile__muted").hidden = !participant.audio_muted;
  tile.querySelector(".tile__host-muted").hidden = !participant.muted_by_host;
  showLowBandwidth(tile, Boolean(participant.low_bandwidth));
  tile.classList.toggle("tile--camera-off", Boolean(participant.video_muted));
  // A site in the waiting room is not part of the hearing yet: not shown on the room screen.
  tile.hidden = participant.state === "waiting";
  updateEmpty();
}

function showLowBandwidth(tile, on) {
  tile.dataset.lowBandwidth = String(on);
  tile.querySelector(".tile__low-bandwidth").hidden = !on;
}

function removeTile(participantId, reason = "left") {
  const tile = tiles.get(participantId);
  if (!tile) return;
  tiles.delete(participantId);
  // Cleared at once: never a frozen last frame on the room's screen.
  tile.querySelector("video").srcObject = null;
  tile.querySelector("audio").srcObject = null;
  if (reason === "dropped" && tile.dataset.officeId && !tile.hidden) {
    const officeId = Number(tile.dataset.officeId);
    officeBack(officeId);
    tile.classList.remove("tile--speaking", "tile--spotlight");
    tile.querySelector(".tile__muted").hidden = true;
    tile.querySelector(".tile__host-muted").hidden = true;
    showLowBandwidth(tile, false);
    setLink(tile, "dropped", t("live.link_dropped", { time: fmtTime(new Date()) }));
    droppedTiles.set(officeId, tile);
  } else {
    tile.remove();
  }
  updateEmpty();
}

function updateEmpty() {
  const visible = [...tiles.values()].some((tile) => !tile.hidden);
  emptyNote.hidden = visible || !client;
}

function applySpotlight() {
  const spot = client?.spotlight ?? null;
  stage.classList.toggle("tiles--spotlight", spot !== null && tiles.has(spot));
  for (const [pid, tile] of tiles) tile.classList.toggle("tile--spotlight", pid === spot);
}

function bind(current) {
  const on = (type, handler) =>
    current.addEventListener(type, (event) => {
      if (client === current) handler(event.detail);
    });
  on("statechange", ({ state }) => {
    if (state === "reconnecting") setPhase("reconnecting", t("kiosk.reconnecting"));
    else if (state === "joining") setPhase("joining", t("kiosk.joining"));
    else if (state === "joined") showAdmission();
    else if (state === "failed") finish(current, "");
  });
  on("localstream", ({ stream }) => {
    if (!stream) return;
    selfVideo.srcObject = stream;
    selfTile.hidden = false;
    selfVideo.play().catch(() => {});
  });
  on("joined", ({ participants, lowBandwidth }) => {
    showLowBandwidth(selfTile, Boolean(lowBandwidth));
    for (const participant of participants) labelTile(ensureTile(participant.participant_id), participant);
    showAdmission();
    applySpotlight();
  });
  on("admission", () => showAdmission());
  on("participantjoined", ({ participant }) => labelTile(ensureTile(participant.participant_id), participant));
  on("participantupdated", ({ participant }) => labelTile(ensureTile(participant.participant_id), participant));
  on("participantleft", ({ participantId, reason }) => removeTile(participantId, reason));
  on("participantmode", ({ participantId, lowBandwidth, local }) => {
    const tile = local ? selfTile : tiles.get(participantId);
    if (tile) showLowBandwidth(tile, lowBandwidth);
  });
  on("participantlink", ({ participantId, state }) => {
    const tile = tiles.get(participantId);
    if (!tile) return;
    if (state === "reconnecting") setLink(tile, "reconnecting", t("live.link_reconnecting"));
    else setLink(tile, "connected");
  });
  on("remotestream", ({ participantId, stream }) => {
    const tile = stream ? ensureTile(participantId) : tiles.get(participantId);
    if (!tile) return;
    const video = tile.querySelector("video");
    const audio = tile.querySelector("audio");
    video.srcObject = stream;
    audio.srcObject = stream;
    if (!stream) return;
    video.play().catch(() => {});
    audio.play().catch(() => {
      soundButton.hidden = false;
    });
  });
  on("mute", ({ participantId, audioMuted, videoMuted, local }) => {
    if (local) return;
    const tile = tiles.get(participantId);
    if (!tile) return;
    tile.querySelector(".tile__muted").hidden = !audioMuted;
    tile.classList.toggle("tile--camera-off", videoMuted);
  });
  on("mutedbyhost", ({ audio }) => {
    root.dataset.mutedByHost = String(audio);
    mutedBanner.hidden = !audio;
  });
  on("activespeaker", ({ participantId }) => {
    for (const [pid, tile] of tiles) tile.classList.toggle("tile--speaking", pid === participantId);
  });
  on("spotlight", () => applySpotlight());
  on("signalingerror", ({ local, code, message }) => {
    if (local) console.error("media negotiation failed:", message);
    else console.warn("hub:", code, message);
  });
  on("left", ({ reason }) => {
    const notes = { ended: "kiosk.ended", removed: "kiosk.removed", revoked: "kiosk.revoked" };
    const note = notes[reason] ? t(notes[reason]) : "";
    finish(current, note);
  });
}

soundButton.addEventListener("click", () => {
  for (const audio of stage.querySelectorAll("audio")) audio.play().catch(() => {});
  soundButton.hidden = true;
});
fullscreenButton.addEventListener("click", () => {
  if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  else root.requestFullscreen?.().catch(() => {});
});
window.addEventListener("pagehide", () => client?.close("unload"));

poll();

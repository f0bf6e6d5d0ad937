/**
 * The plain hearing page (/hearings/{id}/join): the local camera and one tile per remote site,
 * labelled with the site's office name. The richer leader view and kiosk reuse hearing-client.js.
 *
 * Each remote tile carries data-participant-id, data-office-id and data-office-name; once its
 * video shows a frame it also gets data-first-frame-ms. Its data-link says how the site is
 * connected: "connected", "reconnecting" (the hub says its link went quiet), "dropped" (it went
 * without leaving: the tile stays, marked with the time, its video cleared, until the office
 * joins again) or "absent" (an invited office with nobody connected: a placeholder tile, with
 * the time it was last seen when known). data-low-bandwidth="true" marks a site (the local tile:
 * this one) in low-bandwidth mode, receiving sound and the spotlit site's video only, with its
 * "Băng thông thấp" badge; a moderator's tile buttons switch it. `window.tcdJoin` exposes the join timings so that
 * tests and people can read join-to-first-frame figures without devtools.
 *
 * A guest (a person invited by name and agency, /guest/{token}) gets the same page in guest
 * mode: it joins with its link's token, waits to be admitted, and reads no record (the
 * petitions panel stays hidden). Every page marks a guest's tile (data-guest, "Khách mời").
 */

import { api, fmtTime, label, page, t } from "./common.js";
import { HearingClient, chosenVideoCodec } from "./hearing-client.js";

const STATUS_TEXT = {
  idle: "Đang chuẩn bị…",
  connecting: "Đang kết nối tới hệ thống…",
  joining: "Đang vào phiên…",
  joined: "Đã vào phiên.",
  waiting: "Đang chờ chủ trì cho điểm cầu vào phiên…",
  reconnecting: "Mất kết nối, đang kết nối lại…",
  left: "Bạn đã rời phiên.",
  removed: "Chủ trì đã mời điểm cầu ra khỏi phiên.",
  revoked: "Quyền vào phiên đã hết hiệu lực (đã đăng xuất, hết hạn hoặc điểm cầu không còn được mời).",
  ended: "Phiên đã kết thúc.",
  failed: "Không vào được phiên.",
};

const root = document.getElementById("hearing");
const tiles = document.getElementById("tiles");
const emptyNote = document.getElementById("tiles-empty");
const statusLine = document.getElementById("hearing-status");
const localTile = document.getElementById("local-tile");
const localVideo = document.getElementById("local-video");
const tileTemplate = document.getElementById("remote-tile-template");
const micButton = document.getElementById("btn-mic");
const cameraButton = document.getElementById("btn-camera");
const soundButton = document.getElementById("btn-sound");
const leaveButton = document.getElementById("btn-leave");
// The chair's live controls (shown to moderators only).
const hostControls = document.getElementById("host-controls");
const phaseBadge = document.getElementById("hearing-phase");
const startButton = document.getElementById("btn-start");
const endButton = document.getElementById("btn-end");
const waitingPanel = document.getElementById("waiting-panel");
const waitingList = document.getElementById("waiting-list");
const waitingEmpty = document.getElementById("waiting-empty");
const petitionPanel = document.getElementById("petition-panel");
const petitionList = document.getElementById("petition-list");
const petitionEmpty = document.getElementById("petition-empty");
// Recording: the badge every site sees while it runs, the button of who may record.
const recordingBadge = document.getElementById("recording-badge");
const recordButton = document.getElementById("btn-record");

const rawHearingId = root.dataset.hearingId;
const hearingId = /^\d+$/.test(rawHearingId) ? Number(rawHearingId) : rawHearingId;
const guest = root.dataset.guest === "true";

const client = new HearingClient({
  hearingId,
  iceServers: parseJson(root.dataset.iceServers, []),
  // A guest has no sign-in cookie: its link's token opens the socket.
  token: guest ? root.dataset.token : undefined,
  // A guest's browser is no office's site: the hub keeps no figures of it.
  statsIntervalMs: guest ? 0 : 3000,
  videoCodec: chosenVideoCodec(),
});

/** Join timings in ms since navigation start (performance.now()), per remote participant too. */
const metrics = {
  get timings() {
    return client.timings;
  },
  firstRemoteFrame: null,
  firstFrameByParticipant: {},
};
window.tcdJoin = { client, metrics };

/** participant_id -> tile element */
const remoteTiles = new Map();
/** The other offices the hearing expects (page data): office_id -> {office_id, name, lastSeen,
 * grade}; lastSeen (a Date) once known, from this page or the operators' board. */
const invited = new Map(
  (Array.isArray(page.sites) ? page.sites : []).map((site) => [
    site.office_id,
    { ...site, lastSeen: null, grade: null },
  ]),
);
/** office_id -> the tile of an office with nobody connected: a dropped site's last tile, or a
 * placeholder for an invited office. Replaced when someone of that office joins. */
const officeTiles = new Map();

function parseJson(text, fallback) {
  try {
    return text ? JSON.parse(text) : fallback;
  } catch {
    return fallback;
  }
}

function setStatus(text) {
  statusLine.textContent = text;
}

function updateEmptyNote() {
  emptyNote.hidden = remoteTiles.size > 0;
}

/** A tile's line saying how its site is connected ("" hides it). */
function setLinkNote(tile, link, text = "") {
  tile.dataset.link = link;
  tile.classList.toggle("tile--offline", link === "dropped" || link === "absent");
  tile.classList.toggle("tile--reconnecting", link === "reconnecting");
  const note = tile.querySelector(".tile__link");
  note.textContent = text;
  note.hidden = !text;
}

/** The office's grade from the operators' board (good / poor / bad), when this page gets it. */
function setGrade(tile, grade) {
  const badge = tile.querySelector(".tile__grade");
  const known = ["good", "poor", "bad"].includes(grade);
  tile.dataset.grade = known ? grade : "";
  badge.hidden = !known;
  badge.className = `tile__grade grade grade--${known ? grade : "none"}`;
  badge.textContent = known ? t(`grade.${grade}`) : "";
}

/** A tile for an office with nobody connected: the buttons and per-participant notes go. */
function stripParticipant(tile) {
  for (const selector of [".tile__muted", ".tile__waiting", ".tile__host-muted", ".tile__spotlit", ".tile__low-bandwidth", ".tile__admit", ".tile__controls"]) {
    tile.querySelector(selector).hidden = true;
  }
  tile.classList.remove("tile--speaking", "tile--spotlight", "tile--waiting", "tile--host-muted", "tile--playing");
}

function absentText(office) {
  return office.lastSeen ? t("live.link_absent_seen", { time: fmtTime(office.lastSeen) }) : t("live.link_absent");
}

/** Placeholders for the invited offices nobody is connected from (while this site is in). */
function syncOfficeTiles() {
  if (client.state !== "joined") return;
  const present = new Set();
  for (const tile of remoteTiles.values()) {
    if (tile.dataset.officeId) present.add(Number(tile.dataset.officeId));
  }
  for (const [officeId, office] of invited) {
    const existing = officeTiles.get(officeId);
    if (existing) {
      if (existing.dataset.link === "absent") setLinkNote(existing, "absent", absentText(office));
      setGrade(existing, office.grade);
      continue;
    }
    if (present.has(officeId)) continue;
    const tile = tileTemplate.content.firstElementChild.cloneNode(true);
    tile.dataset.officeId = String(officeId);
    tile.dataset.officeName = office.name;
    tile.dataset.state = "";
    tile.querySelector(".tile__office").textContent = office.name;
    tile.setAttribute("aria-label", `${office.name}: ${t("live.link_absent")}`);
    stripParticipant(tile);
    setLinkNote(tile, "absent", absentText(office));
    setGrade(tile, office.grade);
    officeTiles.set(officeId, tile);
    tiles.append(tile);
  }
}

/** Someone of this office is here (again): its dropped tile or placeholder goes. */
function officeArrived(officeId) {
  const tile = officeTiles.get(officeId);
  if (!tile) return;
  officeTiles.delete(officeId);
  detachMedia(tile);
  tile.remove();
}

function clearOfficeTiles() {
  for (const officeId of [...officeTiles.keys()]) officeArrived(officeId);
}

function labelTile(tile, participant) {
  const officeName = participant.office_name || "Điểm cầu";
  const waiting = participant.state === "waiting";
  if (typeof participant.office_id === "number" && tile.dataset.officeId !== String(participant.office_id)) {
    tile.dataset.officeId = String(participant.office_id);
    officeArrived(participant.office_id);
    setGrade(tile, invited.get(participant.office_id)?.grade ?? null);
  }
  tile.dataset.officeName = participant.office_name || "";
  tile.dataset.state = participant.state ?? "admitted";
  tile.querySelector(".tile__office").textContent = officeName;
  tile.querySelector(".tile__note").textContent = participant.display_name || "";
  const isGuest = participant.role === "guest";
  tile.dataset.guest = String(isGuest);
  tile.querySelector(".tile__guest").hidden = !isGuest;
  tile.querySelector(".tile__waiting").hidden = !waiting;
  tile.querySelector(".tile__admit").hidden = !(waiting && client.moderator);
  tile.classList.toggle("tile--waiting", waiting);
  tile.setAttribute("aria-label", officeName);
  setTileMuted(
    tile,
    Boolean(participant.audio_muted || participant.muted_by_host),
    Boolean(participant.video_muted),
  );
  const hostMuted = Boolean(participant.muted_by_host);
  tile.dataset.hostMuted = String(hostMuted);
  tile.classList.toggle("tile--host-muted", hostMuted);
  tile.querySelector(".tile__host-muted").hidden = !hostMuted;
  // The chair's buttons for an admitted site; their names say which site they act on.
  const controls = tile.querySelector(".tile__controls");
  controls.hidden = !(client.moderator && !waiting);
  controls.setAttribute("aria-label", t("live.site_controls", { office: officeName }));
  const mute = tile.querySelector(".tile__mute");
  mute.textContent = hostMuted ? t("live.unmute_site") : t("live.mute_site");
  mute.setAttribute("aria-pressed", String(hostMuted));
  mute.setAttribute("aria-label", `${mute.textContent}: ${officeName}`);
  const spot = tile.querySelector(".tile__spotlight");
  spot.setAttribute("aria-label", `${t("live.spotlight")}: ${officeName}`);
  showLowBandwidth(tile, Boolean(participant.low_bandwidth));
  const thin = tile.querySelector(".tile__bandwidth");
  thin.setAttribute("aria-label", `${thin.textContent}: ${officeName}`);
  tile.querySelector(".tile__to-waiting").setAttribute(
    "aria-label",
    `${t("live.to_waiting")}: ${officeName}`,
  );
  tile.querySelector(".tile__remove").setAttribute("aria-label", `${t("live.remove")}: ${officeName}`);
  tile.querySelector(".tile__admit").setAttribute("aria-label", `${t("live.admit")}: ${officeName}`);
  renderWaitingList();
}

/** A site's low-bandwidth badge, and the moderator's switch saying what a click does. */
function showLowBandwidth(tile, on) {
  tile.dataset.lowBandwidth = String(on);
  tile.querySelector(".tile__low-bandwidth").hidden = !on;
  const button = tile.querySelector(".tile__bandwidth");
  if (!button) return; // the local tile has no controls
  button.textContent = on ? t("live.low_bandwidth_off") : t("live.low_bandwidth_on");
  button.setAttribute("aria-pressed", String(on));
  const office = tile.dataset.officeName || t("kiosk.own_site");
  button.setAttribute("aria-label", `${button.textContent}: ${office}`);
}

function setTileMuted(tile, audioMuted, videoMuted) {
  tile.querySelector(".tile__muted").hidden = !audioMuted;
  tile.classList.toggle("tile--camera-off", videoMuted);
}

function showAdmission(state) {
  root.dataset.admission = state;
  if (client.state === "joined") {
    // A guest waits as a person, not as a bridge point.
    const waitingText = guest ? t("guest.waiting") : STATUS_TEXT.waiting;
    setStatus(state === "waiting" ? waitingText : STATUS_TEXT.joined);
  }
}

function ensureTile(participantId) {
  let tile = remoteTiles.get(participantId);
  if (tile) return tile;
  tile = tileTemplate.content.firstElementChild.cloneNode(true);
  tile.dataset.participantId = String(participantId);
  setLinkNote(tile, "connected");
  tile.querySelector(".tile__admit").addEventListener("click", (event) => {
    event.currentTarget.disabled = true;
    client.admit(participantId).catch((error) => {
      event.currentTarget.disabled = false;
      setStatus(`Không cho vào phiên được: ${error.message}`);
    });
  });
  wireTileControls(tile, participantId);
  remoteTiles.set(participantId, tile);
  tiles.append(tile);
  labelTile(tile, client.participants.get(participantId) ?? { participant_id: participantId });
  updateEmptyNote();
  return tile;
}

function removeTile(participantId, reason) {
  const tile = remoteTiles.get(participantId);
  if (!tile) return;
  remoteTiles.delete(participantId);
  // Cleared at once: a site that went must never stay on screen as a frozen frame.
  detachMedia(tile);
  const officeId = tile.dataset.officeId ? Number(tile.dataset.officeId) : null;
  const now = new Date();
  if (officeId !== null && invited.has(officeId) && reason !== "reset") invited.get(officeId).lastSeen = now;
  if (reason === "dropped" && officeId !== null) {
    // It went without leaving (network, power, a closed browser): the tile stays, marked, until
    // someone of the office joins again.
    officeArrived(officeId);
    stripParticipant(tile);
    tile.dataset.droppedAt = now.toISOString();
    setLinkNote(tile, "dropped", t("live.link_dropped", { time: fmtTime(now) }));
    officeTiles.set(officeId, tile);
  } else {
    tile.remove();
  }
  // "reset": this site's own link went (it rejoins); the others are not known to be absent.
  if (reason !== "reset") syncOfficeTiles();
  updateEmptyNote();
  renderWaitingList();
}

/** The hub's view of a site's link (participant_link): reconnecting, or connected again. */
function showLink(participantId, state) {
  const tile = remoteTiles.get(participantId);
  if (!tile) return;
  if (state === "reconnecting") setLinkNote(tile, "reconnecting", t("live.link_reconnecting"));
  else setLinkNote(tile, "connected");
}

/** A site_status from the operators' board (moderators watch it): last seen and grade. */
function applySiteStatus(status) {
  if (!status || typeof status.office_id !== "number") return;
  const office = invited.get(status.office_id);
  const grade = typeof status.grade === "string" ? status.grade : null;
  if (office) {
    office.grade = status.hearing_id === hearingId ? grade : null;
    const since = status.since ? new Date(status.since) : null;
    if (!status.online && since && !Number.isNaN(since.getTime())) office.lastSeen = since;
  }
  for (const tile of remoteTiles.values()) {
    if (tile.dataset.officeId === String(status.office_id)) {
      setGrade(tile, status.hearing_id === hearingId ? grade : null);
    }
  }
  syncOfficeTiles();
}

/** Moderators also watch the sites' statuses (grades, last seen); others may not. */
async function watchSites() {
  if (!client.moderator) return;
  try {
    const ack = await client.request("watch_sites", {});
    for (const status of ack.sites ?? []) applySiteStatus(status);
  } catch (error) {
    console.warn("site statuses:", error.message ?? error);
  }
}

// --- the chair's live controls -----------------------------------------------------------------

/** Run a host control from a button: the button is off while the hub answers. */
function control(button, action) {
  button.disabled = true;
  return action()
    .catch((error) => setStatus(t("live.failed", { message: error.message ?? String(error) })))
    .finally(() => {
      button.disabled = false;
    });
}

function wireTileControls(tile, participantId) {
  tile.querySelector(".tile__mute").addEventListener("click", (event) => {
    const participant = client.participants.get(participantId);
    const muted = Boolean(participant?.muted_by_host);
    control(event.currentTarget, () => client.muteSite(participantId, !muted));
  });
  tile.querySelector(".tile__spotlight").addEventListener("click", (event) => {
    const next = client.spotlight === participantId ? null : participantId;
    control(event.currentTarget, () => client.setSpotlight(next));
  });
  tile.querySelector(".tile__bandwidth").addEventListener("click", (event) => {
    const on = client.participants.get(participantId)?.low_bandwidth !== true;
    control(event.currentTarget, () => client.setLowBandwidth(participantId, on));
  });
  tile.querySelector(".tile__to-waiting").addEventListener("click", (event) => {
    control(event.currentTarget, () => client.sendToWaiting(participantId));
  });
  tile.querySelector(".tile__remove").addEventListener("click", (event) => {
    const office = tile.dataset.officeName || t("kiosk.own_site");
    if (!window.confirm(t("live.remove_confirm", { office }))) return;
    control(event.currentTarget, () => client.remove(participantId));
  });
}

/** The sites in the waiting room, each with its "Cho vào phiên" button (moderators only). */
function renderWaitingList() {
  waitingPanel.hidden = !client.moderator;
  if (!client.moderator) return;
  const items = [];
  for (const [participantId, participant] of client.participants) {
    if (participant.state !== "waiting") continue;
    let office = participant.office_name || t("kiosk.own_site");
    // A guest is named with its agency: the chair admits a person, not a bridge point.
    if (participant.role === "guest") office = `${participant.display_name} · ${office} (${t("guest.badge")})`;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn--small btn--primary";
    button.textContent = t("live.admit");
    button.setAttribute("aria-label", `${t("live.admit")}: ${office}`);
    button.addEventListener("click", () => control(button, () => client.admit(participantId)));
    const name = document.createElement("span");
    name.className = "live-list__name";
    name.textContent = office;
    const item = document.createElement("li");
    item.className = "live-list__item";
    item.dataset.participantId = String(participantId);
    item.dataset.officeName = participant.office_name || "";
    item.append(name, button);
    items.push(item);
  }
  waitingList.replaceChildren(...items);
  waitingEmpty.hidden = items.length > 0;
}

/** The spotlit site is shown large on every site's screen. */
function applySpotlight(participantId) {
  root.dataset.spotlight = participantId ?? "";
  tiles.classList.toggle("tiles--spotlight", participantId !== null && participantId !== undefined);
  for (const [pid, tile] of remoteTiles) {
    const on = pid === participantId;
    tile.classList.toggle("tile--spotlight", on);
    tile.querySelector(".tile__spotlit").hidden = !on;
    tile.querySelector(".tile__spotlight").setAttribute("aria-pressed", String(on));
  }
  localTile.classList.toggle("tile--spotlight", participantId === client.participantId);
}

function renderHearingStatus(status) {
  root.dataset.hearingStatus = status ?? "";
  hostControls.hidden = !client.moderator;
  phaseBadge.dataset.status = status ?? "";
  phaseBadge.className = `badge badge--${status ?? "scheduled"}`;
  phaseBadge.textContent = status ? t(`live.status_${status}`) : "";
  const joined = client.state === "joined";
  startButton.disabled = !(joined && status === "scheduled");
  endButton.disabled = !(joined && status === "live");
}

// Petitions of the hearing: key fields only; the one being heard is marked for everyone.
const petitions = new Map();

async function loadPetitions() {
  if (guest) return; // a guest reads no record, petitions' key fields included
  try {
    const hearing = await api(`/api/v1/hearings/${hearingId}`);
    petitions.clear();
    for (const petition of hearing.petitions ?? []) petitions.set(petition.petition_id, petition);
    if (client.nowHearing) updatePetition(client.nowHearing);
    renderPetitions();
  } catch (error) {
    petitionPanel.hidden = false;
    petitionEmpty.hidden = false;
    petitionEmpty.textContent = t("live.petitions_failed");
    console.warn("petitions:", error.message ?? error);
  }
}

function updatePetition(update) {
  const petition = petitions.get(update.petition_id);
  if (!petition) return;
  if ("heard_from" in update) petition.heard_from = update.heard_from;
  if ("heard_to" in update) petition.heard_to = update.heard_to;
}

function renderPetitions() {
  petitionPanel.hidden = false;
  petitionEmpty.hidden = petitions.size > 0;
  const items = [];
  for (const petition of petitions.values()) {
    const current = Boolean(petition.heard_from && !petition.heard_to);
    const item = document.createElement("li");
    item.className = `live-list__item petition${current ? " petition--current" : ""}`;
    item.dataset.petitionId = String(petition.petition_id);
    item.dataset.current = String(current);
    if (current) item.setAttribute("aria-current", "true");
    const head = document.createElement("strong");
    head.textContent = petition.case_code;
    const facts = [label("ptype", petition.type), petition.subject_field];
    if (petition.people_count) facts.push(t("live.people", { n: petition.people_count }));
    const info = document.createElement("span");
    info.className = "petition__facts";
    info.textContent = facts.filter(Boolean).join(" · ");
    const state = document.createElement("span");
    state.className = "petition__state";
    if (current) {
      state.className += " badge badge--live";
      state.textContent = t("live.now_hearing");
    } else if (petition.heard_from && petition.heard_to) {
      state.textContent = t("live.heard", {
        from_: fmtTime(petition.heard_from),
        to: fmtTime(petition.heard_to),
      });
    }
    item.append(head, info, state);
    if (client.moderator) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = `btn btn--small${current ? " btn--danger" : ""}`;
      button.textContent = current ? t("live.hear_stop") : t("live.hear_start");
      button.setAttribute("aria-label", `${button.textContent}: ${petition.case_code}`);
      button.disabled = client.state !== "joined";
      const action = current ? "stop" : "start";
      button.addEventListener("click", () =>
        control(button, async () => {
          const ack = await client.markHeard(petition.petition_id, action);
          updatePetition(ack);
          renderPetitions();
        }),
      );
      item.append(button);
    }
    items.push(item);
  }
  petitionList.replaceChildren(...items);
}

function detachMedia(tile) {
  const video = tile.querySelector("video");
  const audio = tile.querySelector("audio");
  video.srcObject = null;
  audio.srcObject = null;
  tile.classList.remove("tile--playing");
}

function attachMedia(participantId, tile, stream) {
  const video = tile.querySelector("video");
  const audio = tile.querySelector("audio");
  // The video element stays muted so it may autoplay; sound comes from the audio element, which
  // the browser may hold until the user clicks (then the "Bật âm thanh" button shows).
  video.srcObject = stream;
  audio.srcObject = stream;
  video.play().catch(() => {});
  audio.play().catch(() => {
    soundButton.hidden = false;
  });
  watchFirstFrame(participantId, tile, video);
}

function watchFirstFrame(participantId, tile, video) {
  const onFrame = () => {
    if (!tile.isConnected) return;
    const at = performance.now();
    tile.classList.add("tile--playing");
    if (tile.dataset.firstFrameMs === undefined) {
      tile.dataset.firstFrameMs = String(Math.round(at));
      metrics.firstFrameByParticipant[participantId] = at;
      metrics.firstRemoteFrame ??= at;
    }
  };
  if ("requestVideoFrameCallback" in video) {
    video.requestVideoFrameCallback(onFrame);
  } else {
    video.addEventListener("loadeddata", onFrame, { once: true });
  }
}

function renderButtons() {
  const joined = client.state === "joined";
  micButton.disabled = !joined;
  cameraButton.disabled = !joined;
  leaveButton.disabled = !(joined || client.state === "reconnecting");
  micButton.textContent = client.audioMuted ? "Bật micrô" : "Tắt micrô";
  micButton.setAttribute("aria-pressed", String(client.audioMuted));
  cameraButton.textContent = client.videoMuted ? "Bật camera" : "Tắt camera";
  cameraButton.setAttribute("aria-pressed", String(client.videoMuted));
}

client.addEventListener("statechange", ({ detail }) => {
  root.dataset.state = detail.state;
  setStatus(STATUS_TEXT[detail.state] ?? detail.state);
  renderButtons();
  renderHearingStatus(client.hearing?.status ?? null);
  if (petitions.size) renderPetitions();
});

client.addEventListener("admission", ({ detail }) => showAdmission(detail.state));

client.addEventListener("left", ({ detail }) => {
  if (STATUS_TEXT[detail.reason]) setStatus(STATUS_TEXT[detail.reason]);
  // Out of the hearing: nothing to say about the others any more.
  clearOfficeTiles();
});

client.addEventListener("mutedbyhost", ({ detail }) => {
  localTile.querySelector(".tile__host-muted").hidden = !detail.audio;
});

client.addEventListener("localstream", ({ detail }) => {
  if (detail.stream) {
    localVideo.srcObject = detail.stream;
    localVideo.play().catch(() => {});
  } else {
    localTile.classList.add("tile--camera-off");
    setStatus("Không mở được camera và micrô; vẫn vào phiên để xem và nghe.");
  }
});

client.addEventListener("joined", ({ detail }) => {
  localTile.dataset.participantId = String(detail.participantId);
  root.dataset.moderator = String(detail.moderator);
  showLowBandwidth(localTile, detail.lowBandwidth);
  for (const participant of detail.participants) {
    labelTile(ensureTile(participant.participant_id), participant);
  }
  showAdmission(detail.admission);
  applySpotlight(detail.spotlight);
  renderHearingStatus(detail.hearing?.status ?? null);
  renderRecording(detail.recording);
  renderWaitingList();
  syncOfficeTiles();
  loadPetitions();
  watchSites();
});

client.addEventListener("spotlight", ({ detail }) => applySpotlight(detail.participantId));

/** Every site shows that the hearing is being recorded; who may record gets the button. */
function renderRecording(recording) {
  root.dataset.recording = recording ? "on" : "off";
  recordingBadge.hidden = !recording;
  if (!recordButton) return;
  recordButton.hidden = false;
  recordButton.textContent = recording ? t("live.record_stop") : t("live.record_start");
  recordButton.setAttribute("aria-pressed", String(Boolean(recording)));
  recordButton.disabled =
    client.state !== "joined" || (!recording && client.hearing?.status !== "live");
}

recordButton?.addEventListener("click", () =>
  control(recordButton, async () => {
    const path = `/api/v1/hearings/${hearingId}/recordings${client.recording ? "/stop" : ""}`;
    setStatus(client.recording ? t("live.record_stopping") : t("live.record_starting"));
    await api(path, { method: "POST" });
    setStatus(STATUS_TEXT[client.state] ?? client.state);
  }).finally(() => renderRecording(client.recording)),
);

client.addEventListener("recording", ({ detail }) => renderRecording(detail.recording));

client.addEventListener("hearingstatus", ({ detail }) => {
  renderHearingStatus(detail.status);
  renderRecording(client.recording);
});

client.addEventListener("nowhearing", ({ detail }) => {
  updatePetition(detail);
  renderPetitions();
});

client.addEventListener("participantjoined", ({ detail }) => {
  labelTile(ensureTile(detail.participant.participant_id), detail.participant);
  applySpotlight(client.spotlight);
});

client.addEventListener("participantupdated", ({ detail }) => {
  labelTile(ensureTile(detail.participant.participant_id), detail.participant);
});

client.addEventListener("participantleft", ({ detail }) =>
  removeTile(detail.participantId, detail.reason),
);

client.addEventListener("participantlink", ({ detail }) => showLink(detail.participantId, detail.state));

client.addEventListener("participantmode", ({ detail }) => {
  const tile = detail.local ? localTile : remoteTiles.get(detail.participantId);
  if (tile) showLowBandwidth(tile, detail.lowBandwidth);
});

client.addEventListener("hubevent", ({ detail }) => {
  if (detail.event === "site_status") applySiteStatus(detail.data);
});

client.addEventListener("remotestream", ({ detail }) => {
  if (detail.stream) {
    attachMedia(detail.participantId, ensureTile(detail.participantId), detail.stream);
  } else {
    const tile = remoteTiles.get(detail.participantId);
    if (tile) detachMedia(tile);
  }
});

client.addEventListener("mute", ({ detail }) => {
  if (detail.local) {
    setTileMuted(localTile, detail.audioMuted, detail.videoMuted);
    renderButtons();
    return;
  }
  const tile = remoteTiles.get(detail.participantId);
  if (tile) setTileMuted(tile, detail.audioMuted, detail.videoMuted);
});

client.addEventListener("activespeaker", ({ detail }) => {
  for (const [participantId, tile] of remoteTiles) {
    tile.classList.toggle("tile--speaking", participantId === detail.participantId);
  }
  localTile.classList.toggle("tile--speaking", detail.participantId === client.participantId);
});

client.addEventListener("signalingerror", ({ detail }) => {
  if (detail.local) {
    // Media negotiation broke: a fault worth an error (the browser tests watch for these).
    console.error("media negotiation failed:", detail.message);
    setStatus("Lỗi kết nối hình ảnh và âm thanh với hệ thống; hãy tải lại trang.");
    return;
  }
  // A refusal by the hub is reported, not a page fault.
  console.warn("hub:", detail.code, detail.message, detail.event ?? "");
});

micButton.addEventListener("click", () => {
  client.setMuted({ audio: !client.audioMuted }).catch((error) => setStatus(error.message));
});
cameraButton.addEventListener("click", () => {
  client.setMuted({ video: !client.videoMuted }).catch((error) => setStatus(error.message));
});
soundButton.addEventListener("click", () => {
  for (const audio of tiles.querySelectorAll("audio")) audio.play().catch(() => {});
  soundButton.hidden = true;
});
leaveButton.addEventListener("click", () => {
  client.leave();
});
startButton.addEventListener("click", () =>
  control(startButton, async () => {
    const ack = await client.startHearing();
    if (client.hearing) client.hearing.status = ack.status;
    renderHearingStatus(ack.status);
  }),
);
endButton.addEventListener("click", () => {
  if (!window.confirm(t("live.end_confirm"))) return;
  control(endButton, () => client.endHearing());
});
window.addEventListener("pagehide", () => client.close("unload"));

updateEmptyNote();
renderButtons();
client.join().catch((error) => {
  setStatus(`${STATUS_TEXT.failed} ${error.message ?? ""}`.trim());
});

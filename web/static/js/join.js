/**
 * The plain hearing page (/hearings/{id}/join): the local camera and one tile per remote site,
 * labelled with the site's office name. The richer leader view and kiosk reuse hearing-client.js.
 *
 * Each remote tile carries data-participant-id and data-office-name; once its video shows a
 * frame it also gets data-first-frame-ms. `window.tcdJoin` exposes the join timings so that
 * tests and people can read join-to-first-frame figures without devtools.
 */

import { HearingClient } from "./hearing-client.js";

const STATUS_TEXT = {
  idle: "Đang chuẩn bị…",
  connecting: "Đang kết nối tới hệ thống…",
  joining: "Đang vào phiên…",
  joined: "Đã vào phiên.",
  waiting: "Đang chờ chủ trì cho điểm cầu vào phiên…",
  reconnecting: "Mất kết nối, đang kết nối lại…",
  left: "Bạn đã rời phiên.",
  removed: "Chủ trì đã mời điểm cầu ra khỏi phiên.",
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

const rawHearingId = root.dataset.hearingId;
const hearingId = /^\d+$/.test(rawHearingId) ? Number(rawHearingId) : rawHearingId;

const client = new HearingClient({
  hearingId,
  iceServers: parseJson(root.dataset.iceServers, []),
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

function labelTile(tile, participant) {
  const officeName = participant.office_name || "Điểm cầu";
  const waiting = participant.state === "waiting";
  tile.dataset.officeName = participant.office_name || "";
  tile.dataset.state = participant.state ?? "admitted";
  tile.querySelector(".tile__office").textContent = officeName;
  tile.querySelector(".tile__note").textContent = participant.display_name || "";
  tile.querySelector(".tile__waiting").hidden = !waiting;
  tile.querySelector(".tile__admit").hidden = !(waiting && client.moderator);
  tile.classList.toggle("tile--waiting", waiting);
  tile.setAttribute("aria-label", officeName);
  setTileMuted(
    tile,
    Boolean(participant.audio_muted || participant.muted_by_host),
    Boolean(participant.video_muted),
  );
}

function setTileMuted(tile, audioMuted, videoMuted) {
  tile.querySelector(".tile__muted").hidden = !audioMuted;
  tile.classList.toggle("tile--camera-off", videoMuted);
}

function showAdmission(state) {
  root.dataset.admission = state;
  if (client.state === "joined") {
    setStatus(state === "waiting" ? STATUS_TEXT.waiting : STATUS_TEXT.joined);
  }
}

function ensureTile(participantId) {
  let tile = remoteTiles.get(participantId);
  if (tile) return tile;
  tile = tileTemplate.content.firstElementChild.cloneNode(true);
  tile.dataset.participantId = String(participantId);
  tile.querySelector(".tile__admit").addEventListener("click", (event) => {
    event.currentTarget.disabled = true;
    client.admit(participantId).catch((error) => {
      event.currentTarget.disabled = false;
      setStatus(`Không cho vào phiên được: ${error.message}`);
    });
  });
  remoteTiles.set(participantId, tile);
  tiles.append(tile);
  labelTile(tile, client.participants.get(participantId) ?? { participant_id: participantId });
  updateEmptyNote();
  return tile;
}

function removeTile(participantId) {
  const tile = remoteTiles.get(participantId);
  if (!tile) return;
  remoteTiles.delete(participantId);
  detachMedia(tile);
  tile.remove();
  updateEmptyNote();
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
});

client.addEventListener("admission", ({ detail }) => showAdmission(detail.state));

client.addEventListener("left", ({ detail }) => {
  if (STATUS_TEXT[detail.reason]) setStatus(STATUS_TEXT[detail.reason]);
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
  for (const participant of detail.participants) {
    labelTile(ensureTile(participant.participant_id), participant);
  }
  showAdmission(detail.admission);
});

client.addEventListener("participantjoined", ({ detail }) => {
  labelTile(ensureTile(detail.participant.participant_id), detail.participant);
});

client.addEventListener("participantupdated", ({ detail }) => {
  labelTile(ensureTile(detail.participant.participant_id), detail.participant);
});

client.addEventListener("participantleft", ({ detail }) => removeTile(detail.participantId));

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
window.addEventListener("pagehide", () => client.close("unload"));

updateEmptyNote();
renderButtons();
client.join().catch((error) => {
  setStatus(`${STATUS_TEXT.failed} ${error.message ?? ""}`.trim());
});

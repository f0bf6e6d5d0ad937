// A site's self-test before a hearing: camera, microphone (with a live level meter), speaker
// (a test tone the user confirms), then a test call whose media the hub sends straight back
// (the Socket.IO event self_test, signaling/self_test.py). The page measures what comes back
// from its peer connection's getStats(), scores the test good / okay / bad with the reasons,
// shows it and keeps it (POST /api/v1/self-tests), where operators see it on their board.
//
// The speaker cannot be measured by the page: the user says whether the tone was heard.
// "I do not hear it" is bad (the site would not hear the hearing); no answer by the end of the
// call is okay, not bad ("unconfirmed": nobody may be at the PC).
import { api, fmtTime, h, label, showError, t } from "./common.js";
import { HearingClient, normalizeIceServers } from "./hearing-client.js";

const root = document.getElementById("self-test");
const startButton = document.getElementById("st-start");
const SECONDS = 10;

// Thresholds, as hub/domain/self_tests.py names them (modelled on HMCTS's video-hearing
// grades: recent loss under 10 % good, 10-15 % poor, 15 % or more bad; round trip 400 / 800
// ms). The echoed media crosses the link twice, so its loss and round trip are the worst a
// hearing would see. A picture back under 10 fps or 120 lines is still a picture: okay.
const LIMITS = {
  lossBadPct: 15,
  lossOkayPct: 10,
  rttBadMs: 800,
  rttOkayMs: 400,
  fpsLow: 10,
  linesLow: 120,
  // The level meter's peak (0-1) under which the microphone counts as silent.
  micSilent: 0.01,
};
// How much each reason weighs (the same table as hub/domain/self_tests.py REASONS).
const BAD = new Set([
  "camera_blocked",
  "camera_missing",
  "camera_failed",
  "microphone_blocked",
  "microphone_missing",
  "microphone_failed",
  "speaker_not_heard",
  "hub_unreachable",
  "no_echo_video",
  "no_echo_audio",
  "loss_high",
  "rtt_high",
]);

/** good / okay / bad: the worst of the reasons. */
export function scoreOf(reasons) {
  if (reasons.some((r) => BAD.has(r))) return "bad";
  return reasons.length ? "okay" : "good";
}

const check = (id) => {
  const item = document.getElementById(id);
  return {
    item,
    set(result, text) {
      item.dataset.result = result;
      item.querySelector(".st-check__status").textContent = text;
    },
  };
};
const camera = check("st-camera");
const microphone = check("st-microphone");
const speaker = check("st-speaker");
const loop = check("st-loop");

/** The reason a getUserMedia failure gives, e.g. camera_blocked. */
function deviceReason(device, error) {
  const name = error?.name;
  if (name === "NotAllowedError" || name === "SecurityError") return `${device}_blocked`;
  if (name === "NotFoundError" || name === "OverconstrainedError") return `${device}_missing`;
  return `${device}_failed`;
}

async function openDevice(kind, device) {
  if (!navigator.mediaDevices?.getUserMedia) {
    // Plain HTTP on another machine's address is no secure context: the browser offers no
    // camera at all, the same as blocking it.
    return { stream: null, reason: `${device}_blocked` };
  }
  const constraints =
    kind === "video"
      ? { video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } } }
      : { audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } };
  try {
    return { stream: await navigator.mediaDevices.getUserMedia(constraints), reason: null };
  } catch (error) {
    return { stream: null, reason: deviceReason(device, error) };
  }
}

// --- microphone level meter and speaker tone (Web Audio) ------------------------------------

function startMeter(audio, stream) {
  const meter = document.getElementById("st-mic-meter");
  const analyser = audio.createAnalyser();
  analyser.fftSize = 1024;
  audio.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const state = { peak: 0 };
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let level = 0;
    for (const value of samples) level = Math.max(level, Math.abs(value));
    level = Math.min(1, level);
    meter.value = level;
    state.peak = Math.max(state.peak, level);
  }, 100);
  state.stop = () => clearInterval(timer);
  return state;
}

function playTone(audio) {
  const oscillator = audio.createOscillator();
  const gain = audio.createGain();
  oscillator.frequency.value = 660;
  gain.gain.value = 0.2;
  oscillator.connect(gain).connect(audio.destination);
  oscillator.start();
  oscillator.stop(audio.currentTime + 1.5);
  if (heard === null) speaker.set("checking", t("st.tone_playing"));
}

// --- the call through the hub ---------------------------------------------------------------

/** One getStats() reading of the echo call: counters and the latest figures. */
function readSample(report) {
  const stats = new Map();
  report.forEach((stat) => stats.set(stat.id, stat));
  const sample = {
    at: performance.now(),
    lostDown: 0,
    receivedDown: 0,
    sentUp: 0,
    lostUp: null,
    jitterMs: null,
    framesDecoded: 0,
    width: null,
    height: null,
    audioPackets: 0,
    audioLevel: null,
    rttMs: null,
    candidate: null,
  };
  for (const stat of stats.values()) {
    // Every inbound stream of this connection is the site's own media coming back.
    if (stat.type === "inbound-rtp") {
      sample.lostDown += Math.max(0, stat.packetsLost ?? 0);
      sample.receivedDown += stat.packetsReceived ?? 0;
      if (typeof stat.jitter === "number") sample.jitterMs = Math.max(sample.jitterMs ?? 0, stat.jitter * 1000);
      if (stat.kind === "video") {
        sample.framesDecoded += stat.framesDecoded ?? 0;
        if (stat.frameHeight) {
          sample.width = stat.frameWidth;
          sample.height = stat.frameHeight;
        }
      } else if (stat.kind === "audio") {
        sample.audioPackets += stat.packetsReceived ?? 0;
        if (typeof stat.audioLevel === "number") sample.audioLevel = Math.max(sample.audioLevel ?? 0, stat.audioLevel);
      }
    } else if (stat.type === "outbound-rtp") {
      sample.sentUp += stat.packetsSent ?? 0;
    } else if (stat.type === "remote-inbound-rtp" && typeof stat.packetsLost === "number") {
      // The hub's receiver reports of what this site sent.
      sample.lostUp = (sample.lostUp ?? 0) + Math.max(0, stat.packetsLost);
    } else if (stat.type === "transport" && stat.selectedCandidatePairId) {
      const pair = stats.get(stat.selectedCandidatePairId);
      if (pair && typeof pair.currentRoundTripTime === "number") sample.rttMs = pair.currentRoundTripTime * 1000;
      sample.candidate = stats.get(pair?.localCandidateId)?.candidateType ?? null;
    }
  }
  return sample;
}

const round1 = (value) => Math.round(value * 10) / 10;
const pct = (part, whole) => (whole > 0 ? Math.min(100, round1((100 * part) / whole)) : null);

/** The figures of a call from its samples (one a second). */
export function figuresOf(samples) {
  const first = samples[0];
  const last = samples[samples.length - 1];
  const lossDown = pct(
    last.lostDown - first.lostDown,
    last.lostDown - first.lostDown + last.receivedDown - first.receivedDown,
  );
  const lossUp = last.lostUp !== null ? pct(last.lostUp - (first.lostUp ?? 0), last.sentUp - first.sentUp) : null;
  // The frame rate over the last five seconds: the first second or two go to ICE, DTLS and the
  // first keyframe.
  const recent = samples.find((s) => last.at - s.at <= 5000 + 100) ?? first;
  const span = (last.at - recent.at) / 1000;
  const fps = span > 0 ? round1((last.framesDecoded - recent.framesDecoded) / span) : null;
  const rtts = samples.map((s) => s.rttMs).filter((v) => typeof v === "number").sort((a, b) => a - b);
  const levels = samples.map((s) => s.audioLevel).filter((v) => typeof v === "number");
  const losses = [lossUp, lossDown].filter((v) => v !== null);
  return {
    rtt_ms: rtts.length ? round1(rtts[Math.floor(rtts.length / 2)]) : null,
    loss_pct: losses.length ? Math.max(...losses) : null,
    loss_up_pct: lossUp,
    loss_down_pct: lossDown,
    jitter_ms: last.jitterMs === null ? null : round1(last.jitterMs),
    video_fps: last.framesDecoded > 0 ? fps : 0,
    video_width: last.framesDecoded > 0 ? last.width : null,
    video_height: last.framesDecoded > 0 ? last.height : null,
    audio_level: levels.length ? Math.round(Math.max(...levels) * 1000) / 1000 : null,
    seconds: round1((last.at - first.at) / 1000),
    candidate_type: last.candidate,
    // Counters the reasons need (not sent).
    framesDecoded: last.framesDecoded,
    audioPackets: last.audioPackets - first.audioPackets,
  };
}

async function runCall(localStream) {
  const iceServers = normalizeIceServers(JSON.parse(root.dataset.iceServers || "[]"));
  const client = new HearingClient({
    hearingId: null,
    iceServers,
    localStream,
    selfTest: SECONDS,
    statsIntervalMs: 0,
    autoRejoin: false,
  });
  window.tcdSelfTest.client = client;
  const echo = document.getElementById("st-echo-video");
  const echoAudio = document.getElementById("st-echo-audio");
  client.addEventListener("remotestream", (event) => {
    if (event.detail.participantId !== client.participantId) return;
    echo.srcObject = event.detail.stream;
    echoAudio.srcObject = event.detail.stream;
  });
  loop.set("checking", t("st.checking"));
  try {
    await client.join();
  } catch (error) {
    client.close("failed");
    loop.set("bad", t("st.loop_failed"));
    return null;
  }
  const progress = document.getElementById("st-progress");
  const samples = [];
  const take = async () => {
    const pc = client.peerConnection;
    if (pc) samples.push(readSample(await pc.getStats()));
  };
  await take();
  for (let second = 1; second <= SECONDS; second += 1) {
    loop.set("checking", t("st.loop_running", { seconds: SECONDS - second + 1 }));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    progress.value = second;
    await take();
  }
  await client.leave();
  echo.srcObject = echoAudio.srcObject = null;
  if (samples.length < 2) {
    loop.set("bad", t("st.loop_failed"));
    return null;
  }
  return figuresOf(samples);
}

// --- scoring and keeping ----------------------------------------------------------------------

function reasonsOf({ cameraReason, micReason, micPeak, heard, call }) {
  const reasons = [];
  if (cameraReason) reasons.push(cameraReason);
  if (micReason) reasons.push(micReason);
  else if (micPeak < LIMITS.micSilent) reasons.push("microphone_silent");
  if (heard === false) reasons.push("speaker_not_heard");
  else if (heard === null) reasons.push("speaker_unconfirmed");
  if (!call) {
    reasons.push("hub_unreachable");
    return reasons;
  }
  // Media a device did not give cannot come back: its device's reason says enough.
  if (!cameraReason && call.framesDecoded === 0) reasons.push("no_echo_video");
  if (!micReason && call.audioPackets === 0) reasons.push("no_echo_audio");
  if (call.loss_pct !== null && call.loss_pct >= LIMITS.lossBadPct) reasons.push("loss_high");
  else if (call.loss_pct !== null && call.loss_pct >= LIMITS.lossOkayPct) reasons.push("loss_elevated");
  if (call.rtt_ms !== null && call.rtt_ms >= LIMITS.rttBadMs) reasons.push("rtt_high");
  else if (call.rtt_ms !== null && call.rtt_ms >= LIMITS.rttOkayMs) reasons.push("rtt_elevated");
  if (call.framesDecoded > 0) {
    if (call.video_fps !== null && call.video_fps < LIMITS.fpsLow) reasons.push("fps_low");
    if (call.video_height !== null && call.video_height < LIMITS.linesLow) reasons.push("resolution_low");
  }
  return reasons;
}

const CANDIDATES = ["host", "srflx", "prflx", "relay"];

/** The figures as POST /api/v1/self-tests takes them (SelfTestFigures: nulls left out). */
function postedFigures(call, micPeak) {
  const figures = { mic_level: Math.round(micPeak * 1000) / 1000 };
  if (call) {
    for (const key of ["rtt_ms", "loss_pct", "loss_up_pct", "loss_down_pct", "jitter_ms", "video_fps", "audio_level", "seconds"]) {
      if (typeof call[key] === "number" && Number.isFinite(call[key])) figures[key] = call[key];
    }
    for (const key of ["video_width", "video_height"]) {
      if (Number.isInteger(call[key])) figures[key] = call[key];
    }
    if (CANDIDATES.includes(call.candidate_type)) figures.candidate_type = call.candidate_type;
  }
  return figures;
}

function showResult(score, reasons, figures) {
  document.getElementById("st-result").hidden = false;
  const badge = document.getElementById("st-score");
  badge.className = `st-score st-score--${score}`;
  badge.textContent = label("selftest.score", score);
  document.getElementById("st-reasons").replaceChildren(
    ...(reasons.length
      ? reasons.map((reason) => h("li", { dataset: { reason } }, label("selftest.reason", reason)))
      : [h("li", {}, t("st.no_reasons"))]),
  );
  const parts = [];
  if (typeof figures.rtt_ms === "number") parts.push(t("st.fig_rtt", { ms: figures.rtt_ms }));
  if (typeof figures.loss_pct === "number") parts.push(t("st.fig_loss", { pct: figures.loss_pct }));
  if (figures.video_width) {
    parts.push(t("st.fig_video", { width: figures.video_width, height: figures.video_height, fps: figures.video_fps ?? "—" }));
  }
  if (typeof figures.audio_level === "number") parts.push(t("st.fig_audio", { level: figures.audio_level }));
  if (figures.candidate_type) parts.push(t("st.fig_candidate", { type: label("cand", figures.candidate_type) }));
  document.getElementById("st-figures").textContent = parts.join(" · ");
}

// --- the run ----------------------------------------------------------------------------------

let heard = null;
let audio = null;

function answer(value) {
  heard = value;
  speaker.set(value ? "good" : "bad", t(value ? "st.heard_yes" : "st.heard_no"));
}

async function run() {
  startButton.disabled = true;
  root.dataset.state = "running";
  delete root.dataset.score;
  delete root.dataset.saved;
  heard = null;
  document.getElementById("st-result").hidden = true;
  document.getElementById("st-error").hidden = true;
  // Made on the click, so that the browser lets it play.
  audio ??= new AudioContext();
  await audio.resume().catch(() => {});

  camera.set("checking", t("st.checking"));
  const video = await openDevice("video", "camera");
  camera.set(video.reason ? "bad" : "good", video.reason ? label("selftest.reason", video.reason) : t("st.working"));
  document.getElementById("st-camera-video").srcObject = video.stream;

  microphone.set("checking", t("st.checking"));
  const mic = await openDevice("audio", "microphone");
  const meter = mic.stream ? startMeter(audio, mic.stream) : { peak: 0, stop() {} };
  microphone.set(mic.reason ? "bad" : "checking", mic.reason ? label("selftest.reason", mic.reason) : t("st.checking"));

  for (const id of ["st-tone", "st-heard", "st-not-heard"]) document.getElementById(id).disabled = false;
  playTone(audio);

  const tracks = [...(video.stream?.getTracks() ?? []), ...(mic.stream?.getTracks() ?? [])];
  const call = await runCall(new MediaStream(tracks));
  meter.stop();
  if (!mic.reason) {
    const silent = meter.peak < LIMITS.micSilent;
    microphone.set(silent ? "okay" : "good", silent ? label("selftest.reason", "microphone_silent") : t("st.working"));
  }
  if (heard === null) speaker.set("okay", label("selftest.reason", "speaker_unconfirmed"));
  if (call) loop.set(call.framesDecoded > 0 || call.audioPackets > 0 ? "good" : "bad", t("st.loop_done"));
  for (const track of tracks) track.stop();

  const reasons = reasonsOf({ cameraReason: video.reason, micReason: mic.reason, micPeak: meter.peak, heard, call });
  const score = scoreOf(reasons);
  const figures = postedFigures(call, meter.peak);
  window.tcdSelfTest.result = { score, reasons, figures };
  showResult(score, reasons, figures);
  root.dataset.score = score;
  root.dataset.state = "done";

  const saved = document.getElementById("st-saved");
  saved.textContent = t("st.saving");
  try {
    const kept = await api("/api/v1/self-tests", { method: "POST", body: { score, reasons, figures } });
    saved.textContent = t("st.saved", { time: fmtTime(kept.at) });
    window.tcdSelfTest.kept = kept;
    root.dataset.saved = "true";
  } catch (error) {
    saved.textContent = "";
    showError(document.getElementById("st-error"), error);
    root.dataset.saved = "false";
  } finally {
    startButton.textContent = t("st.again");
    startButton.disabled = false;
  }
}

window.tcdSelfTest = { result: null, kept: null, client: null, scoreOf };
startButton.addEventListener("click", () => {
  run().catch((error) => {
    showError(document.getElementById("st-error"), error);
    root.dataset.state = "failed";
    startButton.disabled = false;
  });
});
document.getElementById("st-tone").addEventListener("click", () => audio && playTone(audio));
document.getElementById("st-heard").addEventListener("click", () => answer(true));
document.getElementById("st-not-heard").addEventListener("click", () => answer(false));

/**
 * One site's connection to a live hearing: Socket.IO signaling plus one RTCPeerConnection to the
 * hub's SFU, per the protocol in docs/signaling.md (summary in docs/CONTRACTS.md).
 *
 * Shared by the plain join page, the leader view and the site kiosk, so it holds no DOM code:
 * pages listen to its events and draw what they like.
 *
 * Events (CustomEvent, payload in `event.detail`):
 *   statechange        {state}  idle | connecting | joining | joined | reconnecting | left | failed
 *   localstream        {stream, error}  the camera/mic stream (error set when none could be opened)
 *   joined             {participantId, hearing, participants, admission, moderator, spotlight,
 *                       nowHearing}
 *   admission          {state}  this site's own place: "waiting" (waiting room) or "admitted"
 *   participantjoined  {participant}
 *   participantupdated {participant}  details or state (waiting/admitted, muted) changed
 *   participantleft    {participantId, reason, participant}  reason: left | dropped | removed
 *                      (reset: this site's own connection to the hub went; it rejoins)
 *   participantlink    {participantId, state}  the hub sees that site's link "reconnecting"
 *                      or "connected" again
 *   participantmode    {participantId, lowBandwidth, reason, local}  a site (local: this one)
 *                      went into low-bandwidth mode (sound and the spotlit video only) or back
 *   remotestream       {participantId, stream}  stream is null when the participant has no media
 *   mute               {participantId, audioMuted, videoMuted, local}
 *   mutedbyhost        {audio}  the host stopped (true) or resumed forwarding this site's audio
 *   activespeaker      {participantId, levelDbov}
 *   spotlight          {participantId}  the site every site should show large (null: none)
 *   hearingstatus      {status}  a moderator started or ended the hearing
 *   nowhearing         {petition_id, case_code, heard_from, heard_to}
 *   hubevent           {event, data}  every event from the hub, for pages that want more
 *   connectionstate    {state}  the RTCPeerConnection's connectionState
 *   signalingerror     {code, message, event, local}  an `error` event, a refused request,
 *                      or (local: true) a description this browser could not apply
 *   left               {reason}  reason: left | removed | revoked | ended | closed | unload
 *   stats              {figures}  this site's own figures, as sent to the hub (client_stats)
 *
 * While joined, every `statsIntervalMs` (3 s) the client reads its peer connection's getStats()
 * and sends the hub `client_stats` (docs/signaling.md): what it sends (resolution, frame rate,
 * quality-limitation reason), how (the selected pair's local candidate type, the available
 * outgoing bitrate) and what it receives from each other site (loss, jitter, frame rate).
 *
 * Moderators (the chair, leaders of the host office) also have admit(), sendToWaiting(),
 * remove(), muteSite(), setSpotlight(), setLowBandwidth(), startHearing(), endHearing() and
 * markHeard()
 * (the field `nowHearing` holds the petition being heard).
 */

import { io } from "/static/vendor/socket.io.esm.min.js";

/** A refusal from the hub (`{ok: false, error}` ack, `error` event or refused connection). */
export class SignalingError extends Error {
  constructor(code, message, event = null) {
    super(message);
    this.name = "SignalingError";
    this.code = code;
    this.event = event;
  }
}

const DEFAULT_MEDIA = {
  audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } },
};

/** RTCIceServer objects from either the join ack ({urls,...}) or the page (plain URL strings). */
export function normalizeIceServers(servers) {
  if (!Array.isArray(servers)) return [];
  return servers
    .map((server) => (typeof server === "string" ? { urls: server } : server))
    .filter((server) => server && server.urls);
}

/** Put `codec` ("vp8", "h264": its constrained-baseline, packetization-mode 1 profile, the one
 * the hub speaks) first in the video section's codecs; the others stay, in Chromium's order. */
function preferVideoCodec(transceiver, codec) {
  const capabilities = RTCRtpReceiver.getCapabilities?.("video");
  if (!capabilities || !transceiver.setCodecPreferences) return;
  const wanted = (c) => {
    const mime = c.mimeType.toLowerCase();
    if (codec === "h264") {
      const fmtp = (c.sdpFmtpLine || "").toLowerCase();
      return mime === "video/h264" && fmtp.includes("packetization-mode=1")
        && fmtp.includes("profile-level-id=42e01f");
    }
    return mime === `video/${codec}`;
  };
  const first = capabilities.codecs.filter(wanted);
  if (!first.length) return;
  transceiver.setCodecPreferences([...first, ...capabilities.codecs.filter((c) => !wanted(c))]);
}

/** The video codec a site asks to send by its page's address (`?video_codec=h264`, for a
 * device whose camera or encoder wants H.264), or undefined for the browser's own choice. */
export function chosenVideoCodec() {
  const asked = new URLSearchParams(window.location.search).get("video_codec");
  return asked === "h264" || asked === "vp8" ? asked : undefined;
}

export class HearingClient extends EventTarget {
  /**
   * @param {object} options
   * @param {number|string} options.hearingId
   * @param {string} [options.url]  hub origin; same origin when omitted (the session cookie is sent)
   * @param {string} [options.token]  sign-in or join token; omitted on pages signed in by cookie
   * @param {Array} [options.iceServers]  used only if the join ack carries none
   * @param {MediaStreamConstraints} [options.media]
   * @param {MediaStream} [options.localStream]  publish this instead of opening the camera
   * @param {number} [options.ackTimeoutMs]
   * @param {boolean} [options.autoRejoin]  join again after the signaling connection comes back
   * @param {number} [options.statsIntervalMs]  how often client_stats go to the hub (0: never)
   * @param {string} [options.videoCodec]  "vp8" or "h264": offer it first, so this site sends
   *   it (a device with a hardware H.264 encoder); it still receives both (the hub forwards
   *   each site's video in the codec it was sent in)
   * @param {number} [options.selfTest]  seconds of a self-test instead of a hearing: the hub
   *   sends this site's own media straight back (`self_test` instead of `join`; the echoed
   *   tracks arrive as a remotestream of this site's own participantId)
   */
  constructor({
    hearingId,
    url = undefined,
    token = undefined,
    iceServers = [],
    media = DEFAULT_MEDIA,
    localStream = null,
    ackTimeoutMs = 10000,
    autoRejoin = true,
    statsIntervalMs = 3000,
    selfTest = 0,
    videoCodec = undefined,
  }) {
    super();
    this.videoCodec = videoCodec;
    this.selfTest = selfTest;
    this.hearingId = hearingId;
    this.url = url;
    this.token = token;
    this.fallbackIceServers = normalizeIceServers(iceServers);
    this.media = media;
    this.ackTimeoutMs = ackTimeoutMs;
    this.autoRejoin = autoRejoin;
    this.statsIntervalMs = statsIntervalMs;
    /** The last figures sent to the hub (client_stats), null before the first. */
    this.lastStats = null;
    /** {camera, microphone}: "ok", "missing" or "blocked", once local media was asked for. */
    this.devices = {};

    this.state = "idle";
    this.participantId = null;
    this.hearing = null;
    /** participant_id -> participant record from the hub (others only). */
    this.participants = new Map();
    /** participant_id -> MediaStream of the tracks the hub forwards from that participant. */
    this.remoteStreams = new Map();
    this.localStream = localStream;
    this.audioMuted = false;
    this.videoMuted = false;
    /** "waiting" while in the waiting room, "admitted" once a moderator let this site in. */
    this.admission = null;
    this.moderator = false;
    this.mutedByHost = false;
    this.spotlight = null;
    // This site's own low-bandwidth mode (participant_mode).
    this.lowBandwidth = false;
    this.nowHearing = null;
    /** The running recording ({recording_id, started_at, by}) or null. */
    this.recording = null;
    /** performance.now() stamps of the join steps, for measuring join-to-first-frame. */
    this.timings = {};

    this._ownsLocalStream = localStream === null;
    this._socket = null;
    this._pc = null;
    // SDP work runs one step at a time: a hub offer must not be applied while our own first
    // offer is still waiting for its answer.
    this._sdpQueue = Promise.resolve();
    // Candidates wait until the hub has answered our offer: the hub handles events concurrently,
    // so a candidate sent earlier could reach it before the peer connection exists.
    this._pendingCandidates = [];
    this._answered = false;
    this._leaving = false;
    this._session = 0;
    /** kind -> RTCRtpSender of this site's own audio and video. */
    this._senders = {};
    this._statsTimer = null;
    this._statsBusy = false;
    /** participant_id -> {lost, received} at the previous sample (for loss per interval). */
    this._inboundCounters = new Map();
  }

  /** Open the camera and signaling, join the hearing and start media. Resolves once joined. */
  async join() {
    if (this.state !== "idle" && this.state !== "left" && this.state !== "failed") {
      throw new Error(`join() called while ${this.state}`);
    }
    this._leaving = false;
    this.timings = { joinCalled: performance.now() };
    this._setState("connecting");
    this._startStats();
    try {
      // The camera is not needed to join or to receive: the offer goes out with empty senders
      // and the camera's tracks are put in when it is ready (no renegotiation needed), so a slow
      // camera start does not delay seeing the others.
      const media = this._openLocalMedia().then(() => this._attachLocalTracks());
      await this._connect();
      await Promise.all([this._startSession(), media]);
    } catch (error) {
      this._teardownPeer();
      this._setState("failed");
      throw error;
    }
  }

  /** Switch the local microphone and/or camera on or off and tell the others. */
  async setMuted({ audio = this.audioMuted, video = this.videoMuted } = {}) {
    this.audioMuted = Boolean(audio);
    this.videoMuted = Boolean(video);
    for (const track of this.localStream?.getAudioTracks() ?? []) track.enabled = !this.audioMuted;
    for (const track of this.localStream?.getVideoTracks() ?? []) track.enabled = !this.videoMuted;
    this._emit("mute", {
      participantId: this.participantId,
      audioMuted: this.audioMuted,
      videoMuted: this.videoMuted,
      local: true,
    });
    if (this.state === "joined") {
      await this._request("mute", { audio_muted: this.audioMuted, video_muted: this.videoMuted });
    }
  }

  /** Leave the hearing: tell the hub, close media and signaling. Safe to call twice. */
  async leave(reason = "left") {
    if (this._leaving) return;
    this._leaving = true;
    const socket = this._socket;
    if (socket?.connected && this.state === "joined") {
      // A short wait only: the hub also notices the disconnect, and a page being closed cannot
      // wait long.
      await this._request("leave", {}, 1500).catch(() => {});
    }
    this.close(reason);
  }

  /** Drop everything at once without telling the hub (page unload); the hub sees a disconnect. */
  close(reason = "closed") {
    this._leaving = true;
    this._session += 1;
    this._stopStats();
    this._teardownPeer();
    this._socket?.removeAllListeners();
    this._socket?.disconnect();
    this._socket = null;
    if (this._ownsLocalStream && this.localStream) {
      for (const track of this.localStream.getTracks()) track.stop();
      this.localStream = null;
    }
    if (this.state !== "left") {
      this._setState("left");
      this._emit("left", { reason });
    }
  }

  /** The peer connection, for statistics (getStats); null when not in a hearing. */
  get peerConnection() {
    return this._pc;
  }

  // --- moderator controls (the hub refuses them with `forbidden` for anyone else) ------------

  /** Let a site in from the waiting room. */
  admit(participantId) {
    return this.request("admit", { participant_id: participantId });
  }

  /** Send a site back to the waiting room: its media stops both ways. */
  sendToWaiting(participantId) {
    return this.request("send_to_waiting", { participant_id: participantId });
  }

  /** Remove a site from the hearing. */
  remove(participantId) {
    return this.request("remove", { participant_id: participantId });
  }

  /** Stop (audio true) or resume forwarding a site's sound. */
  muteSite(participantId, audio) {
    return this.request("mute_site", { participant_id: participantId, audio: Boolean(audio) });
  }

  /** Show one site large everywhere (where the citizen sits); null clears it. */
  setSpotlight(participantId) {
    return this.request("spotlight", { participant_id: participantId ?? null });
  }

  /** Put a site in low-bandwidth mode (on) or back to full video. */
  setLowBandwidth(participantId, on) {
    return this.request("low_bandwidth", { participant_id: participantId, on: Boolean(on) });
  }

  startHearing() {
    return this.request("start_hearing", {});
  }

  endHearing() {
    return this.request("end_hearing", {});
  }

  /** Mark a petition as being heard ("start") or no longer ("stop"). */
  markHeard(petitionId, action) {
    return this.request("now_hearing", { petition_id: petitionId, action });
  }

  /** Send any event of the protocol and await its ack (rejects with SignalingError). */
  request(event, payload = {}) {
    return this._request(event, payload);
  }

  // --- joining ---------------------------------------------------------------------------

  async _openLocalMedia() {
    if (this.localStream) {
      this._emit("localstream", { stream: this.localStream, error: null });
      return;
    }
    let error = null;
    // A site without a camera (or whose camera is busy) still joins with what it has.
    for (const constraints of [this.media, { audio: this.media.audio }, { video: this.media.video }]) {
      if (!constraints.audio && !constraints.video) continue;
      try {
        this.localStream = await navigator.mediaDevices.getUserMedia(constraints);
        break;
      } catch (err) {
        error ??= err;
      }
    }
    this.timings.mediaReady = performance.now();
    this.devices = deviceStates(this.media, this.localStream, error);
    this._applyLocalMute();
    this._emit("localstream", { stream: this.localStream, error: this.localStream ? null : error });
  }

  /** Put the camera and microphone into the senders of the offer already made, if any. */
  async _attachLocalTracks() {
    const pc = this._pc;
    if (!pc || !this.localStream) return;
    for (const track of this.localStream.getTracks()) {
      const sender = this._senders?.[track.kind];
      if (!sender || sender.track) continue;
      try {
        // replaceTrack needs no renegotiation (setStreams would, so the msid stays empty;
        // the hub maps tracks by m-line, not by stream).
        await sender.replaceTrack(track);
      } catch (error) {
        if (pc === this._pc && pc.connectionState !== "closed") throw error;
      }
    }
  }

  _applyLocalMute() {
    for (const track of this.localStream?.getAudioTracks() ?? []) track.enabled = !this.audioMuted;
    for (const track of this.localStream?.getVideoTracks() ?? []) track.enabled = !this.videoMuted;
  }

  /** Resolves with a connected socket; rejects if the hub refuses the connection. */
  _connect() {
    if (this._socket?.connected) return Promise.resolve(this._socket);
    const options = {
      // WebSocket first saves the polling handshake and upgrade round trips; polling remains
      // for networks that block WebSocket.
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      // Back within about a second of the network's return (a site must not stay out of a
      // hearing for the 5 s Socket.IO's backoff would reach); each try is randomised ±50 %.
      reconnectionDelay: 500,
      reconnectionDelayMax: 1000,
      timeout: this.ackTimeoutMs,
    };
    if (this.token) options.auth = { token: this.token };
    const socket = this.url ? io(this.url, options) : io(options);
    this._socket = socket;
    this._bindSocket(socket);
    return new Promise((resolve, reject) => {
      const onConnect = () => {
        this.timings.socketConnected ??= performance.now();
        socket.off("connect_error", onError);
        resolve(socket);
      };
      const onError = (err) => {
        // socket.active is false when the hub refused us (bad token): retrying cannot help.
        if (socket.active) return;
        socket.off("connect", onConnect);
        reject(new SignalingError("connection_refused", err.message || String(err)));
      };
      socket.once("connect", onConnect);
      socket.on("connect_error", onError);
    });
  }

  _bindSocket(socket) {
    socket.on("offer", (msg) => {
      this.timings.hubOfferReceived ??= performance.now();
      this._enqueue(() => this._onHubOffer(msg));
    });
    socket.on("ice_candidate", (msg) => this._onHubCandidate(msg));
    socket.on("participant_joined", (msg) => this._onParticipantJoined(msg?.participant));
    socket.on("participant_left", (msg) => this._onParticipantLeft(msg));
    socket.on("mute_state", (msg) => this._onMuteState(msg));
    socket.on("active_speaker", (msg) =>
      this._emit("activespeaker", {
        participantId: msg?.participant_id ?? null,
        levelDbov: msg?.level_dbov ?? null,
      }),
    );
    socket.on("error", (msg) =>
      this._emit("signalingerror", {
        code: msg?.code ?? "error",
        message: msg?.message ?? "",
        event: msg?.event ?? null,
      }),
    );
    socket.on("waiting", () => this._setAdmission("waiting"));
    socket.on("admitted", () => this._setAdmission("admitted"));
    socket.on("participant_state", (msg) => this._onParticipantState(msg));
    socket.on("muted_by_host", (msg) => {
      this.mutedByHost = Boolean(msg?.audio);
      this._emit("mutedbyhost", { audio: this.mutedByHost });
    });
    socket.on("spotlight", (msg) => {
      this.spotlight = msg?.participant_id ?? null;
      this._emit("spotlight", { participantId: this.spotlight });
    });
    socket.on("hearing_status", (msg) => {
      if (this.hearing && msg?.status) this.hearing.status = msg.status;
      this._emit("hearingstatus", { status: msg?.status ?? null });
    });
    socket.on("now_hearing", (msg) => {
      this.nowHearing = msg ?? null;
      this._emit("nowhearing", { ...(msg ?? {}) });
    });
    // A recording of the hearing started or stopped (every site shows it while it runs).
    socket.on("recording", (msg) => {
      this.recording = msg?.recording ? msg : null;
      this._emit("recording", { recording: this.recording });
    });
    // The hub is done with this site: leaving on our side too stops the camera and the socket.
    socket.on("media_moved", () => this._onMediaMoved());
    // The hub heard nothing from our peer connection for a few seconds while the socket held
    // (UDP blocked or broken): a new connection, as after a worker move (aiortc has no ICE
    // restart to offer instead).
    socket.on("media_reset", () => this._onMediaMoved());
    socket.on("removed", () => this.close("removed"));
    // The sign-in or join link this socket stood on was revoked (signed out, expired, the
    // office taken off the hearing): the hub disconnects us, and rejoining would be refused.
    socket.on("revoked", () => this.close("revoked"));
    socket.on("hearing_ended", () => this.close("ended"));
    // The hub ended a self-test left running past its time.
    socket.on("self_test_ended", () => this.close("ended"));
    socket.on("participant_link", (msg) => this._onParticipantLink(msg));
    socket.on("participant_mode", (msg) => this._onParticipantMode(msg));
    socket.onAny((event, data) => this._emit("hubevent", { event, data }));
    socket.on("disconnect", (reason) => this._onDisconnect(reason));
    socket.on("connect", () => this._onReconnect());
  }

  async _startSession() {
    const session = ++this._session;
    this._setState("joining");
    // The offer does not depend on the hub's reply to join: prepare it (and start gathering
    // candidates) while the hub admits us, with the ICE servers the page was given.
    let prepared = this._prepareOffer(this.fallbackIceServers);
    let ack;
    try {
      ack = this.selfTest
        ? await this._request("self_test", { seconds: this.selfTest })
        : await this._request("join", { hearing_id: this.hearingId });
    } catch (error) {
      if (session === this._session) this._teardownPeer();
      throw error;
    }
    if (session !== this._session) return;
    this.timings.joinAcked = performance.now();
    this.participantId = ack.participant_id;
    this.hearing = ack.hearing ?? null;
    this.admission = ack.state ?? "admitted";
    this.moderator = Boolean(ack.moderator);
    this.spotlight = ack.spotlight ?? null;
    this.nowHearing = ack.now_hearing ?? null;
    this.recording = ack.recording ?? null;
    this.mutedByHost = false;
    this.lowBandwidth = false;
    this.participants.clear();
    for (const participant of ack.participants ?? []) {
      if (participant.participant_id !== this.participantId) {
        this.participants.set(participant.participant_id, participant);
      } else {
        // A site that dropped in low-bandwidth mode rejoins in it.
        this.lowBandwidth = Boolean(participant.low_bandwidth);
      }
    }
    const iceServers = normalizeIceServers(ack.ice_servers);
    if (iceServers.length && !sameIceServers(iceServers, this.fallbackIceServers)) {
      // Rare: the page and the ack come from the same settings, and the hub issues one client
      // the same TURN credential for a while. A page older than that (a kiosk left open) has
      // begun gathering with an expired credential, so start over with the hub's.
      await prepared.catch(() => {});
      this._pc?.close();
      prepared = this._prepareOffer(iceServers);
    }
    // A rejoin (autoRejoin) prepares its offer with the newest credential the hub gave.
    if (iceServers.length) this.fallbackIceServers = iceServers;
    this._setState("joined");
    this._emit("joined", {
      participantId: this.participantId,
      hearing: this.hearing,
      participants: [...this.participants.values()],
      admission: this.admission,
      moderator: this.moderator,
      spotlight: this.spotlight,
      nowHearing: this.nowHearing,
      recording: this.recording,
      lowBandwidth: this.lowBandwidth,
    });
    if (this.audioMuted || this.videoMuted) {
      this._request("mute", { audio_muted: this.audioMuted, video_muted: this.videoMuted }).catch(
        () => {},
      );
    }
    await this._enqueue(() => this._sendFirstOffer(prepared, session));
  }

  /** A new peer connection with its local offer set; resolves when the offer is ready. */
  _prepareOffer(iceServers) {
    const pc = this._createPeer(iceServers);
    return pc.createOffer().then((offer) => pc.setLocalDescription(offer));
  }

  _createPeer(iceServers) {
    const pc = new RTCPeerConnection({ iceServers, bundlePolicy: "max-bundle" });
    this._pc = pc;
    this._answered = false;
    this._pendingCandidates = [];
    // The first offer always carries one sendrecv audio and one sendrecv video section (the
    // protocol expects both), even when this site has no microphone or camera.
    for (const kind of ["audio", "video"]) {
      const track = this.localStream?.getTracks().find((t) => t.kind === kind);
      if (track) pc.addTransceiver(track, { direction: "sendrecv", streams: [this.localStream] });
      else pc.addTransceiver(kind, { direction: "sendrecv" });
    }
    this._senders = {};
    for (const transceiver of pc.getTransceivers()) {
      this._senders[transceiver.receiver.track.kind] = transceiver.sender;
      if (transceiver.receiver.track.kind === "video" && this.videoCodec) {
        preferVideoCodec(transceiver, this.videoCodec);
      }
    }
    pc.addEventListener("icecandidate", (event) => {
      if (pc !== this._pc) return;
      const c = event.candidate;
      const payload = c && c.candidate
        ? { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex }
        : { candidate: null, sdpMid: null, sdpMLineIndex: null };
      if (this._answered) this._sendCandidate(payload);
      else this._pendingCandidates.push(payload);
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc !== this._pc) return;
      if (pc.connectionState === "connected") this.timings.mediaConnected ??= performance.now();
      this._emit("connectionstate", { state: pc.connectionState });
    });
    return pc;
  }

  async _sendFirstOffer(prepared, session) {
    const pc = this._pc;
    await prepared;
    if (session !== this._session || pc !== this._pc) return;
    this.timings.offerSent = performance.now();
    const ack = await this._request("offer", { sdp: pc.localDescription.sdp, type: "offer" });
    if (session !== this._session || pc !== this._pc) return;
    await pc.setRemoteDescription({ type: "answer", sdp: ack.sdp });
    this.timings.answerApplied = performance.now();
    this._answered = true;
    for (const payload of this._pendingCandidates.splice(0)) this._sendCandidate(payload);
    if (Array.isArray(ack.tracks)) this._applyTracks(ack.tracks);
  }

  _sendCandidate(payload) {
    this._socket?.timeout(this.ackTimeoutMs).emit("ice_candidate", payload, (err, ack) => {
      if (err || ack?.ok === false) {
        this._emit("signalingerror", {
          code: ack?.error?.code ?? "timeout",
          message: ack?.error?.message ?? "ice_candidate was not acknowledged",
          event: "ice_candidate",
        });
      }
    });
  }

  // --- hub-initiated renegotiation ---------------------------------------------------------

  async _onHubOffer(msg) {
    const pc = this._pc;
    if (!pc || !msg || typeof msg.sdp !== "string") return;
    const session = this._session;
    await pc.setRemoteDescription({ type: "offer", sdp: msg.sdp });
    this.timings.hubOfferApplied ??= performance.now();
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    if (session !== this._session || pc !== this._pc) return;
    this.timings.hubAnswerSent ??= performance.now();
    // The answer goes out before the tracks are mapped: the hub is waiting for it.
    const sent = this._request("answer", {
      sdp: pc.localDescription.sdp,
      type: "answer",
      revision: msg.revision,
    });
    this._applyTracks(Array.isArray(msg.tracks) ? msg.tracks : []);
    await sent;
  }

  async _onHubCandidate(msg) {
    // aiortc puts its candidates in the SDP; this is here for a hub that trickles too.
    if (!this._pc || !msg) return;
    try {
      await this._pc.addIceCandidate(msg.candidate ? msg : null);
    } catch {
      // A late candidate for an old description is harmless.
    }
  }

  /** Group the received tracks by participant, as the hub's track list says. */
  _applyTracks(tracks) {
    const transceivers = this._pc?.getTransceivers() ?? [];
    const wanted = new Map();
    for (const { mid, participant_id: pid } of tracks) {
      const transceiver = transceivers.find((t) => t.mid === String(mid));
      if (!transceiver || transceiver.stopped) continue;
      if (!wanted.has(pid)) wanted.set(pid, []);
      wanted.get(pid).push(transceiver.receiver.track);
    }
    for (const [pid, stream] of this.remoteStreams) {
      if (!wanted.has(pid)) {
        this.remoteStreams.delete(pid);
        this._emit("remotestream", { participantId: pid, stream: null });
      } else if (!sameTracks(stream.getTracks(), wanted.get(pid))) {
        this.remoteStreams.delete(pid);
      }
    }
    for (const [pid, trackList] of wanted) {
      if (this.remoteStreams.has(pid)) continue;
      if (!this.participants.has(pid)) {
        // The track list can outrun participant_joined; the details follow.
        this.participants.set(pid, { participant_id: pid, office_name: "", display_name: "" });
      }
      // A new MediaStream (rather than addTrack on the old one) makes pages re-attach it, which
      // every browser handles the same way.
      const stream = new MediaStream(trackList);
      this.remoteStreams.set(pid, stream);
      this.timings.firstRemoteTrack ??= performance.now();
      this._emit("remotestream", { participantId: pid, stream });
    }
  }

  // --- participants -------------------------------------------------------------------------

  _onParticipantJoined(participant) {
    if (!participant || participant.participant_id === this.participantId) return;
    const known = this.participants.has(participant.participant_id);
    this.participants.set(participant.participant_id, participant);
    this._emit(known ? "participantupdated" : "participantjoined", { participant });
  }

  _onParticipantLeft(msg) {
    const pid = msg?.participant_id;
    if (pid === undefined || pid === this.participantId) return;
    const participant = this.participants.get(pid) ?? null;
    this.participants.delete(pid);
    if (this.remoteStreams.delete(pid)) {
      this._emit("remotestream", { participantId: pid, stream: null });
    }
    this._emit("participantleft", { participantId: pid, reason: msg.reason ?? "left", participant });
  }

  /** The hub's view of another site's link: "reconnecting" (its media or socket went quiet)
   * or "connected" again. */
  _onParticipantLink(msg) {
    const pid = msg?.participant_id;
    if (pid === undefined || pid === this.participantId) return;
    const state = msg.state === "reconnecting" ? "reconnecting" : "connected";
    const participant = this.participants.get(pid);
    if (participant) participant.link = state;
    this._emit("participantlink", { participantId: pid, state });
  }

  /** A site's low-bandwidth mode (this site's own too: `lowBandwidth`). */
  _onParticipantMode(msg) {
    const pid = msg?.participant_id;
    if (pid === undefined) return;
    const lowBandwidth = Boolean(msg.low_bandwidth);
    const local = pid === this.participantId;
    if (local) {
      this.lowBandwidth = lowBandwidth;
    } else {
      const participant = this.participants.get(pid);
      if (participant) participant.low_bandwidth = lowBandwidth;
    }
    this._emit("participantmode", { participantId: pid, lowBandwidth, reason: msg.reason, local });
  }

  _setAdmission(state) {
    if (this.admission === state) return;
    this.admission = state;
    // Join-to-first-frame of a site that waited counts from its admission (timings.admitted
    // stays unset for a site let in at once).
    if (state === "admitted") this.timings.admitted ??= performance.now();
    this._emit("admission", { state });
  }

  _onParticipantState(msg) {
    const pid = msg?.participant_id;
    if (pid === undefined) return;
    if (pid === this.participantId) {
      this.mutedByHost = Boolean(msg.muted_by_host);
      return;
    }
    const known = this.participants.has(pid);
    const participant = this.participants.get(pid) ?? { participant_id: pid };
    Object.assign(participant, {
      state: msg.state,
      audio_muted: msg.audio_muted,
      video_muted: msg.video_muted,
      muted_by_host: msg.muted_by_host,
    });
    this.participants.set(pid, participant);
    this._emit(known ? "participantupdated" : "participantjoined", { participant });
  }

  _onMuteState(msg) {
    if (!msg) return;
    const pid = msg.participant_id;
    const participant = this.participants.get(pid);
    if (participant) {
      participant.audio_muted = msg.audio_muted;
      participant.video_muted = msg.video_muted;
    }
    this._emit("mute", {
      participantId: pid,
      audioMuted: Boolean(msg.audio_muted),
      videoMuted: Boolean(msg.video_muted),
      local: pid === this.participantId,
    });
  }

  // --- connection loss ------------------------------------------------------------------------

  _onDisconnect(reason) {
    if (this._leaving) return;
    // The hub drops a participant whose socket goes: forget the room, keep the camera.
    this._session += 1;
    this._teardownPeer();
    this._setState(this.autoRejoin ? "reconnecting" : "failed");
    this._emit("signalingerror", { code: "disconnected", message: reason, event: null });
  }

  /** The hub's media worker for this hearing went away: the socket holds, so join again at
   * once (the hub places the room on another worker and keeps our admission). */
  _onMediaMoved(attempt = 0) {
    if (this._leaving) return;
    this._session += 1;
    this._teardownPeer();
    this._setState("reconnecting");
    this._emit("mediamoved", { attempt });
    this._startSession().catch((error) => {
      if (attempt < 5 && !this._leaving) {
        setTimeout(() => this._onMediaMoved(attempt + 1), 500);
        return;
      }
      this._setState("failed");
      this._emit("signalingerror", {
        code: error.code ?? "rejoin_failed",
        message: error.message,
        event: "join",
      });
    });
  }

  _onReconnect() {
    if (this._leaving || !this.autoRejoin || this.state !== "reconnecting") return;
    this._startSession().catch((error) => {
      this._setState("failed");
      this._emit("signalingerror", {
        code: error.code ?? "rejoin_failed",
        message: error.message,
        event: "join",
      });
    });
  }

  _teardownPeer() {
    if (this._pc) {
      this._pc.close();
      this._pc = null;
    }
    for (const pid of [...this.remoteStreams.keys()]) {
      this.remoteStreams.delete(pid);
      this._emit("remotestream", { participantId: pid, stream: null });
    }
    for (const [pid, participant] of [...this.participants]) {
      this.participants.delete(pid);
      this._emit("participantleft", { participantId: pid, reason: "reset", participant });
    }
    this._answered = false;
    this._pendingCandidates = [];
    this._sdpQueue = Promise.resolve();
  }

  // --- this site's own figures (client_stats) ------------------------------------------------

  _startStats() {
    if (this._statsTimer !== null || !(this.statsIntervalMs > 0)) return;
    this._statsTimer = setInterval(() => this._sendStats(), this.statsIntervalMs);
  }

  _stopStats() {
    if (this._statsTimer !== null) clearInterval(this._statsTimer);
    this._statsTimer = null;
    this._inboundCounters.clear();
  }

  async _sendStats() {
    const pc = this._pc;
    // One sample at a time: a getStats() slower than the interval must not pile up.
    if (this._statsBusy || !pc || this.state !== "joined" || !this._answered) return;
    this._statsBusy = true;
    try {
      const figures = {
        ...readFigures(await pc.getStats(), this._trackOwners(), this._inboundCounters),
        ...this.devices,
      };
      if (pc !== this._pc || this.state !== "joined") return;
      this.lastStats = figures;
      this._emit("stats", { figures });
      // With an ack: a refusal (e.g. not_joined in a race with a drop) comes back here, not as
      // an `error` event; the next sample tries again.
      await this._request("client_stats", figures, this.statsIntervalMs).catch(() => {});
    } catch (error) {
      console.warn("getStats failed:", error?.message ?? error);
    } finally {
      this._statsBusy = false;
    }
  }

  /** Receiving track id -> the participant whose media it carries. */
  _trackOwners() {
    const owners = new Map();
    for (const [pid, stream] of this.remoteStreams) {
      for (const track of stream.getTracks()) owners.set(track.id, pid);
    }
    return owners;
  }

  // --- plumbing -------------------------------------------------------------------------------

  /** Emit an event and await its ack; rejects with SignalingError on `{ok: false}` or timeout. */
  async _request(event, payload, timeoutMs = this.ackTimeoutMs) {
    const socket = this._socket;
    if (!socket) throw new SignalingError("not_connected", "not connected", event);
    let ack;
    try {
      ack = await socket.timeout(timeoutMs).emitWithAck(event, payload);
    } catch {
      throw new SignalingError("timeout", `no answer from the hub to ${event}`, event);
    }
    if (!ack || ack.ok !== true) {
      const error = ack?.error ?? {};
      throw new SignalingError(error.code ?? "error", error.message ?? `${event} refused`, event);
    }
    return ack;
  }

  _enqueue(step) {
    const run = this._sdpQueue.then(step);
    // A failed step must not block the ones after it; the caller still sees the failure.
    this._sdpQueue = run.catch((error) => {
      // A SignalingError is the hub refusing; anything else is this browser failing to apply
      // a description, which leaves media broken: `local` tells pages to treat it as a fault.
      const local = !(error instanceof SignalingError);
      this._emit("signalingerror", {
        code: error.code ?? "sdp_failed",
        message: error.message ?? String(error),
        event: error.event ?? null,
        local,
      });
    });
    return run;
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this._emit("statechange", { state });
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

// Key order differs between the page (Jinja's tojson sorts keys) and the join ack: compare
// each server's fields, not the JSON text.
function sameIceServers(a, b) {
  const norm = (servers) =>
    JSON.stringify(
      (servers || []).map((s) =>
        Object.fromEntries(Object.entries(s).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))),
      ),
    );
  return norm(a) === norm(b);
}

const round1 = (value) => Math.round(value * 10) / 10;
const number = (value) => (typeof value === "number" && Number.isFinite(value) ? value : null);

/**
 * client_stats figures from a getStats() report (the schema is ClientStatsIn in
 * signaling/protocol.py). `owners` maps receiving track ids to participant ids; `counters`
 * keeps each participant's cumulative lost/received packets between calls.
 */
export function readFigures(report, owners, counters) {
  const stats = new Map();
  report.forEach((stat) => stats.set(stat.id, stat));
  const figures = {
    sent_width: null,
    sent_height: null,
    sent_fps: null,
    quality_limitation: null,
    candidate_type: null,
    available_outgoing_kbps: null,
    inbound: {},
  };
  // The sent video: with one camera there is one outbound video stream (no simulcast); the
  // largest wins should a browser report more.
  let video = null;
  for (const stat of stats.values()) {
    if (stat.type !== "outbound-rtp" || stat.kind !== "video") continue;
    if (!video || (stat.frameWidth ?? 0) > (video.frameWidth ?? 0)) video = stat;
  }
  if (video) {
    figures.sent_width = Number.isInteger(video.frameWidth) ? video.frameWidth : null;
    figures.sent_height = Number.isInteger(video.frameHeight) ? video.frameHeight : null;
    const fps = number(video.framesPerSecond);
    figures.sent_fps = fps === null ? null : round1(fps);
    figures.quality_limitation = video.qualityLimitationReason ?? null;
  }
  // The pair ICE chose: the transport names it (Chromium, Safari); Firefox marks it selected.
  let pair = null;
  for (const stat of stats.values()) {
    if (stat.type === "transport" && stat.selectedCandidatePairId) {
      pair = stats.get(stat.selectedCandidatePairId) ?? null;
    }
  }
  if (!pair) {
    for (const stat of stats.values()) {
      if (stat.type === "candidate-pair" && (stat.selected || (stat.nominated && stat.state === "succeeded"))) {
        pair = stat;
      }
    }
  }
  if (pair) {
    const local = stats.get(pair.localCandidateId);
    figures.candidate_type = local?.candidateType ?? null;
    const available = number(pair.availableOutgoingBitrate);
    figures.available_outgoing_kbps = available === null ? null : Math.round(available / 1000);
  }
  // What arrives from each other site: audio and video together for loss, the worse jitter.
  const seen = new Map();
  for (const stat of stats.values()) {
    if (stat.type !== "inbound-rtp") continue;
    const pid = owners.get(stat.trackIdentifier);
    if (pid === undefined) continue;
    const entry = seen.get(pid) ?? { lost: 0, received: 0, jitter: null, fps: null };
    entry.lost += Math.max(0, stat.packetsLost ?? 0);
    entry.received += stat.packetsReceived ?? 0;
    const jitter = number(stat.jitter);
    if (jitter !== null) entry.jitter = Math.max(entry.jitter ?? 0, jitter);
    if (stat.kind === "video") entry.fps = number(stat.framesPerSecond);
    seen.set(pid, entry);
  }
  for (const [pid, entry] of seen) {
    // The hub takes figures for up to 256 others (MAX_INBOUND): more would be refused whole.
    if (Object.keys(figures.inbound).length >= 256) break;
    const previous = counters.get(pid);
    let lossPct = null;
    if (previous) {
      const lost = Math.max(0, entry.lost - previous.lost);
      const received = Math.max(0, entry.received - previous.received);
      if (lost + received > 0) lossPct = round1((100 * lost) / (lost + received));
    }
    counters.set(pid, { lost: entry.lost, received: entry.received });
    figures.inbound[pid] = {
      packets_lost: entry.lost,
      loss_pct: lossPct,
      jitter_ms: entry.jitter === null ? null : round1(entry.jitter * 1000),
      fps: entry.fps === null ? null : round1(entry.fps),
    };
  }
  for (const pid of [...counters.keys()]) if (!seen.has(pid)) counters.delete(pid);
  return figures;
}

function sameTracks(a, b) {
  return a.length === b.length && a.every((track) => b.includes(track));
}

/**
 * Whether the page got the camera and microphone it asked for: "ok", "blocked" (permission
 * refused, or no secure context) or "missing" (none, busy or unusable); absent when not asked.
 * Sent with client_stats: operators get a media_device_missing alert.
 */
function deviceStates(asked, stream, error) {
  const why = ["NotAllowedError", "SecurityError"].includes(error?.name) ? "blocked" : "missing";
  const states = {};
  for (const [kind, name] of [["video", "camera"], ["audio", "microphone"]]) {
    if (!asked?.[kind]) continue;
    const live = (stream?.getTracks() ?? []).some((t) => t.kind === kind && t.readyState === "live");
    states[name] = live ? "ok" : navigator.mediaDevices ? why : "blocked";
  }
  return states;
}

"""Every signaling message as a schema, in one place; validation that names the problem."""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator


class ProtocolError(Exception):
    """A message the hub refuses; code and message go back to the client as they are."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# Error codes (docs/signaling.md lists them for the client side).
INVALID_MESSAGE = "invalid_message"
MESSAGE_TOO_LARGE = "message_too_large"
UNKNOWN_EVENT = "unknown_event"
NOT_JOINED = "not_joined"
RATE_LIMITED = "rate_limited"
INVALID_SDP = "invalid_sdp"
INTERNAL = "internal"
FORBIDDEN = "forbidden"
NOT_FOUND = "not_found"
CONFLICT = "conflict"


class _In(BaseModel):
    # Strict: "12" is not a hearing id and "yes" is not a boolean.
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


def _check_sdp(value: str, info: ValidationInfo) -> str:
    limit = int((info.context or {}).get("max_sdp_bytes", 32 * 1024))
    size = len(value.encode("utf-8"))
    if size > limit:
        raise ValueError(f"SDP is {size} bytes, the limit is {limit}")
    if "\x00" in value:
        raise ValueError("SDP contains a NUL character")
    return value


class JoinIn(_In):
    """join {hearing_id}"""

    hearing_id: Annotated[int, Field(gt=0, lt=2**63)]


class OfferIn(_In):
    """offer {sdp, type:"offer"}: the client's first (and only) offer."""

    sdp: Annotated[str, Field(min_length=1)]
    type: Literal["offer"]

    @field_validator("sdp")
    @classmethod
    def _sdp_limits(cls, value: str, info: ValidationInfo) -> str:
        return _check_sdp(value, info)


class AnswerIn(_In):
    """answer {sdp, type:"answer", revision}: answers the hub's offer of that revision."""

    sdp: Annotated[str, Field(min_length=1)]
    type: Literal["answer"]
    revision: Annotated[int, Field(ge=1)]

    @field_validator("sdp")
    @classmethod
    def _sdp_limits(cls, value: str, info: ValidationInfo) -> str:
        return _check_sdp(value, info)


class IceCandidateIn(_In):
    """ice_candidate {candidate, sdpMid, sdpMLineIndex}; candidate null or "" ends trickling."""

    # Browsers' RTCIceCandidate.toJSON() also sends usernameFragment.
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    candidate: Annotated[str, Field(max_length=1024)] | None
    sdpMid: Annotated[str, Field(max_length=64)] | None = None
    sdpMLineIndex: Annotated[int, Field(ge=0, le=1024)] | None = None


class MuteIn(_In):
    """mute {audio_muted, video_muted}"""

    audio_muted: bool
    video_muted: bool


class LeaveIn(_In):
    """leave {}"""


_ParticipantId = Annotated[str, Field(min_length=1, max_length=64)]


class TargetIn(_In):
    """admit / send_to_waiting / remove {participant_id} (moderators)"""

    participant_id: _ParticipantId


class MuteSiteIn(_In):
    """mute_site {participant_id, audio}: the host stops (or resumes) forwarding a site's audio."""

    participant_id: _ParticipantId
    audio: bool


class SpotlightIn(_In):
    """spotlight {participant_id | null}: the site where the citizen sits."""

    participant_id: _ParticipantId | None


class LowBandwidthIn(_In):
    """low_bandwidth {participant_id, on, hearing_id?}: a moderator or the chair (in the room)
    or an operator (from the board, naming the hearing) switches a site's low-bandwidth mode:
    on, it receives audio plus the spotlit site's video only."""

    participant_id: _ParticipantId
    on: bool
    # Needed from the operators' board (not seated in the hearing); in the room it must be the
    # room's own hearing if given.
    hearing_id: Annotated[int, Field(gt=0, lt=2**63)] | None = None


class NowHearingIn(_In):
    """now_hearing {petition_id, action}: marks heard_from ("start") or heard_to ("stop")."""

    petition_id: Annotated[int, Field(gt=0, lt=2**63)]
    action: Literal["start", "stop"]


class SelfTestIn(_In):
    """self_test {seconds}: a test call whose media the hub sends straight back to the site
    (signaling.self_test); offer, answer, ice_candidate, mute and leave then work as in a
    hearing."""

    seconds: Annotated[int, Field(ge=5, le=30)] = 10


class EmptyIn(_In):
    """An event without fields: start_hearing, end_hearing, watch_sites, unwatch_sites."""


# Bounds of the browser's own figures: wide enough for any real camera and link, narrow enough
# that a figure outside them is a bug or a forgery, refused by name.
_Pixels = Annotated[int, Field(ge=0, le=16384)]
_Fps = Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]
_Percent = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
_Ms = Annotated[float, Field(ge=0, le=600_000, allow_inf_nan=False)]
_Kbps = Annotated[float, Field(ge=0, le=10_000_000, allow_inf_nan=False)]
# RTCOutboundRtpStreamStats.qualityLimitationReason and RTCIceCandidateStats.candidateType.
QualityLimitation = Literal["none", "cpu", "bandwidth", "other"]
CandidateType = Literal["host", "srflx", "prflx", "relay"]
# Inbound figures for at most this many other participants per message.
MAX_INBOUND = 256


class InboundFigures(_In):
    """What a site receives from one other participant (its browser's inbound-rtp stats)."""

    # Packets lost so far (cumulative, audio and video together).
    packets_lost: Annotated[int, Field(ge=0, le=2**53)] | None = None
    # Lost in the last interval, % of expected.
    loss_pct: _Percent | None = None
    jitter_ms: _Ms | None = None
    fps: _Fps | None = None


DeviceState = Literal["ok", "missing", "blocked"]


class ClientStatsIn(_In):
    """client_stats {sent_width, ..., inbound}: a site's own figures from its getStats(), every
    few seconds while joined (signaling.client_stats). Every field may be null or absent."""

    sent_width: _Pixels | None = None
    sent_height: _Pixels | None = None
    sent_fps: _Fps | None = None
    quality_limitation: QualityLimitation | None = None
    # The local candidate of the selected pair: relay means the site reaches the hub via TURN.
    candidate_type: CandidateType | None = None
    available_outgoing_kbps: _Kbps | None = None
    # participant id -> what this site receives from it.
    inbound: Annotated[dict[_ParticipantId, InboundFigures], Field(max_length=MAX_INBOUND)] = {}
    # Whether the browser gave the page its camera and microphone: ok, missing (none, busy,
    # unusable) or blocked (permission refused, or not a secure context).
    camera: DeviceState | None = None
    microphone: DeviceState | None = None


INCOMING: dict[str, type[_In]] = {
    "join": JoinIn,
    "offer": OfferIn,
    "answer": AnswerIn,
    "ice_candidate": IceCandidateIn,
    "mute": MuteIn,
    "leave": LeaveIn,
    "admit": TargetIn,
    "send_to_waiting": TargetIn,
    "remove": TargetIn,
    "mute_site": MuteSiteIn,
    "spotlight": SpotlightIn,
    "low_bandwidth": LowBandwidthIn,
    "now_hearing": NowHearingIn,
    "start_hearing": EmptyIn,
    "end_hearing": EmptyIn,
    "watch_sites": EmptyIn,
    "watch_delegations": EmptyIn,
    # The operator board's first name for watch_sites.
    "monitor_subscribe": EmptyIn,
    "unwatch_sites": EmptyIn,
    "client_stats": ClientStatsIn,
    "self_test": SelfTestIn,
}


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Events whose null fields mean something ("no spotlight", "in no hearing") keep them.
    keep_nulls: ClassVar[bool] = False


ParticipantState = Literal["waiting", "admitted"]


class ParticipantOut(_Out):
    """A participant as other sites see it."""

    participant_id: str
    office_id: int
    office_name: str
    display_name: str
    role: str
    audio_muted: bool
    video_muted: bool
    state: ParticipantState = "admitted"
    muted_by_host: bool = False
    # Receives audio plus the spotlit site's video only (participant_mode says when it changes).
    low_bandwidth: bool = False


class HearingOut(_Out):
    """The hearing a participant joined."""

    id: int
    title: str
    status: str


class IceServerOut(_Out):
    """One STUN/TURN server for the browser's RTCPeerConnection."""

    urls: str
    username: str | None = None
    credential: str | None = None


class NowHearingOut(_Out):
    """now_hearing: the petition being heard (heard_to set once it is no longer)."""

    keep_nulls: ClassVar[bool] = True

    petition_id: int
    case_code: str
    heard_from: str | None
    heard_to: str | None


class RecordingOut(_Out):
    """recording: a recording of the hearing started (recording true) or stopped; also in the
    join ack while one runs, so that every site shows it."""

    hearing_id: int
    recording: bool
    recording_id: int
    started_at: float  # Unix seconds
    by: str | None = None


class JoinAck(_Out):
    """Ack of join."""

    ok: Literal[True] = True
    participant_id: str
    # waiting: in the waiting room until a moderator admits it (then `admitted`).
    state: ParticipantState = "admitted"
    # May start_hearing, end_hearing, admit, mute_site, send_to_waiting, remove, spotlight and
    # now_hearing.
    moderator: bool = False
    hearing: HearingOut
    participants: list[ParticipantOut]
    ice_servers: list[IceServerOut]
    spotlight: str | None = None
    now_hearing: NowHearingOut | None = None
    recording: RecordingOut | None = None


class SelfTestAck(_Out):
    """Ack of self_test: the echo room joined (a negative id, never a hearing's)."""

    ok: Literal[True] = True
    participant_id: str
    room_id: int
    seconds: int
    ice_servers: list[IceServerOut]


class SelfTestEndedOut(_Out):
    """self_test_ended: the hub ended a self-test its page left running past its time."""

    room_id: int
    participant_id: str
    reason: Literal["time_up"]


class AnswerAck(_Out):
    """Ack of offer: the hub's answer."""

    ok: Literal[True] = True
    sdp: str
    type: Literal["answer"] = "answer"


class TrackOut(_Out):
    """Which site an m-line of a hub offer carries."""

    mid: str
    participant_id: str
    kind: Literal["audio", "video"]


class OfferOut(_Out):
    """offer (server -> client): the set of forwarded tracks changed."""

    sdp: str
    type: Literal["offer"]
    revision: int
    tracks: list[TrackOut]


class ParticipantJoinedOut(_Out):
    """participant_joined"""

    participant: ParticipantOut


class ParticipantLeftOut(_Out):
    """participant_left"""

    participant_id: str
    reason: Literal["left", "dropped", "removed"]


class MuteStateOut(_Out):
    """mute_state"""

    participant_id: str
    audio_muted: bool
    video_muted: bool


class ActiveSpeakerOut(_Out):
    """active_speaker (at most ~3 per second)"""

    participant_id: str
    level_dbov: int


class ErrorOut(_Out):
    """error event, for failures of events sent without an ack"""

    code: str
    message: str
    event: str


class ParticipantStateOut(_Out):
    """participant_state: admission or mute state of a participant changed."""

    participant_id: str
    state: ParticipantState
    audio_muted: bool
    video_muted: bool
    muted_by_host: bool


class HearingIdOut(_Out):
    """waiting / admitted / hearing_ended (to the one participant concerned)."""

    hearing_id: int


class MediaMovedOut(_Out):
    """media_moved: the hearing's media worker went away; join again (admission is kept)."""

    hearing_id: int
    participant_id: str


class MediaResetOut(_Out):
    """media_reset: the hub heard nothing from this site's peer connection for a few seconds
    (its path broke while the socket held): join again with a new one (admission is kept)."""

    hearing_id: int
    reason: str


class ParticipantLinkOut(_Out):
    """participant_link: the hub stopped hearing a site's media (reconnecting) or hears it
    again (connected); a site silent a little longer is dropped (participant_left)."""

    participant_id: str
    state: Literal["reconnecting", "connected"]


class ParticipantModeOut(_Out):
    """participant_mode: a site went into low-bandwidth mode (audio plus the spotlit site's
    video only) or back to full video, and why: bad_link / recovered (the hub's own figures),
    moderator or operator (switched by hand)."""

    participant_id: str
    low_bandwidth: bool
    reason: Literal["bad_link", "recovered", "moderator", "operator"]


class AlertOut(_Out):
    """alert: a connectivity alert opened, closed or acknowledged, as GET /api/v1/alerts
    lists it (hub.services.alerts.view), to the operators watching its office."""

    keep_nulls: ClassVar[bool] = True

    id: int
    kind: str
    office_id: int
    office_name: str | None
    hearing_id: int | None
    opened_at: str | None
    closed_at: str | None
    open: bool
    detail: dict[str, Any]
    acknowledged_by: int | None
    acknowledged_by_name: str | None
    acknowledged_at: str | None
    # Where the office sits in the tree ('/1/5/'), as the public office directory says.
    office_path: str | None = None


class DelegationOut(_Out):
    """delegation: a crowd delegation registered or changed, as GET /api/v1/delegations lists
    it (hub.services.delegations.summary: no personal data), to the staff and leaders watching
    from its home office, its receiving office or an office above either."""

    keep_nulls: ClassVar[bool] = True

    id: int
    receiving_office_id: int
    receiving_office_name: str
    home_office_id: int
    home_office_name: str
    province_office_id: int
    province_name: str
    received_on: str
    people_count: int
    representatives_count: int
    matter: str
    subject_field: str
    status: Literal["open", "handling", "closed"]
    visit_number: int
    skipped_level: bool
    from_elsewhere: bool
    hearing_id: int | None
    created_at: str | None
    closed_at: str | None


class WatchDelegationsAck(_Out):
    """Ack of watch_delegations: the office whose delegations this socket now hears of."""

    ok: Literal[True] = True
    office_id: int


class RemovedOut(_Out):
    """removed: out of the hearing, by a moderator, or because its grounds went (message says
    which: e.g. its office is no longer among the hearing's sites)."""

    hearing_id: int
    message: str | None = None


class RevokedOut(_Out):
    """revoked: the connection's sign-in or join token no longer holds (signed out, expired,
    its issuer signed out, the account changed); the hub disconnects it next."""

    code: str
    message: str


class MutedByHostOut(_Out):
    """muted_by_host: the host stopped (audio true) or resumed forwarding this site's audio."""

    audio: bool


class HearingStatusOut(_Out):
    """hearing_status: a moderator started or ended the hearing."""

    hearing_id: int
    status: Literal["scheduled", "live", "ended", "cancelled"]


class SpotlightOut(_Out):
    """spotlight: the participant every site should show large (null: none)."""

    keep_nulls: ClassVar[bool] = True

    participant_id: str | None


class InboundFiguresOut(_Out):
    """InboundFigures, as operators get them."""

    packets_lost: int | None = None
    loss_pct: float | None = None
    jitter_ms: float | None = None
    fps: float | None = None


class ClientFiguresOut(_Out):
    """A site's own figures (client_stats) as operators get them in site_status.client."""

    sent_width: int | None = None
    sent_height: int | None = None
    sent_fps: float | None = None
    quality_limitation: str | None = None
    candidate_type: str | None = None
    available_outgoing_kbps: float | None = None
    inbound: dict[str, InboundFiguresOut] = {}
    camera: str | None = None
    microphone: str | None = None


class SiteStatusOut(_Out):
    """site_status: one office's connection as operators see it."""

    keep_nulls: ClassVar[bool] = True

    office_id: int
    office_name: str
    online: bool
    hearing_id: int | None
    participant_id: str | None
    state: ParticipantState | None
    since: str
    # Connection quality while in a hearing (null when not measured yet).
    rtt_ms: float | None = None
    loss_pct: float | None = None
    bitrate_kbps: float | None = None
    jitter_ms: float | None = None
    bitrate_out_kbps: float | None = None
    fps: float | None = None
    keyframe_requests: int | None = None
    # The site's own figures (client_stats), null while it sends none.
    client: ClientFiguresOut | None = None
    # The link's grade while in a hearing (hub.domain.link_grade; null until graded), its
    # reasons, and the site's presence: offline, online, in_hearing or degraded.
    grade: Literal["good", "poor", "bad", "unknown"] | None = None
    grade_reasons: list[str] | None = None
    presence: Literal["offline", "online", "in_hearing", "degraded"] | None = None


class WatchSitesAck(_Out):
    """Ack of watch_sites: the snapshot of this hub process's sites."""

    ok: Literal[True] = True
    sites: list[SiteStatusOut]


OUTGOING: dict[str, type[_Out]] = {
    "offer": OfferOut,
    "participant_joined": ParticipantJoinedOut,
    "participant_left": ParticipantLeftOut,
    "mute_state": MuteStateOut,
    "active_speaker": ActiveSpeakerOut,
    "error": ErrorOut,
    "participant_state": ParticipantStateOut,
    "waiting": HearingIdOut,
    "admitted": HearingIdOut,
    "removed": RemovedOut,
    "revoked": RevokedOut,
    "hearing_ended": HearingIdOut,
    "muted_by_host": MutedByHostOut,
    "hearing_status": HearingStatusOut,
    "spotlight": SpotlightOut,
    "now_hearing": NowHearingOut,
    "recording": RecordingOut,
    "site_status": SiteStatusOut,
    "media_moved": MediaMovedOut,
    "media_reset": MediaResetOut,
    "participant_link": ParticipantLinkOut,
    "participant_mode": ParticipantModeOut,
    "alert": AlertOut,
    "delegation": DelegationOut,
    "self_test_ended": SelfTestEndedOut,
}


def message_size(args: tuple[Any, ...]) -> int:
    """Size of an event's arguments as JSON (what the client sent, give or take framing)."""
    try:
        return len(json.dumps(args, separators=(",", ":")).encode("utf-8"))
    except (TypeError, ValueError) as exc:
        raise ProtocolError(INVALID_MESSAGE, "binary payloads are not accepted") from exc


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors()[:5]:
        where = ".".join(str(part) for part in error["loc"]) or "message"
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)


def decode(event: str, args: tuple[Any, ...], *, max_bytes: int, max_sdp_bytes: int) -> _In:
    """Check an incoming event's size and shape; ProtocolError names what is wrong."""
    size = message_size(args)
    if size > max_bytes:
        raise ProtocolError(
            MESSAGE_TOO_LARGE, f"{event} message is {size} bytes, the limit is {max_bytes}"
        )
    model = INCOMING.get(event)
    if model is None:
        raise ProtocolError(UNKNOWN_EVENT, f"unknown event {event!r}")
    if len(args) == 0 and model in (LeaveIn, EmptyIn):
        args = ({},)
    if len(args) != 1 or not isinstance(args[0], dict):
        raise ProtocolError(INVALID_MESSAGE, f"{event} takes one JSON object")
    try:
        return model.model_validate(args[0], context={"max_sdp_bytes": max_sdp_bytes})
    except ValidationError as exc:
        raise ProtocolError(INVALID_MESSAGE, f"{event}: {_describe(exc)}") from None


def encode(event: str, data: dict[str, Any]) -> dict[str, Any]:
    """Check an outgoing event against its schema; returns the JSON-ready payload."""
    model = OUTGOING[event]
    return model.model_validate(data).model_dump(exclude_none=not model.keep_nulls)


def error_ack(code: str, message: str) -> dict[str, Any]:
    """The ack sent when an event fails."""
    return {"ok": False, "error": {"code": code, "message": message}}

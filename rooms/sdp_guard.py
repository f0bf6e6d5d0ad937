"""Checks on SDP from clients before aiortc sees it: shape, limits, and candidate addresses."""

from __future__ import annotations

import re
from collections.abc import Callable

from aiortc import sdp as aiortc_sdp

# A client offer carries its own audio and video; answers also carry the hub's forwarded
# m-lines (two per other site). Far above any real hearing, far below anything abusive.
MAX_OFFER_MEDIA = 2
MAX_ANSWER_MEDIA = 2 + 2 * 64
MAX_LINES = 4000
MAX_LINE_LENGTH = 1024
MAX_CODECS_PER_MEDIA = 64
_LINE = re.compile(r"^[a-z]=[\x20-\x7e]*$")
_CANDIDATE = re.compile(r"^a=candidate:\S+ \d+ \S+ \d+ (\S+) \d+ typ ", re.IGNORECASE)


class SdpRejected(ValueError):
    """SDP that the hub refuses; the message names the problem for the client."""


def _check_shape(sdp: str) -> None:
    if not sdp.startswith("v=0"):
        raise SdpRejected("SDP must start with 'v=0'")
    lines = sdp.splitlines()
    if len(lines) > MAX_LINES:
        raise SdpRejected(f"SDP has {len(lines)} lines (limit {MAX_LINES})")
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        if len(line) > MAX_LINE_LENGTH:
            raise SdpRejected(f"SDP line {number} is longer than {MAX_LINE_LENGTH} characters")
        if not _LINE.match(line):
            raise SdpRejected(f"SDP line {number} is not a 'x=value' line of printable ASCII")


def _parse(sdp: str) -> aiortc_sdp.SessionDescription:
    _check_shape(sdp)
    try:
        return aiortc_sdp.SessionDescription.parse(sdp)
    except Exception as exc:  # the parser raises whatever its input provokes
        raise SdpRejected(f"malformed SDP: {type(exc).__name__}: {exc}") from exc


def _check_media(description: aiortc_sdp.SessionDescription, limit: int) -> list[str]:
    if not description.media:
        raise SdpRejected("SDP has no media section")
    if len(description.media) > limit:
        raise SdpRejected(f"SDP has {len(description.media)} media sections (limit {limit})")
    kinds = []
    for index, media in enumerate(description.media):
        where = f"media section {index}"
        if media.kind not in ("audio", "video"):
            raise SdpRejected(f"{where}: only audio and video are supported, not {media.kind!r}")
        if not media.rtp.muxId:
            raise SdpRejected(f"{where}: a=mid is missing")
        if media.ice is None or not media.ice.usernameFragment or not media.ice.password:
            raise SdpRejected(f"{where}: ICE ufrag/pwd missing")
        if media.dtls is None or not media.dtls.fingerprints:
            raise SdpRejected(f"{where}: DTLS fingerprint missing")
        if not media.rtcp_mux:
            raise SdpRejected(f"{where}: rtcp-mux is required")
        if len(media.rtp.codecs) > MAX_CODECS_PER_MEDIA:
            raise SdpRejected(f"{where}: too many codecs")
        kinds.append(media.kind)
    return kinds


def check_client_offer(sdp: str) -> list[str]:
    """Validate a client's first offer; returns the kinds of its m-lines in order."""
    description = _parse(sdp)
    kinds = _check_media(description, MAX_OFFER_MEDIA)
    if len(set(kinds)) != len(kinds):
        raise SdpRejected("the offer must carry at most one audio and one video section")
    for media in description.media:
        if media.direction not in (None, "sendrecv", "sendonly", "recvonly", "inactive"):
            raise SdpRejected(f"unknown direction {media.direction!r}")
        if not media.rtp.codecs:
            raise SdpRejected(f"{media.kind} section offers no codec")
    return kinds


def check_answer(sdp: str) -> None:
    """Validate a client's answer to a hub offer."""
    _check_media(_parse(sdp), MAX_ANSWER_MEDIA)


def filter_candidates(sdp: str, allowed: Callable[[str], bool]) -> str:
    """Drop a=candidate lines whose address the hub must not aim media at."""
    kept = []
    for line in sdp.splitlines():
        match = _CANDIDATE.match(line)
        if match and not allowed(match.group(1)):
            continue
        kept.append(line)
    return "\r\n".join(kept) + "\r\n"

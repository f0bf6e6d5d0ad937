"""Connection quality of a site as the hub sees it, from its peer connection's getStats()."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCPeerConnection

from rooms.aiortc_internals import sender_stats_key

# How often a room measures its participants (operators get a site_status each time).
QUALITY_INTERVAL = 2.0


@dataclass(frozen=True)
class Quality:
    """One measurement interval: None where aiortc had nothing to go on."""

    # Round trip between the hub and the site, from the site's RTCP receiver reports on what
    # the hub forwards to it (none while the site receives nothing, e.g. alone or waiting).
    rtt_ms: float | None
    # Packets the site sent the hub that never arrived, in % of those expected this interval.
    loss_pct: float | None
    # What the hub received from the site this interval (media and RTCP), in kbit/s.
    bitrate_kbps: float | None
    # Interarrival jitter of what the site sends (RFC 3550; its audio's, else its video's), ms.
    jitter_ms: float | None = None
    # What the hub sent the site this interval (the others' media and RTCP), in kbit/s.
    bitrate_out_kbps: float | None = None
    # Video frames the hub received from the site per second this interval.
    fps: float | None = None
    # Keyframe requests the hub sent the site this interval (its subscribers' and its own).
    keyframe_requests: int | None = None
    # Of the packets the hub sent the site, the % its receiver reports say never arrived (the
    # other way's loss: a thin downlink). The room's own figure, for its low-bandwidth
    # decision (rooms.bandwidth): not in as_dict, so not (yet) in site_status or the history.
    out_loss_pct: float | None = None

    def as_dict(self) -> dict[str, float | None]:
        """Every figure by name (the site_status fields, the link history's sample)."""
        return {
            "rtt_ms": self.rtt_ms,
            "loss_pct": self.loss_pct,
            "bitrate_kbps": self.bitrate_kbps,
            "jitter_ms": self.jitter_ms,
            "bitrate_out_kbps": self.bitrate_out_kbps,
            "fps": self.fps,
            "keyframe_requests": self.keyframe_requests,
        }


@dataclass(frozen=True)
class _Counters:
    at: float
    bytes_received: int
    packets_received: int
    packets_lost: int
    bytes_sent: int = 0
    frames: int = 0
    keyframe_requests: int = 0
    # Per stream the hub sends (by sender): packets sent, and lost as the site last reported.
    sent: dict[str, int] = field(default_factory=dict)
    reported_lost: dict[str, int] = field(default_factory=dict)


# RTP clock rates of what sites send (aiortc reports jitter in RTP timestamp units).
_CLOCK_RATE = {"video": 90000, "audio": 48000}


class QualityMeter:
    """Turns the cumulative counters of getStats() into figures per interval."""

    def __init__(self) -> None:
        self._last: _Counters | None = None

    async def sample(
        self, pc: RTCPeerConnection, *, frames: int = 0, keyframe_requests: int = 0
    ) -> Quality | None:
        """Measure since the previous call; None on the first call (no interval yet).
        `frames` and `keyframe_requests` are the forwarder's running totals for the site's
        video (frames received from it, keyframe requests sent to it)."""
        report = await pc.getStats()
        counters, rtts, jitter = _read(report.values())
        counters = _Counters(
            counters.at,
            counters.bytes_received,
            counters.packets_received,
            counters.packets_lost,
            counters.bytes_sent,
            frames,
            keyframe_requests,
            counters.sent,
            counters.reported_lost,
        )
        last, self._last = self._last, counters
        if last is None:
            return None
        elapsed = counters.at - last.at
        bitrate = _kbps(counters.bytes_received - last.bytes_received, elapsed)
        bitrate_out = _kbps(counters.bytes_sent - last.bytes_sent, elapsed)
        received = counters.packets_received - last.packets_received
        lost = max(0, counters.packets_lost - last.packets_lost)
        loss = round(100.0 * lost / (received + lost), 2) if received + lost > 0 else None
        rtt = round(1000 * sorted(rtts)[len(rtts) // 2], 1) if rtts else None
        fps = None
        if elapsed > 0 and counters.frames >= last.frames:
            fps = round((counters.frames - last.frames) / elapsed, 1)
        requests = max(0, counters.keyframe_requests - last.keyframe_requests)
        return Quality(
            rtt_ms=rtt,
            loss_pct=loss,
            bitrate_kbps=bitrate,
            jitter_ms=jitter,
            bitrate_out_kbps=bitrate_out,
            fps=fps,
            keyframe_requests=requests,
            out_loss_pct=_out_loss(last, counters),
        )


def _out_loss(last: _Counters, now: _Counters) -> float | None:
    """Of the packets the hub sent on streams reported both times, the % the site lost.

    Per stream, since a stream that ends drops out of getStats (a sum would go backwards); the
    receiver report lags what was sent by up to its interval, which evens out over samples."""
    sent = lost = 0
    for key, packets in now.sent.items():
        if key not in last.sent or key not in now.reported_lost:
            continue
        sent += max(0, packets - last.sent[key])
        lost += max(0, now.reported_lost[key] - last.reported_lost.get(key, 0))
    if sent <= 0:
        return None
    return round(min(100.0, 100.0 * lost / sent), 2)


def _kbps(delta_bytes: int, elapsed: float) -> float | None:
    if elapsed <= 0 or delta_bytes < 0:
        return None
    return round(delta_bytes * 8 / elapsed / 1000, 1)


def _read(stats: Any) -> tuple[_Counters, list[float], float | None]:
    bytes_received = bytes_sent = packets_received = packets_lost = 0
    sent: dict[str, int] = {}
    reported_lost: dict[str, int] = {}
    rtts: list[float] = []
    jitter_by_kind: dict[str, float] = {}
    for stat in stats:
        kind = getattr(stat, "type", "")
        if kind == "transport":
            bytes_received += int(stat.bytesReceived)
            bytes_sent += int(stat.bytesSent)
        elif kind == "inbound-rtp":
            packets_received += int(stat.packetsReceived)
            packets_lost += int(stat.packetsLost)
            kind_of = str(getattr(stat, "kind", ""))
            rate = _CLOCK_RATE.get(kind_of)
            if rate and stat.jitter is not None:
                ms = round(1000.0 * float(stat.jitter) / rate, 1)
                jitter_by_kind[kind_of] = max(ms, jitter_by_kind.get(kind_of, 0.0))
        elif kind == "outbound-rtp":
            sent[sender_stats_key(stat)] = int(stat.packetsSent)
        elif kind == "remote-inbound-rtp":
            reported_lost[sender_stats_key(stat)] = int(stat.packetsLost)
            # aiortc pairs a receiver report with the last sender report by its NTP middle bits;
            # two reports with the same timestamp (nothing sent between them) pair it with the
            # later one and give a negative round trip: such a sample says nothing.
            if stat.roundTripTime is not None and stat.roundTripTime >= 0:
                rtts.append(float(stat.roundTripTime))
    counters = _Counters(
        time.monotonic(),
        bytes_received,
        packets_received,
        packets_lost,
        bytes_sent,
        sent=sent,
        reported_lost=reported_lost,
    )
    # The audio's: what voice-over-IP bounds (and the grade's) are about. A video frame's
    # packets share one timestamp and leave in a burst, so video "jitter" mostly measures the
    # sender's pacing; it stands in only for a site that sends no audio.
    jitter = jitter_by_kind.get("audio", jitter_by_kind.get("video"))
    return counters, rtts, jitter

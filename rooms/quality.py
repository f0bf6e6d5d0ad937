"""Connection quality of a site as the hub sees it, from its peer connection's getStats()."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from aiortc import RTCPeerConnection

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

    def as_dict(self) -> dict[str, float | None]:
        """rtt_ms, loss_pct, bitrate_kbps (the site_status fields)."""
        return {"rtt_ms": self.rtt_ms, "loss_pct": self.loss_pct, "bitrate_kbps": self.bitrate_kbps}


@dataclass(frozen=True)
class _Counters:
    at: float
    bytes_received: int
    packets_received: int
    packets_lost: int


class QualityMeter:
    """Turns the cumulative counters of getStats() into figures per interval."""

    def __init__(self) -> None:
        self._last: _Counters | None = None

    async def sample(self, pc: RTCPeerConnection) -> Quality | None:
        """Measure since the previous call; None on the first call (no interval yet)."""
        report = await pc.getStats()
        counters, rtts = _read(report.values())
        last, self._last = self._last, counters
        if last is None:
            return None
        elapsed = counters.at - last.at
        bitrate = None
        if elapsed > 0 and counters.bytes_received >= last.bytes_received:
            bitrate = round((counters.bytes_received - last.bytes_received) * 8 / elapsed / 1000, 1)
        received = counters.packets_received - last.packets_received
        lost = max(0, counters.packets_lost - last.packets_lost)
        loss = round(100.0 * lost / (received + lost), 2) if received + lost > 0 else None
        rtt = round(1000 * sorted(rtts)[len(rtts) // 2], 1) if rtts else None
        return Quality(rtt_ms=rtt, loss_pct=loss, bitrate_kbps=bitrate)


def _read(stats: Any) -> tuple[_Counters, list[float]]:
    bytes_received = packets_received = packets_lost = 0
    rtts: list[float] = []
    for stat in stats:
        kind = getattr(stat, "type", "")
        if kind == "transport":
            bytes_received += int(stat.bytesReceived)
        elif kind == "inbound-rtp":
            packets_received += int(stat.packetsReceived)
            packets_lost += int(stat.packetsLost)
        elif kind == "remote-inbound-rtp" and stat.roundTripTime is not None:
            rtts.append(float(stat.roundTripTime))
    return _Counters(time.monotonic(), bytes_received, packets_received, packets_lost), rtts

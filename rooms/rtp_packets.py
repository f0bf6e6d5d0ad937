"""What a packet forwarder reads in an RTP payload without depacketizing it: where a VP8 or
H.264 frame starts, whether it can start decoding, where the VP8 picture id sits; and the short
history of a publication's packets that answers subscribers' NACKs.

Pure functions on bytes: no aiortc, no asyncio (tests/rooms/test_rtp_packets.py feeds them
hand-made payloads). Malformed payloads give "not a keyframe start", never an exception: a
hostile publisher can only spoil its own stream.
"""

from __future__ import annotations

from typing import Any, Protocol

# H.264 NAL unit types (RFC 6184): an IDR slice, a sequence parameter set, STAP-A and FU-A.
_H264_IDR = 5
_H264_SPS = 7
_H264_STAP_A = 24
_H264_FU_A = 28

HISTORY_SIZE = 1024  # packets per video publication: ~8 s at 1 Mbit/s, a power of two


def vp8_picture_id_offset(payload: bytes) -> int:
    """Offset of the VP8 payload descriptor's picture id (RFC 7741 4.2), or -1 if it has none.

    The id is 7 bits (one byte, M clear) or 15 bits (two bytes, M set in the first)."""
    if len(payload) < 3 or not payload[0] & 0x80 or not payload[1] & 0x80:
        return -1
    return 2


def vp8_keyframe_start(payload: bytes) -> bool:
    """True for the first packet of a VP8 key frame: S set, partition 0, P clear in the tag."""
    size = len(payload)
    if size < 2:
        return False
    b0 = payload[0]
    if not b0 & 0x10 or b0 & 0x07:
        return False  # not the start of partition 0
    pos = 1
    if b0 & 0x80:  # X: extension byte follows
        b1 = payload[1]
        pos = 2
        if b1 & 0x80:  # I: picture id
            if pos >= size:
                return False
            pos += 2 if payload[pos] & 0x80 else 1
        if b1 & 0x40:  # L: TL0PICIDX
            pos += 1
        if b1 & 0x30:  # T or K: TID/Y/KEYIDX
            pos += 1
    return pos < size and not payload[pos] & 0x01


def h264_keyframe_start(payload: bytes) -> bool:
    """True for a packet that starts an H.264 access unit a decoder can start on: an SPS (alone
    or in a STAP-A, as browsers send it before each IDR) or the first fragment of an IDR slice."""
    size = len(payload)
    if size < 1:
        return False
    nal = payload[0] & 0x1F
    if nal == _H264_STAP_A:
        pos = 1
        while pos + 2 < size:
            length = (payload[pos] << 8) | payload[pos + 1]
            if length == 0:
                return False
            if payload[pos + 2] & 0x1F in (_H264_SPS, _H264_IDR):
                return True
            pos += 2 + length
        return False
    if nal == _H264_FU_A:
        return size > 1 and bool(payload[1] & 0x80) and payload[1] & 0x1F in (_H264_SPS, _H264_IDR)
    return nal in (_H264_SPS, _H264_IDR)


def keyframe_start(codec_name: str, payload: bytes) -> bool:
    """Whether a video packet of `codec_name` ("vp8", "h264") starts a decodable frame."""
    if codec_name == "vp8":
        return vp8_keyframe_start(payload)
    if codec_name == "h264":
        return h264_keyframe_start(payload)
    return False


def vp8_rewrite_picture_id(buffer: bytearray | memoryview, offset: int, delta: int) -> int:
    """Add `delta` to the picture id at `offset` of a payload copy in `buffer`, in its own width
    (7 or 15 bits); returns the id written."""
    first = buffer[offset]
    if first & 0x80:
        value = ((((first & 0x7F) << 8) | buffer[offset + 1]) + delta) & 0x7FFF
        buffer[offset] = 0x80 | (value >> 8)
        buffer[offset + 1] = value & 0xFF
        return value
    value = ((first & 0x7F) + delta) & 0x7F
    buffer[offset] = value
    return value


def vp8_picture_id(payload: bytes, offset: int) -> int:
    """The picture id at `offset` (see vp8_picture_id_offset), 7 or 15 bits."""
    first = payload[offset]
    if first & 0x80:
        return ((first & 0x7F) << 8) | payload[offset + 1]
    return first & 0x7F


class Sequenced(Protocol):
    """What the history keeps: anything with an RTP sequence number (aiortc's RtpPacket)."""

    sequence_number: int


class PacketHistory:
    """The last HISTORY_SIZE packets of one publication, by sequence number.

    One per publication, not one per subscriber: a subscriber's NACK is mapped back to the
    publisher's sequence number and answered from here, rewritten for that subscriber."""

    __slots__ = ("_ring",)

    def __init__(self) -> None:
        self._ring: list[Sequenced | None] = [None] * HISTORY_SIZE

    def add(self, packet: Sequenced) -> bool:
        """Keep `packet`; False when the same sequence number is already held (a duplicate, e.g.
        a retransmission that raced the original)."""
        index = packet.sequence_number & (HISTORY_SIZE - 1)
        held = self._ring[index]
        if held is not None and held.sequence_number == packet.sequence_number:
            return False
        self._ring[index] = packet
        return True

    def get(self, sequence_number: int) -> Any:
        """The packet with this publisher sequence number, if still held (else None)."""
        held = self._ring[sequence_number & (HISTORY_SIZE - 1)]
        if held is not None and held.sequence_number == sequence_number:
            return held
        return None

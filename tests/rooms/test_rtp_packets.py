"""What the packet forwarder reads in payloads (rooms/rtp_packets.py), on hand-made payloads:
VP8 descriptors (RFC 7741) and H.264 packets (RFC 6184) that start a decodable frame or not,
picture ids rewritten in their own width, the per-publication history."""

from __future__ import annotations

from dataclasses import dataclass

from rooms.rtp_packets import (
    HISTORY_SIZE,
    PacketHistory,
    h264_keyframe_start,
    keyframe_start,
    vp8_keyframe_start,
    vp8_picture_id,
    vp8_picture_id_offset,
    vp8_rewrite_picture_id,
)

# A VP8 key frame's tag: P bit (0x01) clear; an inter frame's: set.
KEY_TAG, INTER_TAG = b"\x10\x02\x00", b"\x11\x02\x00"


def vp8(*, start: bool = True, partition: int = 0, picture_id: int | None = None) -> bytes:
    """A VP8 payload descriptor: X set with a 15-bit picture id when one is given."""
    first = (0x10 if start else 0) | partition
    if picture_id is None:
        return bytes([first])
    return bytes([0x80 | first, 0x80, 0x80 | (picture_id >> 8), picture_id & 0xFF])


def test_a_vp8_key_frame_starts_only_at_its_first_partition() -> None:
    assert vp8_keyframe_start(vp8() + KEY_TAG)
    assert vp8_keyframe_start(vp8(picture_id=300) + KEY_TAG)
    assert not vp8_keyframe_start(vp8() + INTER_TAG)  # an inter frame
    assert not vp8_keyframe_start(vp8(start=False) + KEY_TAG)  # a middle packet
    assert not vp8_keyframe_start(vp8(partition=1) + KEY_TAG)  # another partition
    # With TL0PICIDX and TID bytes too (L and T set), the frame tag comes after them.
    descriptor = bytes([0x90, 0xE0, 0x81, 0x2C, 0x05, 0x40])
    assert vp8_keyframe_start(descriptor + KEY_TAG)
    assert not vp8_keyframe_start(descriptor + INTER_TAG)


def test_malformed_vp8_payloads_are_not_keyframes_and_raise_nothing() -> None:
    for payload in (b"", b"\x90", b"\x90\x80", b"\x90\x80\x81", bytes([0x10])):
        assert not vp8_keyframe_start(payload)
    assert vp8_picture_id_offset(b"\x90\x80") == -1
    assert vp8_picture_id_offset(vp8()) == -1  # no X: no picture id


def test_vp8_picture_ids_are_rewritten_in_their_own_width() -> None:
    payload = bytearray(vp8(picture_id=0x7FFE) + KEY_TAG)
    offset = vp8_picture_id_offset(bytes(payload))
    assert offset == 2 and vp8_picture_id(bytes(payload), offset) == 0x7FFE
    assert vp8_rewrite_picture_id(payload, offset, 3) == 1  # 15 bits wrap
    assert vp8_picture_id(bytes(payload), offset) == 1 and payload[offset] & 0x80
    short = bytearray([0x90, 0x80, 0x7F]) + KEY_TAG  # a 7-bit id
    assert vp8_rewrite_picture_id(short, 2, 2) == 1 and short[2] == 1
    assert payload[4:] == KEY_TAG  # the rest is untouched


def test_h264_packets_that_start_an_idr_frame() -> None:
    sps, pps, idr, slice_ = b"\x67\x42\x00\x1f", b"\x68\xce", b"\x65\x88\x84", b"\x41\x9a"
    stap = bytes([24]) + len(sps).to_bytes(2, "big") + sps + len(pps).to_bytes(2, "big") + pps
    assert h264_keyframe_start(stap)  # SPS and PPS aggregated, as browsers send them
    assert h264_keyframe_start(sps) and h264_keyframe_start(idr)
    assert h264_keyframe_start(bytes([0x7C, 0x85]) + b"\x00")  # FU-A, start bit, IDR
    assert not h264_keyframe_start(bytes([0x7C, 0x05]) + b"\x00")  # FU-A middle of an IDR
    assert not h264_keyframe_start(bytes([0x5C, 0x81]) + b"\x00")  # FU-A start of a P slice
    assert not h264_keyframe_start(slice_)
    assert not h264_keyframe_start(bytes([24, 0, 2]) + slice_)  # STAP-A without SPS/IDR
    for broken in (b"", bytes([24]), bytes([24, 0, 0, 0x67]), bytes([28])):
        assert not h264_keyframe_start(broken)
    assert keyframe_start("h264", sps) and keyframe_start("vp8", vp8() + KEY_TAG)
    assert not keyframe_start("vp9", sps)


@dataclass
class Packet:
    sequence_number: int


def test_the_history_keeps_the_last_packets_and_refuses_duplicates() -> None:
    history = PacketHistory()
    first = Packet(65535)
    assert history.add(first) and history.get(65535) is first
    assert not history.add(Packet(65535))  # a retransmission racing the original
    assert history.get(0) is None
    later = Packet((65535 + HISTORY_SIZE) & 0xFFFF)  # same slot, a full ring later
    assert history.add(later)
    assert history.get(65535) is None and history.get(later.sequence_number) is later

"""The compiled fan-out (rooms/fanout.c through rooms/fanout.py): one call sends one packet to
several subscribers over real UDP sockets, each SRTP-protected with its own session; the
packets read back (unprotected with the matching receive sessions) carry each subscriber's
SSRC, sequence number and timestamp offsets, header extensions and rewritten VP8 picture id."""

from __future__ import annotations

import os
import socket
import struct
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from pylibsrtp import Policy, Session

from rooms import fanout
from rooms.aiortc_internals import SendBatch, _header_template, _sockaddr, fanout_send, ntp_now

KEY = bytes(range(30))  # SRTP master key (16) and salt (14)


def _library() -> Any:
    # `make test` builds the library first: a missing one fails with the reason, never skips.
    return fanout.load()


class Subscriber:
    """One subscriber's end: a UDP socket, a receive session, and the C output aimed at it."""

    def __init__(self, ssrc: int, mid: str, *, level: bool, vp8: bool, sender: socket.socket):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(2)
        self.ssrc = ssrc
        tx = Policy(key=KEY, ssrc_type=Policy.SSRC_ANY_OUTBOUND)
        tx.allow_repeat_tx = True
        self.tx = Session(tx)
        self.rx = Session(Policy(key=KEY, ssrc_type=Policy.SSRC_ANY_INBOUND))
        header, abs_offset, level_offset = _header_template(ssrc, mid, 1, 2, 3 if level else None)
        out = fanout.ffi.new("tcd_out *")
        out.srtp = fanout.ffi.cast("void *", _srtp_pointer(self.tx))
        self.fd = os.dup(sender.fileno())
        out.fd = self.fd
        address = _sockaddr(self.sock.getsockname())
        out.addr_len = len(address)
        fanout.ffi.memmove(out.addr, address, len(address))
        out.header_size = len(header)
        out.abs_offset = abs_offset
        out.level_offset = level_offset
        out.payload_type = 96
        out.vp8 = 1 if vp8 else 0
        out.last_sequence = -1
        out.last_picture_id = -1
        out.active = 1
        fanout.ffi.memmove(out.buffer, header, len(header))
        self.out = out
        self.header_size = len(header)
        self.abs_offset = abs_offset
        self.level_offset = level_offset

    def receive(self) -> bytes:
        data = self.sock.recv(2048)
        return bytes(self.rx.unprotect(data))

    def close(self) -> None:
        self.sock.close()
        os.close(self.fd)


def _srtp_pointer(session: Session) -> int:
    """The srtp_t inside a pylibsrtp Session, as CompiledPacketPath takes it from aiortc."""
    from pylibsrtp import _binding

    return int(_binding.ffi.cast("uintptr_t", session._srtp[0]))


@pytest.fixture
def sender() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    yield sock
    sock.close()


def test_the_library_matches_the_declared_struct() -> None:
    library = _library()
    assert library.tcd_out_size() == fanout.ffi.sizeof("tcd_out")
    assert library.tcd_batch_size() == fanout.ffi.sizeof("tcd_batch")


def test_one_call_sends_a_packet_rewritten_for_each_subscriber(sender: socket.socket) -> None:
    library = _library()
    subscribers = [
        Subscriber(0x1111, "0", level=False, vp8=True, sender=sender),
        Subscriber(0x2222, "1", level=False, vp8=True, sender=sender),
        Subscriber(0x3333, "2", level=False, vp8=False, sender=sender),
    ]
    try:
        subscribers[0].out.seq_delta, subscribers[0].out.ts_delta = 100, 5000
        subscribers[1].out.seq_delta, subscribers[1].out.ts_delta = 0xFFFF, 0xFFFFFFF0
        subscribers[1].out.picture_id_delta = 0x7FFE
        subscribers[2].out.seq_delta = 7
        # A VP8 descriptor with a 15-bit picture id (0x0123), then the frame's bytes.
        payload = bytes([0x90, 0x80, 0x81, 0x23]) + bytes(range(200)) * 5
        outs = fanout.ffi.new("tcd_out *[]", [s.out for s in subscribers])
        ntp = ntp_now()
        sent = fanout_send(library, outs, 3, payload, 1, False, 0xFFF0, 0x10, ntp, 0x7F)
        assert sent == 3
        for subscriber in subscribers:
            data = subscriber.receive()
            first, second, sequence, timestamp, ssrc = struct.unpack_from("!BBHII", data)
            out = subscriber.out
            assert first == 0x90  # version 2, a header extension
            assert second == 0x80 | 96  # marker, payload type
            assert sequence == (0xFFF0 + out.seq_delta) & 0xFFFF
            assert timestamp == (0x10 + out.ts_delta) & 0xFFFFFFFF
            assert ssrc == subscriber.ssrc
            # abs-send-time: 6.18 fixed-point seconds, the middle 24 bits of the NTP time.
            at = subscriber.abs_offset
            assert int.from_bytes(data[at : at + 3], "big") == (ntp >> 14) & 0xFFFFFF
            body = data[subscriber.header_size :]
            assert len(body) == len(payload)
            assert body[4:] == payload[4:]
            expected_id = (0x0123 + out.picture_id_delta) & 0x7FFF if out.vp8 else 0x0123
            assert body[2] == 0x80 | (expected_id >> 8) and body[3] == expected_id & 0xFF
            assert out.packets == 1 and out.frames == 1 and out.dropped == 0
            assert out.octets == len(payload) and out.bytes == len(data) + 10  # auth tag
            assert out.last_sequence == sequence
            assert out.last_picture_id == (expected_id if out.vp8 else -1)
            assert out.sr_rtp == timestamp and out.sr_ntp == ntp
    finally:
        for subscriber in subscribers:
            subscriber.close()


def test_audio_carries_the_level_and_every_packet_is_a_frame(sender: socket.socket) -> None:
    library = _library()
    subscriber = Subscriber(0x4444, "3", level=True, vp8=False, sender=sender)
    try:
        outs = fanout.ffi.new("tcd_out *[]", [subscriber.out])
        for index in range(3):
            sent = fanout_send(
                library,
                outs,
                1,
                b"\xfc" * 60,
                0,
                True,
                10 + index,
                960 * index,
                ntp_now(),
                0x80 | 33,
            )
            assert sent == 1
            data = subscriber.receive()
            assert data[subscriber.level_offset] == 0x80 | 33
        assert subscriber.out.frames == 3 and subscriber.out.packets == 3
    finally:
        subscriber.close()


def test_an_inactive_or_unreachable_output_drops_and_the_rest_still_go(
    sender: socket.socket,
) -> None:
    library = _library()
    subscribers = [Subscriber(0x5555, "0", level=False, vp8=False, sender=sender) for _ in range(3)]
    try:
        subscribers[0].out.active = 0  # not routed yet
        # An address sendto refuses (EINVAL): the error stops that output until re-routed.
        subscribers[1].out.addr_len = 3
        outs = fanout.ffi.new("tcd_out *[]", [s.out for s in subscribers])
        sent = fanout_send(library, outs, 3, b"x" * 100, 0, False, 1, 1, ntp_now(), 0x7F)
        assert sent == 1
        assert subscribers[2].receive()[12 + 4 :]  # the reachable one got it
        assert subscribers[0].out.dropped == 1 and subscribers[0].out.packets == 0
        assert subscribers[1].out.dropped == 1 and subscribers[1].out.active == 0
        assert subscribers[1].out.error != 0
        # Too big for the buffer: dropped, never written past it.
        assert fanout_send(library, outs, 3, b"x" * 1600, 0, False, 2, 2, ntp_now(), 0) == 0
        assert subscribers[2].out.dropped == 1
    finally:
        for subscriber in subscribers:
            subscriber.close()


def _frame(sizes: list[int]) -> list[bytes]:
    """A frame's payloads: VP8 descriptors without picture ids, each packet's bytes its index."""
    return [
        bytes([0x10 if i == 0 else 0x00]) + bytes([i]) * (size - 1) for i, size in enumerate(sizes)
    ]


def test_a_batch_sends_each_subscribers_packets_together_and_in_order(
    sender: socket.socket,
) -> None:
    library = _library()
    subscribers = [
        Subscriber(0x6000 + i, "0", level=False, vp8=True, sender=sender) for i in range(3)
    ]
    # Equal sizes then a shorter last (one GSO message), then a size change (another), then
    # more than one output's queue holds (8): it flushes on its own and goes on queueing.
    sizes = [1100, 1100, 1100, 700, 900, 900, 1000, 1000, 1000, 1000, 300]
    frame = _frame(sizes)
    batch = SendBatch()
    owner = object()
    try:
        outs = fanout.ffi.new("tcd_out *[]", [s.out for s in subscribers])
        ntp = ntp_now()
        for index, payload in enumerate(frame):
            marker = int(index == len(frame) - 1)
            queued = fanout_send(
                library, outs, 3, payload, marker, False, 500 + index, 9000, ntp, 0x7F, batch, owner
            )
            assert queued == 3
        assert batch.held == [owner] * len(frame)  # the paths stay alive until the flush
        assert subscribers[0].out.queued == len(frame) - 8
        batch.flush()
        assert batch.held == [] and batch.c.count == 0
        for subscriber in subscribers:
            got = [subscriber.receive() for _ in frame]
            assert [struct.unpack_from("!H", d, 2)[0] for d in got] == [
                500 + i for i in range(len(frame))
            ]
            assert [d[subscriber.header_size :] for d in got] == frame
            assert [d[1] >> 7 for d in got] == [0] * (len(frame) - 1) + [1]
            out = subscriber.out
            assert out.packets == len(frame) and out.frames == 1 and out.dropped == 0
            assert out.octets == sum(sizes) and out.queued == 0
            assert out.bytes == sum(len(d) + 10 for d in got)
    finally:
        for subscriber in subscribers:
            subscriber.close()


def test_a_discarded_or_stopped_output_sends_nothing_it_queued(sender: socket.socket) -> None:
    library = _library()
    subscribers = [
        Subscriber(0x7000 + i, "0", level=False, vp8=False, sender=sender) for i in range(3)
    ]
    batch = SendBatch()
    try:
        outs = fanout.ffi.new("tcd_out *[]", [s.out for s in subscribers])
        for index, payload in enumerate(_frame([800, 800, 500])):
            fanout_send(library, outs, 3, payload, 0, False, index, 0, ntp_now(), 0, batch, None)
        library.tcd_discard(subscribers[0].out)  # its socket is about to be closed
        subscribers[1].out.active = 0  # its route went away before the flush
        batch.flush()
        assert len(subscribers[2].receive()) > 0
        for subscriber in subscribers[:2]:
            assert subscriber.out.dropped == 3 and subscriber.out.packets == 0
            subscriber.sock.settimeout(0.2)
            with pytest.raises(TimeoutError):
                subscriber.sock.recv(2048)
    finally:
        for subscriber in subscribers:
            subscriber.close()


def test_a_batch_to_an_address_the_kernel_refuses_drops_once_and_the_rest_still_go(
    sender: socket.socket,
) -> None:
    library = _library()
    subscribers = [
        Subscriber(0x7100 + i, "0", level=False, vp8=False, sender=sender) for i in range(2)
    ]
    subscribers[0].out.addr_len = 3  # sendmmsg refuses it (EINVAL), GSO message or not
    batch = SendBatch()
    frame = _frame([900, 900, 900, 400])
    try:
        outs = fanout.ffi.new("tcd_out *[]", [s.out for s in subscribers])
        for round_ in range(2):
            for index, payload in enumerate(frame):
                sequence = 10 * round_ + index
                fanout_send(library, outs, 2, payload, 0, False, sequence, 0, ntp_now(), 0, batch)
            batch.flush()
            start = subscribers[1].header_size
            assert [subscribers[1].receive()[start:] for _ in frame] == frame
            subscribers[0].out.active = 1  # as a re-route would
        bad, good = subscribers[0].out, subscribers[1].out
        assert bad.packets == 0 and bad.dropped == 2 * len(frame) and bad.error != 0
        assert good.packets == 2 * len(frame) and good.dropped == 0
    finally:
        for subscriber in subscribers:
            subscriber.close()


def test_a_library_built_from_another_struct_is_refused(tmp_path: Any) -> None:
    source = tmp_path / "old.c"
    source.write_text("int tcd_out_size(void) { return 8; }\nint tcd_fanout(void) { return 0; }\n")
    built = tmp_path / "old.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(built), str(source)], check=True)
    with pytest.raises(fanout.FanoutUnavailable, match=r"another fanout\.c"):
        fanout.load(built)
    with pytest.raises(fanout.FanoutUnavailable, match="not built"):
        fanout.load(tmp_path / "missing.so")

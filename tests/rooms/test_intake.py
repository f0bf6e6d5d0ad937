"""The compiled intake (rooms/intake.c through rooms/aiortc_internals.CompiledIntake): a
publisher's SRTP packets read off a real UDP socket, unprotected with a real libsrtp session,
counted as aiortc counts them, kept for NACKs and fanned out to a subscriber's socket; and
RTCP unprotected; everything C must not take (a gap, STUN, the packet every RX_INTERVAL that
Python sees, a forgery) handed back as it came, or dropped as aiortc drops it."""

from __future__ import annotations

import random
import socket
import struct
import time
from collections.abc import Iterator

import pytest
from aiortc.rtcrtpreceiver import NackGenerator, StreamStatistics
from pylibsrtp import Policy, Session

from rooms import fanout
from rooms.aiortc_internals import (
    CompiledIntake,
    SendBatch,
    _CompiledNackGenerator,
    _CompiledStreamStatistics,
    _fanout_protect,
    _intake_unprotect,
    _intake_unprotect_rtcp,
    _sockaddr_tuple,
)
from tests.rooms.test_fanout import Subscriber, _srtp_pointer

PUBLISHER_KEY = bytes(range(100, 130))
SSRC = 0x1234ABCD


class Packet:
    def __init__(
        self, sequence: int, timestamp: int, marker: int = 0, payload: bytes = b""
    ) -> None:
        self.sequence_number = sequence
        self.timestamp = timestamp
        self.marker = marker
        self.payload = payload


def _rtp(sequence: int, timestamp: int, payload: bytes, *, marker: int = 0, pt: int = 96) -> bytes:
    return struct.pack("!BBHII", 0x80, (marker << 7) | pt, sequence, timestamp, SSRC) + payload


class Hub:
    """The hub's end of one publisher: its socket, a CompiledIntake bound to it by hand (as
    CompiledIntake.route binds it to aiortc's receiver), one subscriber fanned out to."""

    def __init__(self, sender: socket.socket) -> None:
        self.library = fanout.load()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.publisher = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.publisher.bind(("127.0.0.1", 0))
        tx = Policy(key=PUBLISHER_KEY, ssrc_type=Policy.SSRC_ANY_OUTBOUND)
        tx.allow_repeat_tx = True  # the forgery test protects one sequence number twice
        self.publisher_srtp = Session(tx)
        self.rx = Session(Policy(key=PUBLISHER_KEY, ssrc_type=Policy.SSRC_ANY_INBOUND))
        self.intake = CompiledIntake(self.library)
        c = self.intake.c
        c.srtp = fanout.ffi.cast("void *", _srtp_pointer(self.rx))
        c.ssrc = SSRC
        c.payload_type = 96
        self.intake.routed = True
        self.subscriber = Subscriber(0x5555, "1", level=False, vp8=True, sender=sender)
        self.outs = fanout.ffi.new("tcd_out *[]", [self.subscriber.out])
        self.intake.set_fanout(self.outs, 1)
        self.routes = fanout.ffi.new("tcd_rx *[]", [c])
        self.batch = SendBatch()
        self.buffer = fanout.ffi.new("unsigned char[]", 65536)
        self.drainer = fanout.ffi.new("tcd_drainer *")
        d = self.drainer
        d.routes, d.n, d.batch = self.routes, 1, self.batch.c
        d.protect, d.unprotect = _fanout_protect(), _intake_unprotect()
        d.unprotect_rtcp = _intake_unprotect_rtcp()
        d.buf, d.size, d.max = self.buffer, 65536, 32

    def publish(self, packet: bytes, *, protect: bool = True) -> None:
        data = bytes(self.publisher_srtp.protect(packet)) if protect else packet
        self.publisher.sendto(data, self.sock.getsockname())

    def publish_rtcp(self, packet: bytes) -> bytes:
        data = bytes(self.publisher_srtp.protect_rtcp(packet))
        self.publisher.sendto(data, self.sock.getsockname())
        return data

    def drain(self) -> tuple[int, bytes]:
        """One tcd_drain call (which flushes the batch): its answer and the datagram left."""
        time.sleep(0.05)  # what was sent on loopback is waiting
        answer = self.library.tcd_drain(self.sock.fileno(), self.drainer, 0)
        assert self.batch.c.count == 0  # sent
        left = (fanout.RAW, fanout.PLAIN, fanout.RTCP)
        data = fanout.ffi.buffer(self.buffer, self.drainer.len)[:] if answer in left else b""
        return int(answer), data

    def close(self) -> None:
        self.sock.close()
        self.publisher.close()
        self.subscriber.close()


@pytest.fixture
def hub() -> Iterator[Hub]:
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.bind(("127.0.0.1", 0))
    hub = Hub(sender)
    yield hub
    hub.close()
    sender.close()


def _start(hub: Hub, sequence: int) -> None:
    """As after Python saw `sequence`: C may take what follows."""
    hub.intake.c.nack_max = sequence
    hub.intake.enable(True)


def test_the_statistics_count_as_aiortcs_own() -> None:
    library = fanout.load()
    intake = CompiledIntake(library)
    theirs = StreamStatistics(90000)
    ours = _CompiledStreamStatistics(intake, StreamStatistics(90000))
    rng = random.Random(7)
    sequence, timestamp = 65500, 4_294_000_000
    for _ in range(300):
        step = rng.choice([1, 1, 1, 2, -1, 0, 3])  # in order, gaps, reordering, repeats
        sequence = (sequence + step) & 0xFFFF  # wraps past 65535
        timestamp = (timestamp + rng.choice([0, 3000])) & 0xFFFFFFFF
        packet = Packet(sequence, timestamp)
        theirs.add(packet)
        ours.add(packet)
    for field in ("base_seq", "max_seq", "cycles", "packets_received", "_last_timestamp"):
        assert getattr(ours, field) == getattr(theirs, field), field
    assert ours.cycles == 1 << 16
    assert ours.packets_expected == theirs.packets_expected
    assert ours.packets_lost == theirs.packets_lost
    assert ours.fraction_lost == theirs.fraction_lost
    # Both arrival clocks are time.time(): microseconds apart, a few units of 1/90000 s.
    assert abs(ours._jitter_q4 - theirs._jitter_q4) < 16 * 90


def test_the_nack_generator_keeps_its_highest_sequence_in_c() -> None:
    intake = CompiledIntake(fanout.load())
    nacks = _CompiledNackGenerator(intake, NackGenerator())
    assert nacks.max_seq is None and intake.c.nack_max == -1
    nacks.add(Packet(10, 0))
    assert nacks.add(Packet(13, 0))  # 11 and 12 missing
    assert intake.c.nack_max == 13 and intake.c.missing == 2
    nacks.add(Packet(11, 0))
    nacks.add(Packet(12, 0))
    assert intake.c.missing == 0 and nacks.max_seq == 13


def test_the_history_keeps_packets_spots_duplicates_and_holds_large_ones() -> None:
    intake = CompiledIntake(fanout.load())
    assert intake.get(5) is None
    assert intake.add(Packet(5, 900, 1, b"abc"))
    assert not intake.add(Packet(5, 900, 1, b"abc"))
    kept = intake.get(5)
    assert kept is not None
    assert (kept.sequence_number, kept.timestamp, kept.marker, kept.payload) == (5, 900, 1, b"abc")
    large = b"x" * (fanout.SLOT + 1)
    assert intake.add(Packet(6, 1, 0, large))
    held = intake.get(6)
    assert held is not None and held.payload == large
    # The slot is reused 1024 packets later: the old packet is gone.
    assert intake.add(Packet(5 + fanout.HISTORY, 2, 0, b"new"))
    assert intake.get(5) is None
    newer = intake.get(5 + fanout.HISTORY)
    assert newer is not None and newer.payload == b"new"


def test_packets_in_sequence_are_taken_counted_kept_and_fanned_out(hub: Hub) -> None:
    _start(hub, 99)
    for i in range(5):
        hub.publish(_rtp(100 + i, 3000, b"\x90\x80\x05" + bytes([i]) * 50, marker=int(i == 4)))
    answer, _ = hub.drain()
    assert answer == 0  # all taken, nothing left waiting
    c = hub.intake.c
    assert (c.packets, c.frames, c.packets_received, c.max_seq, c.nack_max) == (5, 1, 5, 104, 104)
    assert c.rx_packets == 5 and c.python_due > time.monotonic()  # still C's to take
    assert c.last_at == pytest.approx(time.monotonic(), abs=1)
    for i in range(5):
        kept = hub.intake.get(100 + i)
        assert kept is not None and kept.payload == b"\x90\x80\x05" + bytes([i]) * 50
    received = [hub.subscriber.receive() for _ in range(5)]
    sequences = [struct.unpack_from("!H", p, 2)[0] for p in received]
    assert sequences == [(s + int(hub.subscriber.out.seq_delta)) & 0xFFFF for s in range(100, 105)]
    assert all(struct.unpack_from("!I", p, 8)[0] == 0x5555 for p in received)
    assert [p[-1] for p in received] == [0, 1, 2, 3, 4]
    assert received[4][1] >> 7 == 1  # the marker carried over


def test_what_c_must_not_take_comes_back_as_it_came(hub: Hub) -> None:
    _start(hub, 99)
    gap = _rtp(102, 3000, b"\x10payload")  # 100 and 101 never came
    hub.publish(gap)
    answer, data = hub.drain()
    assert answer == 1
    assert bytes(hub.rx.unprotect(data)) == gap  # still protected: Python unprotects it
    assert hub.intake.c.packets == 0

    stun = bytes(20)  # a STUN header's first byte is 0-3
    hub.publish(stun, protect=False)
    answer, data = hub.drain()
    assert answer == 1 and data == stun
    assert _sockaddr_tuple(fanout.ffi.buffer(hub.drainer.addr, hub.drainer.addr_len)[:]) == (
        hub.publisher.getsockname()
    )

    hub.intake.c.missing = 1  # aiortc still misses a packet: Python sends the NACKs
    hub.publish(_rtp(100, 3000, b"\x10a"))
    assert hub.drain()[0] == 1
    hub.intake.c.missing = 0

    hub.intake.enable(False)  # e.g. a subscriber waits for a keyframe
    hub.publish(_rtp(101, 3000, b"\x10b"))
    assert hub.drain()[0] == 1


def test_a_packet_every_rx_interval_goes_to_python(hub: Hub) -> None:
    _start(hub, 0)
    for i in range(3):
        hub.publish(_rtp(1 + i, 3000 * i, b"\x10" + bytes(20)))
    assert hub.drain()[0] == 0 and hub.intake.c.packets == 3  # all C's
    hub.intake.c.python_due = time.monotonic()  # as RX_INTERVAL after Python's last packet
    hub.publish(_rtp(4, 9000, b"\x10" + bytes(20)))
    answer, data = hub.drain()
    assert answer == 1
    assert struct.unpack_from("!H", data, 2)[0] == 4  # Python's, still protected
    assert hub.intake.c.packets == 3
    hub.intake.rearm()
    due = hub.intake.c.python_due - time.monotonic()
    assert fanout.RX_INTERVAL - 0.05 < due <= fanout.RX_INTERVAL


def test_rtcp_comes_back_unprotected_and_a_forged_one_is_dropped(hub: Hub) -> None:
    _start(hub, 0)
    report = struct.pack("!BBHI", 0x80, 201, 1, SSRC)  # a receiver report with no blocks
    sent = hub.publish_rtcp(report)
    answer, data = hub.drain()
    assert (answer, data, hub.drainer.received) == (fanout.RTCP, report, len(sent))
    forged = bytearray(hub.publisher_srtp.protect_rtcp(report))
    forged[-1] ^= 0xFF  # the auth tag no longer matches
    hub.publisher.sendto(bytes(forged), hub.sock.getsockname())
    assert hub.drain()[0] == 0 and hub.drainer.srtcp_errors == 1  # dropped, as aiortc drops it
    # Without the RTCP function (FAST_RTCP off), RTCP goes back as it came.
    hub.drainer.unprotect_rtcp = fanout.ffi.NULL
    sent = hub.publish_rtcp(report)
    assert hub.drain() == (fanout.RAW, sent)


def test_a_forgery_is_dropped_and_a_malformed_packet_comes_back_decrypted(hub: Hub) -> None:
    _start(hub, 9)
    forged = bytearray(hub.publisher_srtp.protect(_rtp(10, 0, b"\x10" + bytes(30))))
    forged[-1] ^= 0xFF  # the auth tag no longer matches
    hub.publish(bytes(forged), protect=False)
    assert hub.drain()[0] == 0  # dropped, as aiortc drops it
    assert hub.intake.c.srtp_errors == 1 and hub.intake.c.packets == 0

    # Padding longer than the payload: decrypted, but Python (and aiortc) read it.
    bad = bytearray(_rtp(10, 0, b"\x10abc\x09"))
    bad[0] |= 0x20
    hub.publish(bytes(bad))
    answer, data = hub.drain()
    assert answer == 3 and data == bytes(bad)
    assert hub.intake.c.packets == 0


def test_the_library_matches_the_declared_intake_struct() -> None:
    library = fanout.load()
    assert library.tcd_rx_size() == fanout.ffi.sizeof("tcd_rx")
    assert library.tcd_drainer_size() == fanout.ffi.sizeof("tcd_drainer")
    assert fanout.ffi.sizeof("tcd_slot") > fanout.SLOT

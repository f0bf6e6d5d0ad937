"""The compiled packet path (rooms/fanout.c, rooms/intake.c): loads rooms/_fanout.so with cffi
in ABI mode.

`make` builds the library with Debian's gcc (`make fanout`; `make run` and `make test` depend
on it). Without it, or with TCD_FANOUT=python, LIBRARY is None and the packet forwarder uses the
pure-Python PacketPath: same packets on the wire, about twice the CPU per subscriber. The
struct below must match fanout.c field for field; load() compares the sizes and refuses a
library that disagrees (a stale build), rather than write past the end of a struct.

Nothing here knows aiortc: rooms/aiortc_internals.py fills the outputs from aiortc's objects.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import cffi  # type: ignore[import-untyped]

logger = logging.getLogger(__name__)

LIBRARY_PATH = Path(__file__).with_name("_fanout.so")
BUFFER_SIZE = 1600
QUEUE = 8  # TCD_QUEUE
BATCH_OUTS = 256  # TCD_BATCH_OUTS
# rooms/intake.c
HISTORY = 1024  # TCD_HISTORY (rooms/rtp_packets.py HISTORY_SIZE)
SLOT = 1400  # TCD_SLOT
RX_INTERVAL = 0.25  # TCD_RX_INTERVAL
# tcd_drain's answers
RAW, TAKEN, PLAIN, MORE, RTCP = 1, 2, 3, 4, 5

CDEF = f"""
typedef int (*tcd_protect_fn)(void *ctx, void *rtp, int *len);
typedef struct tcd_out {{
    void *srtp;
    int fd;
    int addr_len;
    unsigned char addr[128];
    int header_size;
    int abs_offset;
    int level_offset;
    int active;
    int vp8;
    uint8_t payload_type;
    uint16_t seq_delta;
    uint32_t ts_delta;
    uint16_t picture_id_delta;
    int64_t last_sequence;
    uint32_t last_timestamp;
    uint64_t last_ntp;
    int32_t last_picture_id;
    uint64_t packets;
    uint64_t frames;
    uint64_t dropped;
    uint64_t octets;
    uint64_t bytes;
    uint64_t sr_ntp;
    uint32_t sr_rtp;
    int error;
    int queued;
    int queue_length[{QUEUE}];
    int queue_payload[{QUEUE}];
    unsigned char buffer[{BUFFER_SIZE}];
    unsigned char queue[{QUEUE}][{BUFFER_SIZE}];
}} tcd_out;
typedef struct tcd_batch {{
    int count;
    tcd_out *outs[{BATCH_OUTS}];
}} tcd_batch;
int tcd_fanout(tcd_out **outs, int n, tcd_batch *batch, tcd_protect_fn protect,
               const char *payload, int len, int marker, int audio, unsigned int sequence,
               unsigned int timestamp, unsigned long long ntp, int level);
void tcd_flush(tcd_batch *batch);
void tcd_discard(tcd_out *o);
int tcd_out_size(void);
int tcd_batch_size(void);
typedef int (*tcd_unprotect_fn)(void *ctx, void *srtp_hdr, int *len);
typedef struct tcd_slot {{
    int32_t sequence;
    int32_t length;
    uint32_t timestamp;
    int32_t marker;
    unsigned char payload[{SLOT}];
}} tcd_slot;
typedef struct tcd_rx {{
    void *srtp;
    uint32_t ssrc;
    int payload_type;
    int enabled;
    int clock_rate;
    tcd_out **outs;
    int n;
    int64_t base_seq;
    int64_t max_seq;
    int64_t cycles;
    int64_t packets_received;
    int64_t jitter_q4;
    int64_t last_arrival;
    int64_t last_timestamp;
    int64_t nack_max;
    int missing;
    double python_due;
    uint64_t packets;
    uint64_t frames;
    double last_at;
    uint64_t rx_bytes;
    uint64_t rx_packets;
    uint64_t srtp_errors;
    tcd_slot history[{HISTORY}];
}} tcd_rx;
void tcd_stats_add(tcd_rx *rx, unsigned int sequence, unsigned int timestamp);
int tcd_history_put(tcd_rx *rx, unsigned int sequence, unsigned int timestamp, int marker,
                    const char *payload, int len);
void tcd_rx_reset(tcd_rx *rx);
typedef struct tcd_drainer {{
    tcd_rx **routes;
    int n;
    tcd_batch *batch;
    tcd_protect_fn protect;
    tcd_unprotect_fn unprotect;
    tcd_unprotect_fn unprotect_rtcp;
    unsigned char *buf;
    int size;
    int max;
    int len;
    int received;
    int addr_len;
    uint64_t srtcp_errors;
    unsigned char addr[128];
}} tcd_drainer;
int tcd_drain(int fd, tcd_drainer *d, int first);
int tcd_rx_size(void);
int tcd_drainer_size(void);
"""

ffi = cffi.FFI()
ffi.cdef(CDEF)


class FanoutUnavailable(RuntimeError):
    """The compiled fan-out cannot be used (not built, stale, or turned off)."""


def load(path: Path = LIBRARY_PATH) -> Any:
    """Open the library; raises FanoutUnavailable with the reason."""
    if not path.exists():
        raise FanoutUnavailable(f"{path} is not built (make fanout)")
    try:
        library = ffi.dlopen(str(path))
    except OSError as error:
        raise FanoutUnavailable(f"{path} does not load: {error}") from error
    try:
        sizes = {
            "tcd_out": library.tcd_out_size(),
            "tcd_batch": library.tcd_batch_size(),
            "tcd_rx": library.tcd_rx_size(),
            "tcd_drainer": library.tcd_drainer_size(),
        }
    except AttributeError as error:
        raise FanoutUnavailable(f"{path} was built from another fanout.c: make fanout") from error
    for name, size in sizes.items():
        if int(size) != ffi.sizeof(name):
            raise FanoutUnavailable(
                f"{path} was built from another fanout.c ({name} of {size} bytes, "
                f"{ffi.sizeof(name)} expected): make fanout"
            )
    return library


def _library() -> Any:
    choice = os.environ.get("TCD_FANOUT", "auto").strip().lower()
    if choice == "python":
        return None
    if choice not in ("auto", "compiled"):
        raise ValueError(f"TCD_FANOUT must be auto, compiled or python, not {choice!r}")
    try:
        return load()
    except FanoutUnavailable as error:
        if choice == "compiled":
            raise
        logger.warning("packet forwarding in pure Python: %s", error)
        return None


# The loaded library, or None: the pure-Python path (read once, at import).
LIBRARY: Any = _library()

/* The packet forwarder's receive side in C: a publisher's video packets read off its socket,
 * SRTP-unprotected, counted, kept for NACKs and fanned out (rooms/fanout.c) without Python.
 *
 * One tcd_rx per video publication. Python (rooms/aiortc_internals.py) fills it: the SSRC and
 * payload type, the transport's receive srtp_t (from pylibsrtp), the fan-out's outputs; and
 * says when C may take packets at all (`enabled`: every subscriber is cut and compiled,
 * nothing is held, no frames are being rebuilt). C takes only the plain case: the next packet
 * in sequence with nothing missing. Everything else (a gap, a reordered or repeated packet,
 * RTX, RTCP, STUN, another SSRC) is handed back to Python as it was, which sends NACKs and
 * keeps aiortc's receiver in step; so is a packet every TCD_RX_INTERVAL seconds, so that
 * Python still checks routes, reports what was sent and caps the publisher's bitrate a few
 * times a second, at any bitrate. RTCP is unprotected here too (with the transport's session)
 * and handed to Python already plain.
 *
 * The receive statistics (what aiortc's receiver reports are built from) and the NACK
 * generator's highest sequence number live here for both paths: aiortc's objects read and
 * write them through properties (rooms/aiortc_internals.py), so the two never disagree.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "fanout.h"

#define TCD_HISTORY 1024 /* packets kept per publication (rooms/rtp_packets.py HISTORY_SIZE) */
#define TCD_SLOT 1400    /* payload bytes a history slot holds (larger ones Python keeps) */
#define TCD_RX_INTERVAL 0.25 /* seconds between the packets that go through Python */
#define TCD_NTP_EPOCH 2208988800ULL

typedef int (*tcd_unprotect_fn)(void *ctx, void *srtp_hdr, int *len);

typedef struct tcd_slot {
    int32_t sequence; /* -1: empty */
    int32_t length;   /* payload bytes held; -1: held by Python (too large for the slot) */
    uint32_t timestamp;
    int32_t marker;
    unsigned char payload[TCD_SLOT];
} tcd_slot;

typedef struct tcd_rx {
    /* Set by Python. */
    void *srtp;          /* the publisher transport's receive srtp_t; NULL: take nothing */
    uint32_t ssrc;
    int payload_type;
    int enabled;
    int clock_rate;
    tcd_out **outs;      /* the fanned-out subscriptions' outputs (Python owns the array) */
    int n;
    /* Receive statistics, as aiortc's StreamStatistics keeps them (-1: None). */
    int64_t base_seq;
    int64_t max_seq;
    int64_t cycles;
    int64_t packets_received;
    int64_t jitter_q4;
    int64_t last_arrival;
    int64_t last_timestamp;
    /* aiortc's NackGenerator: its highest sequence number (-1: None), how many it misses. */
    int64_t nack_max;
    int missing;
    /* CLOCK_MONOTONIC seconds from which the next packet goes through Python. */
    double python_due;
    /* Counted here for what C took; Python adds them to its own. */
    uint64_t packets;
    uint64_t frames;
    double last_at;       /* CLOCK_MONOTONIC seconds of the last packet taken */
    uint64_t rx_bytes;    /* SRTP datagrams' bytes, for the transport's statistics */
    uint64_t rx_packets;
    uint64_t srtp_errors; /* datagrams unprotect refused (replays, forgeries): dropped */
    tcd_slot history[TCD_HISTORY];
} tcd_rx;

/* A datagram returned to Python by tcd_drain. */
enum { TCD_NOTHING = 0, TCD_RAW = 1, TCD_TAKEN = 2, TCD_PLAIN = 3, TCD_MORE = 4, TCD_RTCP = 5 };

/* One transport's reads (Python owns it, one per publisher transport): what tcd_drain needs
 * that stays the same from call to call, and what it returns besides its answer. */
typedef struct tcd_drainer {
    /* Set by Python. */
    tcd_rx **routes;       /* the transport's video publications (Python owns the array) */
    int n;
    tcd_batch *batch;
    tcd_protect_fn protect;
    tcd_unprotect_fn unprotect;
    tcd_unprotect_fn unprotect_rtcp; /* NULL: RTCP goes back to Python as received */
    unsigned char *buf;
    int size;
    int max;               /* datagrams read in one call at most */
    /* Returned. */
    int len;               /* the datagram left in buf */
    int received;          /* TCD_RTCP: its length as it was received */
    int addr_len;          /* the sender's address in addr; 0: the first datagram's */
    uint64_t srtcp_errors; /* RTCP unprotect refused: dropped */
    unsigned char addr[128];
} tcd_drainer;

static double seconds(clockid_t clock)
{
    struct timespec now;
    clock_gettime(clock, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* As aiortc's ntp timestamps: int((time.time() + epoch) * 2**32). */
static uint64_t ntp_now(void)
{
    return (uint64_t)((seconds(CLOCK_REALTIME) + (double)TCD_NTP_EPOCH) * 4294967296.0);
}

static int uint16_gt(uint32_t a, uint32_t b)
{
    uint32_t half = 0x8000;
    return ((a > b) && (a - b < half)) || ((a < b) && (b - a > half));
}

/* aiortc's StreamStatistics.add, field for field (its arrival clock is time.time()). */
void tcd_stats_add(tcd_rx *rx, unsigned int sequence, unsigned int timestamp)
{
    int in_order = rx->max_seq < 0 || uint16_gt(sequence, (uint32_t)rx->max_seq);
    rx->packets_received++;
    if (rx->base_seq < 0)
        rx->base_seq = sequence;
    if (!in_order)
        return;
    int64_t arrival = (int64_t)(seconds(CLOCK_REALTIME) * rx->clock_rate);
    if (rx->max_seq >= 0 && (int64_t)sequence < rx->max_seq)
        rx->cycles += 1 << 16;
    rx->max_seq = sequence;
    if ((int64_t)timestamp != rx->last_timestamp && rx->packets_received > 1) {
        int64_t diff = (arrival - rx->last_arrival) - ((int64_t)timestamp - rx->last_timestamp);
        if (diff < 0)
            diff = -diff;
        rx->jitter_q4 += diff - ((rx->jitter_q4 + 8) >> 4);
    }
    rx->last_arrival = arrival;
    rx->last_timestamp = timestamp;
}

/* Keep a packet for subscribers' NACKs. 0: this sequence number is already held (a
 * duplicate); 1: kept; 2: noted, but the payload is too large for the slot (Python keeps it). */
int tcd_history_put(tcd_rx *rx, unsigned int sequence, unsigned int timestamp, int marker,
                    const char *payload, int len)
{
    tcd_slot *slot = &rx->history[sequence & (TCD_HISTORY - 1)];
    if (slot->sequence == (int32_t)sequence)
        return 0;
    slot->sequence = (int32_t)sequence;
    slot->timestamp = timestamp;
    slot->marker = marker;
    if (len < 0 || len > TCD_SLOT) {
        slot->length = -1;
        return 2;
    }
    slot->length = len;
    memcpy(slot->payload, payload, (size_t)len);
    return 1;
}

/* Empty the history (a fresh tcd_rx has slots of sequence 0: mark them free). */
void tcd_rx_reset(tcd_rx *rx)
{
    for (int i = 0; i < TCD_HISTORY; i++)
        rx->history[i].sequence = -1;
    rx->base_seq = rx->max_seq = rx->last_arrival = rx->last_timestamp = rx->nack_max = -1;
}

/* One datagram (len bytes at data, room for size) for route rx, if C may take it. */
static int take(tcd_rx *rx, unsigned char *data, int *plen, tcd_batch *batch,
                tcd_protect_fn protect, tcd_unprotect_fn unprotect)
{
    int len = *plen;
    /* The RTP header is sent in the clear: all of this is decided before decrypting, so
     * that a packet handed back to Python can still be unprotected there. */
    uint32_t sequence = ((uint32_t)data[2] << 8) | data[3];
    if (!rx->enabled || rx->srtp == NULL || rx->missing || rx->nack_max < 0
        || sequence != (((uint32_t)rx->nack_max + 1) & 0xFFFF)
        || (data[1] & 0x7F) != rx->payload_type)
        return TCD_RAW;
    double now = seconds(CLOCK_MONOTONIC);
    if (now >= rx->python_due)
        return TCD_RAW;
    rx->rx_bytes += (uint64_t)len;
    rx->rx_packets++;
    if (unprotect(rx->srtp, data, &len) != 0) {
        rx->srtp_errors++;
        return TCD_TAKEN; /* dropped, as aiortc drops it */
    }
    *plen = len;
    int first = data[0];
    int start = 12 + 4 * (first & 0x0F);
    if (first & 0x10) {
        if (len < start + 4)
            return TCD_PLAIN;
        start += 4 + 4 * ((data[start + 2] << 8) | data[start + 3]);
    }
    int end = (first & 0x20) ? len - data[len - 1] : len;
    if (start >= end || end > len || end - start > TCD_SLOT)
        return TCD_PLAIN; /* Python reads it (and aiortc drops what is malformed) */
    uint32_t timestamp = ((uint32_t)data[4] << 24) | ((uint32_t)data[5] << 16)
                         | ((uint32_t)data[6] << 8) | data[7];
    int marker = data[1] >> 7;
    const char *payload = (const char *)data + start;
    int payload_len = end - start;
    tcd_stats_add(rx, sequence, timestamp);
    rx->nack_max = sequence;
    if (!tcd_history_put(rx, sequence, timestamp, marker, payload, payload_len))
        return TCD_TAKEN; /* a duplicate: forwarded once already */
    rx->packets++;
    if (marker)
        rx->frames++;
    rx->last_at = now;
    if (rx->n > 0)
        tcd_fanout(rx->outs, rx->n, batch, protect, payload, payload_len, marker, 0, sequence,
                   timestamp, ntp_now(), 0x7F);
    return TCD_TAKEN;
}

/* The route for an RTP datagram's SSRC among n, or NULL. */
static tcd_rx *route_of(tcd_rx **routes, int n, const unsigned char *data, int len)
{
    if (len <= 12 || data[0] < 128 || data[0] > 191 || (data[1] > 191 && data[1] < 209))
        return NULL; /* not RTP (STUN, DTLS, RTCP) */
    uint32_t ssrc = ((uint32_t)data[8] << 24) | ((uint32_t)data[9] << 16)
                    | ((uint32_t)data[10] << 8) | data[11];
    for (int i = 0; i < n; i++)
        if (routes[i]->ssrc == ssrc)
            return routes[i];
    return NULL;
}

/* An SRTCP datagram, by RFC 5761's payload-type ranges (as aiortc tells them apart). */
static int is_rtcp(const unsigned char *data, int len)
{
    return len > 8 && data[0] > 127 && data[0] < 192 && data[1] > 191 && data[1] < 209;
}

/* Take what C can from a publisher's socket: first the datagram already in d->buf (first > 0:
 * its length), then up to d->max more read from fd. Stops at the first datagram Python must
 * see, left in d->buf with its length in d->len (and its sender's address in d->addr for one
 * read here): TCD_RAW as received, TCD_PLAIN an RTP packet already unprotected, TCD_RTCP an
 * RTCP compound already unprotected (d->received: its length before). TCD_NOTHING: nothing
 * more waiting; TCD_MORE: d->max read; a negative errno: the read failed. The batch is
 * flushed before these last three. */
int tcd_drain(int fd, tcd_drainer *d, int first)
{
    int length = first;
    unsigned char *buf = d->buf;
    d->addr_len = 0;
    for (int i = 0;; i++) {
        if (length <= 0) {
            if (i > d->max) {
                tcd_flush(d->batch);
                return TCD_MORE;
            }
            socklen_t alen = (socklen_t)sizeof(d->addr);
            ssize_t got = recvfrom(fd, buf, (size_t)d->size, MSG_DONTWAIT,
                                   (struct sockaddr *)d->addr, &alen);
            if (got < 0) {
                int error = errno;
                tcd_flush(d->batch);
                if (error == EAGAIN || error == EWOULDBLOCK || error == EINTR)
                    return TCD_NOTHING;
                return -error;
            }
            d->addr_len = (int)alen;
            length = (int)got;
        }
        d->len = length;
        tcd_rx *rx = route_of(d->routes, d->n, buf, length);
        if (rx == NULL) {
            void *session = d->n > 0 ? d->routes[0]->srtp : NULL; /* the transport's */
            if (d->unprotect_rtcp == NULL || session == NULL || !is_rtcp(buf, length))
                return TCD_RAW;
            d->received = length;
            if (d->unprotect_rtcp(session, buf, &d->len) != 0) {
                d->srtcp_errors++; /* dropped, as aiortc drops it */
                length = 0;
                continue;
            }
            return TCD_RTCP;
        }
        int taken = take(rx, buf, &d->len, d->batch, d->protect, d->unprotect);
        if (taken != TCD_TAKEN)
            return taken;
        length = 0;
    }
}

int tcd_rx_size(void)
{
    return (int)sizeof(tcd_rx);
}

int tcd_drainer_size(void)
{
    return (int)sizeof(tcd_drainer);
}

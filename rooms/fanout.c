/* The packet forwarder's hot loop in C: one incoming RTP packet to every subscriber of its
 * publication in one call (rewrite the header, copy the payload, SRTP-protect in place, sendto).
 *
 * Built by `make` (gcc -O2 -shared) into rooms/_fanout.so and loaded with cffi in ABI mode by
 * rooms/fanout.py, which also holds the struct's declaration for cffi: keep the two in step.
 * Nothing here knows aiortc. Python fills each tcd_out (header template, SRTP session pointer
 * from pylibsrtp, a dup() of the ICE pair's socket, the peer's address) and reads the counters
 * back; the pure-Python PacketPath does the same work when this library is not built.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#define TCD_BUFFER 1600
/* Room left after the payload for the SRTP auth tag (10 bytes for the profiles aiortc
 * negotiates; 32 kept as the Python path keeps). */
#define TCD_TRAILER 32

typedef int (*tcd_protect_fn)(void *ctx, void *rtp, int *len);

typedef struct tcd_out {
    /* Set by Python. */
    void *srtp;             /* srtp_t of the subscriber's DTLS transport */
    int fd;                 /* our own dup() of the nominated pair's UDP socket */
    int addr_len;
    unsigned char addr[128]; /* struct sockaddr_in/in6 of the subscriber */
    int header_size;        /* 12 + extension block */
    int abs_offset;         /* offset of the 3-byte abs-send-time value, 0: none */
    int level_offset;       /* offset of the audio level byte, 0: none */
    int active;             /* 0: skip (not routed); Python routes and sets it again */
    int vp8;                /* payloads are VP8: the picture id is followed (and rewritten) */
    uint8_t payload_type;
    uint16_t seq_delta;
    uint32_t ts_delta;
    uint16_t picture_id_delta;
    /* Kept here, read by Python. */
    int64_t last_sequence;  /* -1 before the first packet */
    uint32_t last_timestamp;
    uint64_t last_ntp;
    int32_t last_picture_id; /* as sent, -1: none */
    uint64_t packets;
    uint64_t frames;
    uint64_t dropped;
    uint64_t octets;        /* payload bytes (sender reports) */
    uint64_t bytes;         /* protected datagram bytes (transport statistics) */
    uint64_t sr_ntp;        /* NTP/RTP pair of the last frame sent, for sender reports */
    uint32_t sr_rtp;
    int error;              /* errno of a send that failed other than "buffer full" */
    unsigned char buffer[TCD_BUFFER];
} tcd_out;

/* Offset of the VP8 payload descriptor's picture id (RFC 7741 4.2), -1 if none. */
static int vp8_picture_id_offset(const unsigned char *p, int len)
{
    if (len < 3 || !(p[0] & 0x80) || !(p[1] & 0x80))
        return -1;
    return 2;
}

/* Add delta to the picture id at b (7 or 15 bits, kept in its own width); returns the id. */
static int32_t vp8_rewrite_picture_id(unsigned char *b, uint16_t delta)
{
    if (b[0] & 0x80) {
        uint16_t value = (uint16_t)((((b[0] & 0x7F) << 8) | b[1]) + delta) & 0x7FFF;
        b[0] = (unsigned char)(0x80 | (value >> 8));
        b[1] = (unsigned char)(value & 0xFF);
        return value;
    }
    uint8_t value = (uint8_t)((b[0] & 0x7F) + delta) & 0x7F;
    b[0] = value;
    return value;
}

static int send_one(tcd_out *o, tcd_protect_fn protect, const unsigned char *payload, int len,
                    int marker, uint16_t sequence, uint32_t timestamp, uint64_t ntp,
                    uint8_t level)
{
    if (!o->active) {
        o->dropped++;
        return 0;
    }
    int start = o->header_size;
    if (start + len > TCD_BUFFER - TCD_TRAILER) {
        o->dropped++;
        return 0;
    }
    unsigned char *b = o->buffer;
    uint16_t seq = (uint16_t)(sequence + o->seq_delta);
    uint32_t ts = timestamp + o->ts_delta;
    b[1] = (unsigned char)(marker ? (0x80 | o->payload_type) : o->payload_type);
    b[2] = (unsigned char)(seq >> 8);
    b[3] = (unsigned char)seq;
    b[4] = (unsigned char)(ts >> 24);
    b[5] = (unsigned char)(ts >> 16);
    b[6] = (unsigned char)(ts >> 8);
    b[7] = (unsigned char)ts;
    if (o->abs_offset) {
        uint32_t abs = (uint32_t)(ntp >> 14) & 0xFFFFFF;
        b[o->abs_offset] = (unsigned char)(abs >> 16);
        b[o->abs_offset + 1] = (unsigned char)(abs >> 8);
        b[o->abs_offset + 2] = (unsigned char)abs;
    }
    if (o->level_offset)
        b[o->level_offset] = level;
    memcpy(b + start, payload, (size_t)len);
    int32_t picture_id = -1;
    if (o->vp8) {
        int offset = vp8_picture_id_offset(payload, len);
        if (offset >= 0) {
            unsigned char *at = b + start + offset;
            if (o->picture_id_delta)
                picture_id = vp8_rewrite_picture_id(at, o->picture_id_delta);
            else
                picture_id = (at[0] & 0x80) ? (((at[0] & 0x7F) << 8) | at[1]) : (at[0] & 0x7F);
        }
    }
    int length = start + len;
    if (protect(o->srtp, b, &length) != 0) {
        o->dropped++;
        return 0;
    }
    ssize_t sent = sendto(o->fd, b, (size_t)length, MSG_DONTWAIT,
                          (const struct sockaddr *)o->addr, (socklen_t)o->addr_len);
    if (sent < 0) {
        /* A full socket buffer drops the packet as UDP would (the subscriber NACKs); anything
         * else stops this output until Python has looked at the route again. */
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ENOBUFS) {
            o->error = errno;
            o->active = 0;
        }
        o->dropped++;
        return 0;
    }
    o->bytes += (uint64_t)length;
    o->octets += (uint64_t)len;
    o->packets++;
    if (o->last_sequence < 0 || (uint16_t)(seq - (uint16_t)o->last_sequence) < 0x8000) {
        o->last_sequence = seq;
        o->last_timestamp = ts;
        o->last_ntp = ntp;
        o->last_picture_id = picture_id;
    }
    return 1;
}

/* Send one packet to each of n outputs; `audio` counts every packet as a frame (sender
 * reports carry every audio packet's time). Returns how many went out. */
int tcd_fanout(tcd_out **outs, int n, tcd_protect_fn protect, const char *payload, int len,
               int marker, int audio, unsigned int sequence, unsigned int timestamp,
               unsigned long long ntp, int level)
{
    int sent = 0;
    for (int i = 0; i < n; i++) {
        tcd_out *o = outs[i];
        if (send_one(o, protect, (const unsigned char *)payload, len, marker,
                     (uint16_t)sequence, (uint32_t)timestamp, (uint64_t)ntp, (uint8_t)level)) {
            sent++;
            if (marker || audio) {
                o->frames++;
                o->sr_ntp = ntp;
                o->sr_rtp = timestamp + o->ts_delta;
            }
        }
    }
    return sent;
}

/* The size of the struct as compiled, which rooms/fanout.py compares with cffi's. */
int tcd_out_size(void)
{
    return (int)sizeof(tcd_out);
}

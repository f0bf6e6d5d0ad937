/* The compiled packet path's shared declarations: the fan-out (rooms/fanout.c) and the
 * intake (rooms/intake.c) are built together into rooms/_fanout.so; rooms/fanout.py declares
 * the same structs for cffi: keep the three in step. */
#ifndef TCD_FANOUT_H
#define TCD_FANOUT_H

#include <stdint.h>

#define TCD_BUFFER 1600
/* Room left after the payload for the SRTP auth tag (10 bytes for the profiles aiortc
 * negotiates; 32 kept as the Python path keeps). */
#define TCD_TRAILER 32
/* Datagrams an output holds for one sendmmsg (a frame of a 1-2 Mbit/s stream is 3-8 packets). */
#define TCD_QUEUE 8
/* Outputs one batch tracks before it flushes on its own. */
#define TCD_BATCH_OUTS 256

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
    int queued;             /* datagrams in queue[] waiting for tcd_flush */
    int queue_length[TCD_QUEUE];
    int queue_payload[TCD_QUEUE];
    unsigned char buffer[TCD_BUFFER];
    unsigned char queue[TCD_QUEUE][TCD_BUFFER];
} tcd_out;

/* The outputs holding queued datagrams (Python owns it; one per publisher's socket read). */
typedef struct tcd_batch {
    int count;
    tcd_out *outs[TCD_BATCH_OUTS];
} tcd_batch;

void tcd_flush(tcd_batch *batch);
int tcd_fanout(tcd_out **outs, int n, tcd_batch *batch, tcd_protect_fn protect,
               const char *payload, int len, int marker, int audio, unsigned int sequence,
               unsigned int timestamp, unsigned long long ntp, int level);

#endif

/* The packet forwarder's hot loop in C: one incoming RTP packet to every subscriber of its
 * publication in one call (rewrite the header, copy the payload, SRTP-protect in place, sendto).
 *
 * Built by `make` (gcc -O2 -shared) into rooms/_fanout.so and loaded with cffi in ABI mode by
 * rooms/fanout.py, which also holds the structs' declarations for cffi: keep the two in step.
 *
 * With a batch, packets are protected at once but queued on their output; tcd_flush sends each
 * output's queue with one sendmmsg. Python flushes when it has read all that was waiting on a
 * publisher's socket (the packets of a frame arrive together), so a subscriber gets a frame's
 * packets in one system call and one wake-up instead of one each, without waiting for anything
 * that has not arrived. Datagrams of equal size in a row (a frame's packets: the packetizer
 * cuts equal pieces but for the last) go as one UDP GSO message, which the kernel carries
 * through its stack once and cuts into datagrams at the end (UDP_SEGMENT): the stack, not the
 * system call, is most of what a forwarded packet costs.
 * Nothing here knows aiortc. Python fills each tcd_out (header template, SRTP session pointer
 * from pylibsrtp, a dup() of the ICE pair's socket, the peer's address) and reads the counters
 * back; the pure-Python PacketPath does the same work when this library is not built.
 */
#define _GNU_SOURCE /* sendmmsg */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h: generic segmentation offload for UDP (Linux 4.18) */
#endif

#include "fanout.h"

/* Cleared the first time the kernel refuses a GSO message (then never tried again). */
static int gso_usable = 1;

/* Send an output's queue: one sendmmsg (more only if the kernel took part of it). */
static void flush_out(tcd_out *o)
{
    int n = o->queued;
    if (n == 0)
        return;
    o->queued = 0;
    if (!o->active) {
        o->dropped += (uint64_t)n;
        return;
    }
    struct mmsghdr messages[TCD_QUEUE];
    struct iovec vectors[TCD_QUEUE];
    int first[TCD_QUEUE + 1]; /* messages[m] carries datagrams first[m] .. first[m + 1] - 1 */
    union {
        char buffer[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } control[TCD_QUEUE];
    memset(messages, 0, sizeof(messages));
    int count = 0;
    for (int i = 0; i < n;) {
        int size = o->queue_length[i];
        int j = i + 1;
        if (gso_usable)
            while (j < n && o->queue_length[j - 1] == size && o->queue_length[j] <= size)
                j++;
        for (int k = i; k < j; k++) {
            vectors[k].iov_base = o->queue[k];
            vectors[k].iov_len = (size_t)o->queue_length[k];
        }
        struct msghdr *header = &messages[count].msg_hdr;
        header->msg_name = o->addr;
        header->msg_namelen = (socklen_t)o->addr_len;
        header->msg_iov = &vectors[i];
        header->msg_iovlen = (size_t)(j - i);
        if (j - i > 1) {
            header->msg_control = control[count].buffer;
            header->msg_controllen = sizeof(control[count].buffer);
            struct cmsghdr *cmsg = CMSG_FIRSTHDR(header);
            cmsg->cmsg_level = SOL_UDP;
            cmsg->cmsg_type = UDP_SEGMENT;
            cmsg->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t segment = (uint16_t)size;
            memcpy(CMSG_DATA(cmsg), &segment, sizeof(segment));
        }
        first[count++] = i;
        i = j;
    }
    first[count] = n;
    int done = 0; /* messages */
    while (done < count) {
        int sent = sendmmsg(o->fd, messages + done, (unsigned int)(count - done), MSG_DONTWAIT);
        if (sent <= 0) {
            if (sent < 0 && (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT) &&
                gso_usable && messages[done].msg_hdr.msg_iovlen > 1) {
                /* A kernel or device without UDP GSO: from now on one datagram per message,
                 * starting with what is left of this queue. */
                int refused = errno;
                int rest = first[done];
                for (int k = rest; k < n; k++) {
                    memmove(o->queue[k - rest], o->queue[k], (size_t)o->queue_length[k]);
                    o->queue_length[k - rest] = o->queue_length[k];
                    o->queue_payload[k - rest] = o->queue_payload[k];
                }
                gso_usable = 0;
                o->queued = n - rest;
                flush_out(o);
                if (!o->active && o->error == refused)
                    gso_usable = 1; /* refused alone as well: the output's fault, not GSO's */
                return;
            }
            /* As for one packet: a full buffer drops what is left, anything else stops the
             * output until Python has looked at the route again. */
            if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ENOBUFS) {
                o->error = errno;
                o->active = 0;
            }
            break;
        }
        for (int i = first[done]; i < first[done + sent]; i++) {
            o->bytes += (uint64_t)o->queue_length[i];
            o->octets += (uint64_t)o->queue_payload[i];
            o->packets++;
        }
        done += sent;
    }
    o->dropped += (uint64_t)(n - first[done]);
}

/* Send every queued datagram of the batch's outputs. */
void tcd_flush(tcd_batch *batch)
{
    for (int i = 0; i < batch->count; i++)
        flush_out(batch->outs[i]);
    batch->count = 0;
}

/* Forget an output's queue (its socket is about to be closed). */
void tcd_discard(tcd_out *o)
{
    o->dropped += (uint64_t)o->queued;
    o->queued = 0;
}

/* Count the datagram built in o->queue[o->queued] as queued. */
static void queue_one(tcd_out *o, tcd_batch *batch, int length, int payload)
{
    if (o->queued == 0) {
        if (batch->count == TCD_BATCH_OUTS)
            tcd_flush(batch); /* o has nothing queued: its slot is left as it is */
        batch->outs[batch->count++] = o;
    }
    o->queue_length[o->queued] = length;
    o->queue_payload[o->queued] = payload;
    o->queued++;
    if (o->queued == TCD_QUEUE)
        flush_out(o); /* still listed in the batch, with nothing left to send */
}

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

static int send_one(tcd_out *o, tcd_batch *batch, tcd_protect_fn protect,
                    const unsigned char *payload, int len, int marker, uint16_t sequence,
                    uint32_t timestamp, uint64_t ntp, uint8_t level)
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
    /* Queued: built straight in the output's next queue slot (the full-queue flush below
     * keeps one free), from the header template kept in buffer. */
    unsigned char *b = o->buffer;
    if (batch != NULL) {
        b = o->queue[o->queued];
        memcpy(b, o->buffer, (size_t)start);
    }
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
    if (batch != NULL) {
        queue_one(o, batch, length, len);
    } else {
        ssize_t sent = sendto(o->fd, b, (size_t)length, MSG_DONTWAIT,
                              (const struct sockaddr *)o->addr, (socklen_t)o->addr_len);
        if (sent < 0) {
            /* A full socket buffer drops the packet as UDP would (the subscriber NACKs);
             * anything else stops this output until Python has looked at the route again. */
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
    }
    if (o->last_sequence < 0 || (uint16_t)(seq - (uint16_t)o->last_sequence) < 0x8000) {
        o->last_sequence = seq;
        o->last_timestamp = ts;
        o->last_ntp = ntp;
        o->last_picture_id = picture_id;
    }
    return 1;
}

/* Send (batch NULL) or queue one packet to each of n outputs; `audio` counts every packet as
 * a frame (sender reports carry every audio packet's time). Returns how many went out (or
 * were queued). */
int tcd_fanout(tcd_out **outs, int n, tcd_batch *batch, tcd_protect_fn protect,
               const char *payload, int len, int marker, int audio, unsigned int sequence,
               unsigned int timestamp, unsigned long long ntp, int level)
{
    int sent = 0;
    for (int i = 0; i < n; i++) {
        tcd_out *o = outs[i];
        if (send_one(o, batch, protect, (const unsigned char *)payload, len, marker,
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

/* The sizes of the structs as compiled, which rooms/fanout.py compares with cffi's. */
int tcd_out_size(void)
{
    return (int)sizeof(tcd_out);
}

int tcd_batch_size(void)
{
    return (int)sizeof(tcd_batch);
}

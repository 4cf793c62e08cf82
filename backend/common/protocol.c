/* Encoding and decoding of clab messages over zmq multipart frames. */
#include "protocol.h"
#include "json.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#define MAX_FRAMES 8

void clab_msg_clear(clab_msg_t *msg)
{
    json_decref(msg->body);
    memset(msg, 0, sizeof *msg);
}

/* 1 when v holds a number jansson cannot hold (json.h) anywhere. */
static int has_number_text(const json_t *v)
{
    const char *k;
    json_t *x;
    size_t i;
    if (clab_json_number_text(v))
        return 1;
    json_object_foreach((json_t *)v, k, x) if (has_number_text(x)) return 1;
    json_array_foreach(v, i, x) if (has_number_text(x)) return 1;
    return 0;
}

/* NaN, Infinity and integers past 64 bits are an experiment's output, so
 * only a record carries them: a "record" (engine -> controller), or each
 * "results" item's "record" (controller -> client). Anywhere else the
 * reader would take one for a string (json.h), so it is refused there. */
static int numbers_in_place(const json_t *body)
{
    const char *k, *k2;
    json_t *v, *item, *v2;
    size_t i;
    json_object_foreach((json_t *)body, k, v)
    {
        if (strcmp(k, "record") == 0)
            continue;
        if (strcmp(k, "results") != 0 || !json_is_array(v)) {
            if (has_number_text(v))
                return 0;
            continue;
        }
        json_array_foreach(v, i, item)
        {
            if (!json_is_object(item) && has_number_text(item))
                return 0;
            json_object_foreach(item, k2, v2) if (strcmp(k2, "record") != 0 &&
                                                  has_number_text(v2)) return 0;
        }
    }
    return 1;
}

int clab_proto_decode(const void *const *frames, const size_t *lens, size_t nframes,
                      int has_peer, clab_msg_t *msg, const char **why)
{
    memset(msg, 0, sizeof *msg);
    size_t i = 0;
    if (nframes != (has_peer ? 4u : 3u)) {
        *why = "wrong number of frames";
        return -EPROTO;
    }
    if (has_peer) {
        if (lens[0] == 0 || lens[0] > CLAB_PROTO_MAX_PEER) {
            *why = "bad routing id";
            return -EPROTO;
        }
        memcpy(msg->peer, frames[0], lens[0]);
        msg->peer_len = lens[0];
        i = 1;
    }
    size_t vlen = strlen(CLAB_PROTO_VERSION);
    if (lens[i] != vlen || memcmp(frames[i], CLAB_PROTO_VERSION, vlen) != 0) {
        *why = "unknown protocol version";
        return -EPROTO;
    }
    i++;
    if (lens[i] == 0 || lens[i] > CLAB_PROTO_MAX_TYPE) {
        *why = "bad message type";
        return -EPROTO;
    }
    for (size_t k = 0; k < lens[i]; k++) {
        char c = ((const char *)frames[i])[k];
        if (!((c >= 'a' && c <= 'z') || c == '_')) {
            *why = "bad message type";
            return -EPROTO;
        }
    }
    memcpy(msg->type, frames[i], lens[i]);
    msg->type[lens[i]] = '\0';
    i++;
    msg->body = clab_json_loadb(frames[i], lens[i], CLAB_JSON_REJECT_DUPLICATES, NULL);
    if (!msg->body || !json_is_object(msg->body) || !numbers_in_place(msg->body)) {
        json_decref(msg->body);
        msg->body = NULL;
        *why = "body is not a JSON object";
        return -EPROTO;
    }
    return 0;
}

int clab_proto_recv(void *sock, int has_peer, clab_msg_t *msg)
{
    zmq_msg_t parts[MAX_FRAMES];
    const void *frames[MAX_FRAMES];
    size_t lens[MAX_FRAMES];
    size_t n = 0, total = 0;
    int more = 1, rc = 0;
    const char *why = NULL;

    /* Read every part even past MAX_FRAMES, or the next recv would start in
     * the middle of this message. A signal may interrupt any part (zmq then
     * fails with EINTR having taken nothing): try again, since giving up
     * after the first part would leave the rest to be misread as the next
     * message; the parts of a message arrive together, so it never waits. */
    while (more) {
        zmq_msg_t part;
        int got;
        zmq_msg_init(&part);
        do
            got = zmq_msg_recv(&part, sock, n == 0 && total == 0 ? ZMQ_DONTWAIT : 0);
        while (got < 0 && zmq_errno() == EINTR);
        if (got < 0) {
            int e = zmq_errno();
            zmq_msg_close(&part);
            rc = (e == EAGAIN && n == 0 && total == 0) ? -EAGAIN : -e;
            goto out;
        }
        more = zmq_msg_more(&part);
        total++;
        if (n < MAX_FRAMES)
            parts[n++] = part;
        else
            zmq_msg_close(&part);
    }
    if (total > MAX_FRAMES) {
        why = "too many frames";
        rc = -EPROTO;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        frames[i] = zmq_msg_data(&parts[i]);
        lens[i] = zmq_msg_size(&parts[i]);
    }
    rc = clab_proto_decode(frames, lens, n, has_peer, msg, &why);
    if (rc == 0 && has_peer) {
        const char *addr = zmq_msg_gets(&parts[n - 1], "Peer-Address");
        snprintf(msg->peer_addr, sizeof msg->peer_addr, "%s", addr ? addr : "");
    }
out:
    if (rc == -EPROTO)
        clab_warn("dropped a malformed message: %s", why);
    for (size_t i = 0; i < n; i++)
        zmq_msg_close(&parts[i]);
    return rc;
}

int clab_proto_send_text(void *sock, const void *peer, size_t peer_len, const char *type,
                         const char *body, size_t body_len)
{
    /* zmq accepts the remaining parts of a message once it took the first. */
    const int f = ZMQ_DONTWAIT | ZMQ_SNDMORE;
    if ((peer && zmq_send(sock, peer, peer_len, f) < 0) ||
        zmq_send(sock, CLAB_PROTO_VERSION, strlen(CLAB_PROTO_VERSION),
                 peer ? ZMQ_SNDMORE : f) < 0 ||
        zmq_send(sock, type, strlen(type), ZMQ_SNDMORE) < 0 ||
        zmq_send(sock, body, body_len, 0) < 0)
        return -zmq_errno();
    return 0;
}

int clab_proto_send(void *sock, const void *peer, size_t peer_len, const char *type,
                    const json_t *body)
{
    clab_buf_t b = {0};
    int rc = body ? clab_json_dump_buf(&b, body) : clab_buf_puts(&b, "{}");
    if (!rc)
        rc = clab_proto_send_text(sock, peer, peer_len, type, b.data, b.len);
    clab_buf_free(&b);
    return rc;
}

int clab_proto_socket_setup(void *sock, int is_router)
{
    int64_t maxmsg = CLAB_PROTO_MAX_MSG;
    int hwm = 100000, linger = 0, one = 1;
    if (zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) ||
        zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm) ||
        zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm) ||
        zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger))
        return -zmq_errno();
    if (is_router && (zmq_setsockopt(sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one) ||
                      zmq_setsockopt(sock, ZMQ_ROUTER_HANDOVER, &one, sizeof one)))
        return -zmq_errno();
    return 0;
}

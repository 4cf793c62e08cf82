/* Fuzz target: the wire decoder. The input is a message: its first byte
 * says whether it came through a ROUTER (bit 0: a routing-id frame first)
 * and whether to also push it through real sockets (bit 1); the rest is
 * frames separated by the bytes FF FF (which no valid frame holds: no type,
 * version or UTF-8 JSON text contains 0xFF).
 *  - clab_proto_decode must answer 0 or -EPROTO with a reason, and what it
 *    accepts must be well-formed and survive a round trip through our JSON
 *    writer (which checks json.c on hostile values too);
 *  - clab_proto_recv, fed the frames by a DEALER over inproc, must read
 *    the whole message (nothing left to corrupt the next one) and agree. */
#include "fuzz_common.h"
#include "json.h"
#include "log.h"
#include "protocol.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <zmq.h>

#define MAX_PARTS 12

static void *zctx, *router, *dealer;

static void setup_sockets(void)
{
    clab_log_init("fuzz_protocol", CLAB_LOG_ERROR);
    zctx = zmq_ctx_new();
    router = zmq_socket(zctx, ZMQ_ROUTER);
    dealer = zmq_socket(zctx, ZMQ_DEALER);
    FUZZ_CHECK(router && dealer);
    FUZZ_CHECK(clab_proto_socket_setup(router, 1) == 0);
    FUZZ_CHECK(clab_proto_socket_setup(dealer, 0) == 0);
    FUZZ_CHECK(zmq_setsockopt(dealer, ZMQ_ROUTING_ID, "fuzz", 4) == 0);
    FUZZ_CHECK(zmq_bind(router, "inproc://fuzz") == 0);
    FUZZ_CHECK(zmq_connect(dealer, "inproc://fuzz") == 0);
}

static void check_accepted(const clab_msg_t *m)
{
    size_t n = strlen(m->type);
    FUZZ_CHECK(n >= 1 && n <= CLAB_PROTO_MAX_TYPE);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK((m->type[i] >= 'a' && m->type[i] <= 'z') || m->type[i] == '_');
    FUZZ_CHECK(json_is_object(m->body));
    char *text = clab_json_dumps(m->body);
    FUZZ_CHECK(text);
    clab_json_error_t je = {0};
    json_t *back = clab_json_loads(text, CLAB_JSON_REJECT_DUPLICATES, &je);
    if (!back || !json_equal(back, m->body)) {
        fprintf(stderr, "round trip lost: %s (%s)\n", text, back ? "differs" : je.text);
        abort();
    }
    json_decref(back);
    free(text);
}

/* Sends the frames from the DEALER and reads them back on the ROUTER. */
static void through_sockets(const void *const *frames, const size_t *lens, size_t n)
{
    if (!zctx)
        setup_sockets();
    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(zmq_send(dealer, frames[i], lens[i], i + 1 < n ? ZMQ_SNDMORE : 0) ==
                   (int)lens[i]);
    zmq_pollitem_t it = {router, 0, ZMQ_POLLIN, 0};
    FUZZ_CHECK(zmq_poll(&it, 1, 2000) == 1);
    clab_msg_t m;
    int rc = clab_proto_recv(router, 1, &m);
    FUZZ_CHECK(rc == 0 || rc == -EPROTO);
    if (rc == 0) {
        FUZZ_CHECK(m.peer_len == 4 && memcmp(m.peer, "fuzz", 4) == 0);
        check_accepted(&m);
        clab_msg_clear(&m);
    }
    /* The whole message was consumed. */
    rc = clab_proto_recv(router, 1, &m);
    if (rc != -EAGAIN) {
        fprintf(stderr, "left over after %zu frame(s): rc %d type %s\n", n, rc,
                rc == 0 ? m.type : "-");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const void *frames[MAX_PARTS];
    size_t lens[MAX_PARTS], n = 0;
    if (size == 0)
        return 0;
    int has_peer = data[0] & 1, sockets = data[0] & 2;
    const uint8_t *p = data + 1, *end = data + size;
    while (n < MAX_PARTS) {
        const uint8_t *q = p;
        while (q + 1 < end && !(q[0] == 0xff && q[1] == 0xff))
            q++;
        if (q + 1 >= end)
            q = end;
        frames[n] = p;
        lens[n++] = (size_t)(q - p);
        if (q == end)
            break;
        p = q + 2;
    }

    clab_msg_t m;
    const char *why = NULL;
    /* The decoder is only ever given up to 8 frames (clab_proto_recv). */
    int rc = clab_proto_decode(frames, lens, n < 8 ? n : 8, has_peer, &m, &why);
    FUZZ_CHECK(rc == 0 || rc == -EPROTO);
    if (rc == 0) {
        FUZZ_CHECK(m.peer_len == (has_peer ? lens[0] : 0));
        check_accepted(&m);
        clab_msg_clear(&m);
    } else {
        FUZZ_CHECK(why && *why && m.body == NULL);
    }
    /* Through a socket the ROUTER makes the routing-id frame itself. */
    if (sockets)
        through_sockets(frames + has_peer, lens + has_peer, n - (size_t)has_peer);
    return 0;
}

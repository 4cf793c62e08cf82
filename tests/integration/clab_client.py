"""A client of the controller, as any holder of cluster.json could write
it with pyzmq: for tests that play a client late with its cancel or slow
with its acknowledgements (test_edge_cancel_upto, test_edge_results_credit).
Import it with tests/integration on PYTHONPATH."""
import json
import time

import zmq

PROTO = b"clab/1"


def connect(path, ident):
    """A DEALER on the client endpoint of the connection file at path,
    with its client key pair, under the routing id ident."""
    conn = json.load(open(path))
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.setsockopt(zmq.IDENTITY, ident.encode())
    s.setsockopt(zmq.LINGER, 0)
    s.curve_secretkey = conn["client_secret"].encode()
    s.curve_publickey = conn["client_public"].encode()
    s.curve_serverkey = conn["server_public"].encode()
    s.connect(conn["client_endpoint"])
    return s


def send(s, kind, body):
    s.send_multipart([PROTO, kind.encode(), json.dumps(body).encode()])


def recv(s, seconds, want, first=False):
    """The bodies of the messages of type want that came within seconds
    (with first, returns at the first one)."""
    got, end = [], time.time() + seconds
    while time.time() < end and not (first and got):
        if s.poll(100):
            parts = s.recv_multipart()
            if len(parts) == 3 and parts[1].decode() == want:
                got.append(json.loads(parts[2]))
    return got


def ask(s, kind, body, want, seconds=20):
    """Sends kind and returns the body of the first want that answers it."""
    send(s, kind, body)
    got = recv(s, seconds, want, first=True)
    if not got:
        raise SystemExit("no %s to %s in %d s" % (want, kind, seconds))
    return got[0]

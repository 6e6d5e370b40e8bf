"""Clients that fill the connection limit and go away must not stop f8d from accepting.

libmicrohttpd takes its listening socket out of its epoll set while it is at the connection
limit and puts it back only at the start of its next run; connections that close inside a run
left f8d's loop asleep with nothing to wake it (issue 16, defect 1)."""

import json
import socket
import time

import pytest

from f8d_process import serving

PARTIAL_HEAD = b"POST /predictions/fashion HTTP/1.1\r\n"


@pytest.fixture
def limited():
    with serving("--max-connections", 16, "--threads", 2) as proc:
        yield proc


def open_partial(port, n):
    """n connections that each sent the first line of a request (some may still sit in the
    listen queue: the server is at its limit)."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(PARTIAL_HEAD)
        socks.append(s)
    return socks


def served(daemon, deadline_s=5.0):
    """Whether a new connection gets an answer to GET /v2/health/live in time."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            c = daemon.connection(timeout=max(0.2, end - time.monotonic()))
            c.request("GET", "/v2/health/live")
            r = c.getresponse()
            ok = r.status == 200 and json.loads(r.read()) == {"live": True}
            c.close()
            return ok
        except OSError:
            time.sleep(0.05)
    return False


def test_accepting_after_clients_at_the_limit_close(limited):
    for _ in range(3):
        socks = open_partial(limited.port, 64)
        time.sleep(0.3)  # the server has taken the first 16
        for s in socks:
            s.close()
        assert served(limited), "no answer after 64 partial requests closed:\n" + limited.stderr[-3000:]


def test_accepting_after_silent_then_partial_clients_close(limited):
    silent = [socket.create_connection(("127.0.0.1", limited.port), timeout=5) for _ in range(40)]
    partial = open_partial(limited.port, 40)
    time.sleep(0.3)
    for s in silent + partial:
        s.close()
    assert served(limited), limited.stderr[-3000:]
    # and it keeps serving normal traffic
    for _ in range(20):
        status, _, body = limited.request("GET", "/v2/health/live")
        assert status == 200 and body == {"live": True}

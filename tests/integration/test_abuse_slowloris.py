"""Slow clients (slowloris): a request head or body that trickles in, never idle long enough
for the idle timeout, is cut at its deadline (header_timeout; body_timeout extended by
body_min_rate), while clients that are merely idle or slow within the limits are served.

Every test is bounded: at most a few seconds of trickling, one connection at a time."""

import socket
import time

import pytest

import fmnist
from f8d_process import serving


HEAD_S = 1
BODY_S = 1
MIN_RATE = 1000


@pytest.fixture(scope="module")
def slow_daemon(model_file):
    with serving("--header-timeout", HEAD_S, "--body-timeout", BODY_S, "--body-min-rate",
                 MIN_RATE, "--timeout", 30, "--threads", 1) as proc:
        yield proc


def logged(daemon, words, within=2.0):
    """Whether a stderr line holds `words` within `within` seconds (the log is read on a
    thread: the line may come just after the socket closed)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if words in daemon.stderr:
            return True
        time.sleep(0.05)
    return words in daemon.stderr


def trickle(port, first, piece, every=0.2, limit=4.0):
    """Sends `first`, then `piece` every `every` seconds, until the server closes the
    connection or `limit` seconds pass. Returns (seconds until the close or None, bytes the
    server sent)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    start = time.monotonic()
    got = b""
    try:
        s.sendall(first)
        while time.monotonic() - start < limit:
            s.settimeout(every)
            try:
                chunk = s.recv(65536)
                if not chunk:
                    return time.monotonic() - start, got
                got += chunk
            except socket.timeout:
                pass
            except ConnectionResetError:
                return time.monotonic() - start, got
            try:
                s.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - start, got
        return None, got
    finally:
        s.close()


def test_trickled_head_is_cut_at_header_timeout(slow_daemon):
    took, got = trickle(slow_daemon.port, b"POST /predictions/fashion HTTP/1.1\r\n", b"X")
    assert took is not None, "a head trickled for 4 s was never cut"
    assert HEAD_S * 0.8 <= took <= HEAD_S + 1.5, took
    assert got == b""
    assert logged(slow_daemon, "(header_timeout)")


def test_trickled_header_lines_are_cut(slow_daemon):
    """Each byte resets MHD's idle timer; only the head deadline stops this."""
    took, _ = trickle(slow_daemon.port, b"GET /v2/health/live HTTP/1.1\r\nHost: t\r\n",
                      b"X-A: b\r\n")
    assert took is not None and took <= HEAD_S + 1.5, took


def test_body_slower_than_min_rate_is_cut(slow_daemon):
    head = (b"POST /predictions/fashion HTTP/1.1\r\nHost: t\r\nContent-Type: image/jpeg\r\n"
            b"Content-Length: 100000\r\n\r\n")
    took, got = trickle(slow_daemon.port, head, b"\xff" * 20)  # 100 bytes/s < 1000
    assert took is not None, "a body trickled for 4 s was never cut"
    assert BODY_S * 0.8 <= took <= BODY_S + 1.5, took
    assert logged(slow_daemon, "(body_timeout, body_min_rate)")


def test_partial_head_then_close_frees_the_slot(slow_daemon):
    """The FIN comes in the same segment as a partial head: MHD 0.9.75 never reads it (see
    test_abuse_abandoned); f8d's handler never sees the request, the deadline sweep does."""
    s = socket.create_connection(("127.0.0.1", slow_daemon.port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    s.sendall(b"POST /predictions/fashion HTTP/1.1\r\nHost: t\r\n")
    s.shutdown(socket.SHUT_WR)
    start = time.monotonic()
    s.settimeout(3)
    try:
        assert s.recv(4096) == b""
    except ConnectionResetError:
        pass
    finally:
        s.close()
    assert time.monotonic() - start < HEAD_S * 0.8  # before the head deadline: by the peek


def test_body_at_the_min_rate_is_served(slow_daemon, fashion_test_set):
    """Two halves 0.6 s apart: the deadline grows by a second per MIN_RATE bytes."""
    jpeg = fmnist.to_jpeg(fashion_test_set[0][0])
    head = (b"POST /predictions/fashion HTTP/1.1\r\nHost: t\r\nContent-Type: image/jpeg\r\n"
            b"Content-Length: %d\r\n\r\n" % len(jpeg))
    s = socket.create_connection(("127.0.0.1", slow_daemon.port), timeout=5)
    try:
        s.sendall(head + jpeg[:len(jpeg) // 2])
        time.sleep(0.6)
        s.sendall(jpeg[len(jpeg) // 2:])
        data = s.recv(65536)
    finally:
        s.close()
    assert data.startswith(b"HTTP/1.1 200 "), data


def test_idle_keepalive_connection_outlives_the_head_deadline(slow_daemon, fashion_test_set):
    """Idle is MHD's `timeout` (30 s here); the next head's deadline counts from then."""
    conn = slow_daemon.connection(timeout=5)
    try:
        status, _, _ = slow_daemon.request("GET", "/v2/health/live", conn=conn)
        assert status == 200
        time.sleep(HEAD_S + 0.8)
        status, _, answer = slow_daemon.request(
            "POST", "/predictions/fashion", body=fmnist.to_jpeg(fashion_test_set[0][1]),
            conn=conn)
        assert status == 200, answer
    finally:
        conn.close()


def test_new_client_served_once_slow_ones_at_the_limit_are_cut(model_file):
    """At max_connections libmicrohttpd stops accepting: a new client waits in the kernel's
    listen queue (no 503 is possible without accepting it). Slow clients holding every slot are
    cut at header_timeout, so the new client is answered within about that long, not never."""
    with serving("--max-connections", 4, "--header-timeout", HEAD_S, "--threads", 1) as d:
        holders = []
        for _ in range(4):
            s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
            s.sendall(b"POST /predictions/fashion HTTP/1.1\r\nHost: t\r\n")  # never finished
            holders.append(s)
        time.sleep(0.2)
        t0 = time.monotonic()
        status, _, body = d.request("GET", "/v2/health/live")
        waited = time.monotonic() - t0
        assert status == 200 and body == {"live": True}
        assert waited < HEAD_S + 2.5, waited  # the sweep runs 5 times per deadline
        for s in holders:
            s.close()

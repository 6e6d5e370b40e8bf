"""Abandoned uploads: a client that sends the headers and part of the body, then closes its
side, must not hold a connection slot until the idle timeout.

The FIN is corked together with the last data (TCP_CORK), so it arrives in the same segment:
that is the case libmicrohttpd 0.9.75's epoll loop misses (a short recv() clears its
read-ready flag, and no new edge comes for a FIN that was already queued)."""

import socket

import pytest

from f8d_process import serving

SLOTS = 4
HEAD = (b"POST /predictions/fashion HTTP/1.1\r\nHost: t\r\nContent-Type: image/jpeg\r\n"
        b"Content-Length: %d\r\n\r\n")


@pytest.fixture
def small_daemon(model_file):
    # The idle timeout is the default 30 s: a slot held until then fails every test here.
    with serving("--max-connections", SLOTS, "--threads", 1) as proc:
        yield proc


def abandon(port, data):
    """Sends `data` and the FIN in one segment, keeping the socket to see the server's answer.
    Returns the socket (half-closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)  # sends the corked data with the FIN
    return s


def closed_by_server_within(s, seconds):
    """True when the server closes the connection (recv gives EOF or a reset) within
    `seconds`, without answering anything."""
    s.settimeout(seconds)
    try:
        data = s.recv(4096)
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
    finally:
        s.close()
    assert data == b"", data
    return True


def live(daemon, timeout=3.0):
    conn = daemon.connection(timeout=timeout)
    try:
        conn.request("GET", "/v2/health/live")
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_half_body_then_close_frees_the_slot_at_once(small_daemon):
    port = small_daemon.port
    for _ in range(2 * SLOTS):
        s = abandon(port, HEAD % 10000 + b"\xff" * 5000)
        assert closed_by_server_within(s, 1.0), "f8d kept an abandoned upload open"
    status, body = live(small_daemon)
    assert status == 200 and b"true" in body


def test_big_half_body_then_close_frees_the_slot_at_once(small_daemon):
    """Half of a 1 MB body: more than MHD reads in one go, so several body chunks arrive."""
    port = small_daemon.port
    for _ in range(2 * SLOTS):
        s = abandon(port, HEAD % 1000000 + b"\xff" * 500000)
        assert closed_by_server_within(s, 1.0), "f8d kept an abandoned upload open"
    status, _ = live(small_daemon)
    assert status == 200


def test_headers_only_then_close_frees_the_slot(small_daemon):
    """No body byte at all."""
    port = small_daemon.port
    for _ in range(SLOTS + 1):
        s = abandon(port, HEAD % 10000)
        assert closed_by_server_within(s, 2.5), "f8d kept an abandoned upload open"
    status, _ = live(small_daemon)
    assert status == 200


def test_whole_body_then_half_close_is_still_answered(small_daemon):
    """A client may half-close after a complete request (HTTP/1.0 style): an answer f8d gives
    at once still reaches it. (One that must wait for the engine is cancelled, as nginx and
    Go's server do: test_abuse_cancel.py.)"""
    s = abandon(small_daemon.port, HEAD % 10 + b"\x89PNG\r\n\x1a\n\0\0")
    s.settimeout(5)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    assert data.startswith(b"HTTP/1.1 415 "), data  # a PNG, refused before any decoding
    assert b'"error"' in data

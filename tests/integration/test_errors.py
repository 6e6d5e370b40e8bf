"""Client mistakes get a JSON error with the right 4xx status, and the daemon keeps
serving (on the same connection where HTTP allows it)."""

import json
import socket

import pytest

import fmnist
from conftest import MAX_BODY


def assert_error(status, hdrs, body, want):
    assert status == want, body
    assert hdrs["content-type"] == "application/json"
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]


def good_request(daemon, images, conn=None):
    status, _, answer = daemon.request("POST", "/predictions/fashion",
                                       body=fmnist.to_jpeg(images[5]), conn=conn)
    assert status == 200, answer
    assert len(answer["predictions"]) == 5


def test_garbage_body_then_good_request(daemon, fashion_test_set):
    images, _ = fashion_test_set
    conn = daemon.connection()
    status, hdrs, body = daemon.request("POST", "/predictions/fashion",
                                        body=b"this is certainly not a jpeg" * 10,
                                        headers={"Content-Type": "image/jpeg"}, conn=conn)
    assert_error(status, hdrs, body, 400)
    assert "JPEG" in body["error"]
    good_request(daemon, images, conn=conn)  # same keep-alive connection
    good_request(daemon, images)             # and a new one
    conn.close()


def test_truncated_jpeg(daemon, fashion_test_set):
    images, _ = fashion_test_set
    jpeg = fmnist.to_jpeg(images[6])
    status, hdrs, body = daemon.request("POST", "/predictions/fashion", body=jpeg[:len(jpeg) // 2])
    assert_error(status, hdrs, body, 400)
    good_request(daemon, images)


def test_empty_body(daemon, fashion_test_set):
    status, hdrs, body = daemon.request("POST", "/predictions/fashion", body=b"")
    assert_error(status, hdrs, body, 400)
    assert "empty" in body["error"]
    good_request(daemon, fashion_test_set[0])


@pytest.mark.parametrize("encode", [fmnist.to_png, fmnist.to_gif])
def test_png_gif_body(daemon, fashion_test_set, encode):
    images, _ = fashion_test_set
    for headers in ({}, {"Content-Type": "application/octet-stream"},
                    {"Content-Type": "image/jpeg"}):
        status, hdrs, body = daemon.request("POST", "/predictions/fashion",
                                            body=encode(images[7]), headers=headers)
        assert_error(status, hdrs, body, 415)
        assert "JPEG" in body["error"]
    good_request(daemon, images)


@pytest.mark.parametrize("content_type", ["image/png", "image/gif", "image/webp"])
def test_unsupported_image_content_type(daemon, fashion_test_set, content_type):
    images, _ = fashion_test_set
    conn = daemon.connection()
    status, hdrs, body = daemon.request("POST", "/predictions/fashion",
                                        body=fmnist.to_jpeg(images[8]),
                                        headers={"Content-Type": content_type}, conn=conn)
    assert_error(status, hdrs, body, 415)
    assert content_type in body["error"]
    good_request(daemon, images, conn=conn)  # the body was drained: the connection lives on
    conn.close()


def test_unknown_model(daemon, fashion_test_set):
    images, _ = fashion_test_set
    status, hdrs, body = daemon.request("POST", "/predictions/nosuchmodel",
                                        body=fmnist.to_jpeg(images[0]))
    assert_error(status, hdrs, body, 404)
    assert "nosuchmodel" in body["error"]


@pytest.mark.parametrize("path", ["/index.html", "/predictions", "/predictions/", "/predict/fashion",
                                  "/predictions/fashion/extra", "/v2/health", "/metric",
                                  "/v2/models/fashion/infer/x", "/v2/repository"])
def test_unknown_path(daemon, path):
    status, hdrs, body = daemon.request("GET", path)
    assert_error(status, hdrs, body, 404)


@pytest.mark.parametrize("method", ["GET", "DELETE", "PATCH"])
def test_wrong_method_on_predictions(daemon, method):
    status, hdrs, body = daemon.request(method, "/predictions/fashion")
    assert_error(status, hdrs, body, 405)
    assert "POST" in hdrs["allow"]


def read_response(sock):
    """Reads one HTTP response (headers + Content-Length body) from a raw socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    length = int(hdrs.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, hdrs, rest[:length]


def test_body_too_large_by_content_length(daemon, fashion_test_set):
    """Refused from the headers alone: 413 arrives before any of the body is sent."""
    s = socket.create_connection(("127.0.0.1", daemon.port), timeout=10)
    s.sendall(b"POST /predictions/fashion HTTP/1.1\r\nHost: t\r\nContent-Type: image/jpeg\r\n"
              b"Content-Length: %d\r\n\r\n" % (MAX_BODY + 1))
    status, hdrs, body = read_response(s)
    s.close()
    assert status == 413
    assert hdrs["content-type"] == "application/json"
    assert str(MAX_BODY) in json.loads(body)["error"]
    good_request(daemon, fashion_test_set[0])


def test_body_too_large_with_expect_continue(daemon):
    """curl sends Expect: 100-continue for big uploads: the 413 comes instead of 100."""
    s = socket.create_connection(("127.0.0.1", daemon.port), timeout=10)
    s.sendall(b"PUT /predictions/fashion HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
              b"Content-Length: 50000000\r\n\r\n")
    status, _, body = read_response(s)
    s.close()
    assert status == 413
    assert "error" in json.loads(body)


def test_body_too_large_chunked(daemon, fashion_test_set):
    """No Content-Length: refused once the bytes received pass the limit."""
    conn = daemon.connection()
    chunks = [b"\xff" * 65536] * (MAX_BODY // 65536 + 2)
    conn.request("POST", "/predictions/fashion", body=iter(chunks), encode_chunked=True)
    resp = conn.getresponse()
    body = json.loads(resp.read())
    conn.close()
    assert resp.status == 413
    assert str(MAX_BODY) in body["error"]
    good_request(daemon, fashion_test_set[0])


def test_body_at_the_limit_is_read(daemon):
    """Exactly max-body-bytes is accepted (and is then not a JPEG: 400, not 413)."""
    status, hdrs, body = daemon.request("POST", "/predictions/fashion", body=b"\0" * MAX_BODY)
    assert_error(status, hdrs, body, 400)


def test_malformed_http_keeps_daemon_alive(daemon, fashion_test_set):
    s = socket.create_connection(("127.0.0.1", daemon.port), timeout=10)
    s.sendall(b"THIS IS NOT HTTP\r\n\r\n")
    try:
        s.recv(4096)
    except OSError:
        pass
    s.close()
    s = socket.create_connection(("127.0.0.1", daemon.port), timeout=10)
    s.close()  # connect and hang up at once
    good_request(daemon, fashion_test_set[0])


def test_get_keeps_the_connection_open(daemon):
    """GET answers (and errors found before a body) keep a keep-alive connection open: three
    requests, one connection."""
    conn = daemon.connection()
    try:
        for method, path, want in (("GET", "/v2/health/live", 200), ("GET", "/nowhere", 404),
                                   ("OPTIONS", "/v2/models/fashion/infer", 204),
                                   ("GET", "/metrics", 200)):
            status, hdrs, _ = daemon.request(method, path, conn=conn)
            assert status == want, (method, path)
            assert hdrs.get("connection", "").lower() != "close", (method, path)
        sock = conn.sock
        status, _, _ = daemon.request("GET", "/", conn=conn)
        assert status == 200 and conn.sock is sock  # still the first connection
    finally:
        conn.close()

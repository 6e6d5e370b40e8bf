"""Request smuggling (RFC 9112 §6.3) and malformed heads: a request whose body length could
be read two ways is refused with a JSON error and the connection is closed after it, so no
second request can hide in the first one's body."""

import json

import pytest

import fmnist
from f8d_process import raw_exchange, raw_responses, serving

HEAD = b"POST /predictions/fashion HTTP/1.1\r\nHost: t\r\nContent-Type: image/jpeg\r\n"
# What a smuggler hides after the body the server is meant to see.
SMUGGLED = b"GET /v2/health/live HTTP/1.1\r\nHost: t\r\n\r\n"


@pytest.fixture(scope="module")
def daemon(model_file):
    """An f8d of this module's own: 501 is a 5xx, which the session daemon's teardown counts
    as a server error."""
    with serving("--threads", 1) as proc:
        yield proc


def assert_refused_and_closed(daemon, raw, status, words):
    data, closed = raw_exchange(daemon.port, raw)
    answers = raw_responses(data)
    assert closed, "the connection was kept open: %r" % data
    assert len(answers) == 1, data  # nothing smuggled was answered
    got, hdrs, body = answers[0]
    assert got == status, data
    assert hdrs["content-type"] == "application/json"
    assert hdrs.get("connection", "").lower() == "close"
    error = json.loads(body)["error"]
    for w in words:
        assert w in error, error


def test_two_different_content_lengths(daemon):
    raw = HEAD + b"Content-Length: 5\r\nContent-Length: 47\r\n\r\n" + b"abcde" + SMUGGLED
    assert_refused_and_closed(daemon, raw, 400, ["Content-Length", "'5'", "'47'"])


def test_chunked_and_content_length(daemon):
    body = b"5\r\nabcde\r\n0\r\n\r\n"
    raw = (HEAD + b"Transfer-Encoding: chunked\r\nContent-Length: %d\r\n\r\n" % len(body)
           + body + SMUGGLED)
    assert_refused_and_closed(daemon, raw, 400, ["Transfer-Encoding", "Content-Length"])


def test_content_length_and_chunked_other_order(daemon):
    raw = HEAD + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED
    assert_refused_and_closed(daemon, raw, 400, ["Transfer-Encoding", "Content-Length"])


@pytest.mark.parametrize("coding", [b"gzip, chunked", b"xchunked", b"chunked, chunked",
                                    b"identity", b"chunked;ext=1"])
def test_unknown_transfer_coding_is_501_at_once(daemon, coding):
    """Answered from the headers alone, not after a wait for a body f8d cannot delimit."""
    raw = HEAD + b"Transfer-Encoding: " + coding + b"\r\n\r\n"
    assert_refused_and_closed(daemon, raw, 501, ["transfer coding"])


def test_two_transfer_encoding_lines(daemon):
    raw = HEAD + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n"
    assert_refused_and_closed(daemon, raw, 501, ["gzip"])


def test_http11_without_host(daemon):
    raw = b"GET /v2/health/live HTTP/1.1\r\n\r\n"
    assert_refused_and_closed(daemon, raw, 400, ["Host"])


def test_two_host_headers(daemon):
    raw = b"GET /v2/health/live HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"
    assert_refused_and_closed(daemon, raw, 400, ["Host"])


def test_http10_without_host_is_served(daemon):
    data, _ = raw_exchange(daemon.port, b"GET /v2/health/live HTTP/1.0\r\n\r\n")
    assert raw_responses(data)[0][0] == 200


def test_same_content_length_twice_is_accepted(daemon, fashion_test_set):
    """RFC 9110 §8.6 lets a recipient take identical duplicates as one."""
    jpeg = fmnist.to_jpeg(fashion_test_set[0][0])
    raw = HEAD + b"Content-Length: %d\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (
        len(jpeg), len(jpeg)) + jpeg
    data, closed = raw_exchange(daemon.port, raw)
    status, _, body = raw_responses(data)[0]
    assert status == 200, body
    assert len(json.loads(body)["predictions"]) == 5


def test_plain_chunked_upload_still_works(daemon, fashion_test_set):
    jpeg = fmnist.to_jpeg(fashion_test_set[0][1])
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(jpeg), jpeg)
    raw = HEAD + b"Transfer-Encoding: Chunked\r\nConnection: close\r\n\r\n" + body
    data, _ = raw_exchange(daemon.port, raw)
    status, _, answer = raw_responses(data)[0]
    assert status == 200, answer

"""Paths that hide control characters, and a Content-Length too big for 64 bits."""

import json

import pytest

import fmnist
from f8d_process import raw_exchange, raw_responses


def first_response(data):
    return raw_responses(data)[0]


def predict_raw(path, jpeg):
    return (b"POST " + path + b" HTTP/1.1\r\nHost: t\r\nContent-Type: image/jpeg\r\n"
            b"Content-Length: %d\r\n\r\n" % len(jpeg) + jpeg)


# f8d decodes paths itself (MHD_OPTION_UNESCAPE_CALLBACK f8d_http_unescape): libmicrohttpd's
# own unescaper writes a %00 as a NUL into the C string, which then simply ends there.


@pytest.mark.parametrize("path", [
    b"/predictions/fashion%00.f8",
    b"/predictions/fashion%00",
    b"/predictions/fash%0Aion",
    b"/predictions/fashion%0d%0aX-Injected:%20yes",
    b"/predictions/fashion%7F",
    b"/predictions/fashion%1b",
])
def test_control_character_in_path_is_400(daemon, fashion_test_set, path):
    jpeg = fmnist.to_jpeg(fashion_test_set[0][0])
    data, closed = raw_exchange(daemon.port, predict_raw(path, jpeg))
    status, hdrs, body = first_response(data)
    assert status == 400, data
    assert hdrs["content-type"] == "application/json"
    assert "control character" in json.loads(body)["error"]
    assert closed


def test_plain_path_is_still_served(daemon, fashion_test_set):
    jpeg = fmnist.to_jpeg(fashion_test_set[0][0])
    raw = predict_raw(b"/predictions/fashio%6e", jpeg).replace(b"Host: t\r\n",
                                                               b"Host: t\r\nConnection: close\r\n")
    data, _ = raw_exchange(daemon.port, raw)
    status, _, body = first_response(data)
    assert status == 200, data
    assert len(json.loads(body)["predictions"]) == 5


def test_content_length_over_64_bits_closes_cleanly(daemon, fashion_test_set):
    """libmicrohttpd 0.9.75 refuses a Content-Length over 2^64-1 itself, while parsing the
    headers, before f8d's access handler is called, so f8d cannot answer with its JSON 413.
    (MHD 0.9.75 also writes its 413 status line and headers twice.) What f8d can promise: a
    413, the connection closed at once, and the daemon serving on."""
    raw = (b"POST /predictions/fashion HTTP/1.1\r\nHost: t\r\n"
           b"Content-Length: 99999999999999999999999\r\n\r\n" + b"\xff" * 100)
    data, closed = raw_exchange(daemon.port, raw, timeout=2.0)
    assert data.startswith(b"HTTP/1.1 413 "), data
    assert b"Connection: close" in data.split(b"\r\n\r\n")[0]
    assert closed, "the connection was kept open"
    jpeg = fmnist.to_jpeg(fashion_test_set[0][1])
    status, _, answer = daemon.request("POST", "/predictions/fashion", body=jpeg)
    assert status == 200, answer

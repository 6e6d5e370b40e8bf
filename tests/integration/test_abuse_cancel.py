"""A client that hangs up while its images wait for the engine has them dropped: not decoded,
not run, counted in f8d_images_dropped_total{reason="cancelled"}, its memory freed at once.

The daemon holds a lone image for 3 s (max_queue_delay_us) waiting for company, so a client
that sends one and closes is certain to close while it is queued."""

import base64
import json
import re
import socket
import time

import pytest

from f8d_process import serving
import fmnist


@pytest.fixture
def slow_batches(model_file):
    with serving("--threads", 1, "--max-queue-delay-us", 3000000,
                 "--max-batch-size", 16) as proc:
        yield proc


@pytest.fixture(scope="module")
def jpeg():
    images, _ = fmnist.load_test_set()
    return fmnist.to_jpeg(images[0], quality=90)


def metric(daemon, name, **labels):
    status, _, text = daemon.request("GET", "/metrics")
    assert status == 200
    want = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    for line in text.decode().splitlines():
        m = re.match(r"(\w+)\{([^}]*)\} (\S+)$", line)
        if m and m.group(1) == name and ",".join(sorted(m.group(2).split(","))) == want:
            return float(m.group(3))
    return 0.0


def send_and_close(port, request):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(request)
    time.sleep(0.3)  # parsed and queued
    s.close()


def wait_for(predicate, seconds=2.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_queued_prediction_dropped_when_client_hangs_up(slow_batches, jpeg):
    d = slow_batches
    head = (b"POST /predictions/fashion HTTP/1.1\r\nHost: t\r\nContent-Type: image/jpeg\r\n"
            b"Content-Length: %d\r\n\r\n" % len(jpeg))
    send_and_close(d.port, head + jpeg)
    # dropped long before the 3 s delay would have let it run; logged as 499 (cancelled), or
    # with no status when MHD found the socket shut before f8d could answer
    assert wait_for(lambda: metric(d, "f8d_images_dropped_total", model="fashion",
                                   reason="cancelled") == 1.0, 1.5), d.stderr[-2000:]
    assert metric(d, "f8d_inference_images_total", model="fashion") == 0.0
    assert wait_for(lambda: re.search(r"POST /predictions/fashion (499|-) ", d.stderr)), \
        d.stderr[-2000:]
    # the server is not held up by it
    status, _, body = d.request("GET", "/v2/health/ready")
    assert status == 200 and body == {"ready": True}


def test_queued_infer_images_dropped_when_client_hangs_up(slow_batches, jpeg):
    d = slow_batches
    body = json.dumps({"inputs": [{"name": "image_bytes", "datatype": "BYTES", "shape": [3],
                                   "data": [base64.b64encode(jpeg).decode()] * 3}]}).encode()
    head = (b"POST /v2/models/fashion/infer HTTP/1.1\r\nHost: t\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
    send_and_close(d.port, head + body)
    assert wait_for(lambda: metric(d, "f8d_images_dropped_total", model="fashion",
                                   reason="cancelled") == 3.0, 1.5), d.stderr[-2000:]
    assert metric(d, "f8d_inference_images_total", model="fashion") == 0.0


def test_client_that_stays_gets_its_answer_after_the_delay(slow_batches, jpeg):
    """The control: the same request from a client that waits is answered (after ~3 s)."""
    d = slow_batches
    t0 = time.monotonic()
    status, _, answer = d.request("POST", "/predictions/fashion", body=jpeg,
                                  headers={"Content-Type": "image/jpeg"})
    assert status == 200, answer
    assert time.monotonic() - t0 >= 2.5
    assert metric(d, "f8d_images_dropped_total", model="fashion", reason="cancelled") == 0.0
    assert metric(d, "f8d_inference_images_total", model="fashion") == 1.0

"""Large JPEGs (256 KiB and more) are decoded before they queue, on the background pool at the
lowest priority, not by an inference worker: the answers are the same as for a small JPEG of
the same picture, a corrupt large one is a clear 400, and a client that hangs up has them
dropped."""

import base64
import io
import json
import socket
import time

import numpy as np
import pytest
from PIL import Image

from f8d_process import serving
from test_abuse_cancel import metric, wait_for
import fmnist


def big_jpeg(pixels, side=2400):
    """The 28x28 image scaled up to side x side, with noise so that it stays large."""
    img = Image.fromarray(pixels.astype(np.uint8)).resize((side, side), Image.NEAREST)
    arr = np.asarray(img).astype(np.int16)
    arr = np.clip(arr + np.random.default_rng(0).integers(-3, 4, arr.shape), 0, 255)
    out = io.BytesIO()
    Image.fromarray(arr.astype(np.uint8)).save(out, "JPEG", quality=95)
    return out.getvalue()


@pytest.fixture(scope="module")
def daemon(model_file):
    """Its own f8d: the session's takes bodies of 256 KiB at most."""
    with serving("--threads", 2) as d:
        yield d


def test_large_jpeg_answers_like_a_small_one(daemon, fashion_test_set):
    images, labels = fashion_test_set
    big = big_jpeg(images[0])
    assert len(big) >= 256 * 1024
    status, _, answer = daemon.request("POST", "/predictions/fashion?top_k=1", body=big)
    assert status == 200, answer
    assert answer["predictions"][0]["index"] == labels[0]
    assert metric(daemon, "f8d_inference_images_total", model="fashion") == 1.0
    # in a KServe request beside a small one (raw items queue at once, the JPEG after)
    small = fmnist.to_jpeg(images[1])
    body = {"inputs": [{"name": "image_bytes", "datatype": "BYTES", "shape": [2],
                        "data": [base64.b64encode(big).decode(),
                                 base64.b64encode(small).decode()]}],
            "parameters": {"classification": 1}}
    status, _, answer = daemon.request("POST", "/v2/models/fashion/infer", body=json.dumps(body))
    assert status == 200, answer
    top = [int(s.split(":")[1]) for s in answer["outputs"][0]["data"]]
    assert top == [labels[0], labels[1]]


def test_corrupt_large_jpeg_is_a_clear_error(daemon):
    junk = b"\xff\xd8\xff\xe0" + bytes(300 * 1024)
    status, _, answer = daemon.request("POST", "/predictions/fashion", body=junk)
    assert status == 400 and "jpeg" in answer["error"].lower(), answer


def test_hang_up_while_decoding(model_file, fashion_test_set):
    images, _ = fashion_test_set
    big = big_jpeg(images[0], side=4000)
    with serving("--threads", 1, "--max-queue-delay-us", 3000000, "--max-batch-size", 16) as d:
        head = (b"POST /predictions/fashion HTTP/1.1\r\nHost: t\r\nContent-Type: image/jpeg\r\n"
                b"Content-Length: %d\r\n\r\n" % len(big))
        s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
        s.sendall(head + big)
        time.sleep(0.05)
        s.close()
        assert wait_for(lambda: metric(d, "f8d_images_dropped_total", model="fashion",
                                       reason="cancelled") == 1.0, 10.0), d.stderr[-2000:]
        assert metric(d, "f8d_inference_images_total", model="fashion") == 0.0

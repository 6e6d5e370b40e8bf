"""JSON amplification: a KServe v2 body costs f8d a small multiple of its size.

A 16 MB UINT8 `data` array is 10+ million numbers; a JSON library that builds one value per
number turns it into hundreds of MB. f8d decodes the array straight into the pixel buffer and
refuses arrays longer than the shape before building anything.

The RSS figures are taken from the release build (build/f8d, the sibling of $F8_BIN): the
ASan build's allocator keeps freed memory in quarantine and adds redzones, so its RSS says
nothing about f8d's own. The other tests here use $F8D_BIN as usual."""

import json
import os
import shutil
import threading
import time

import numpy as np
import pytest

import fmnist
from f8d_process import Daemon, REPO, models_dir, serving

INFER = "/v2/models/fashion/infer"
BODY_BYTES = 16 * 1024 * 1024
MiB = 1024 * 1024
RELEASE_F8D = os.path.join(os.path.dirname(os.environ.get(
    "F8_BIN", os.path.join(REPO, "build", "f8"))), "f8d")


def status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def uint8_body(images):
    """A compact JSON UINT8 request of `images` ([N,28,28] u8), flat data."""
    return json.dumps({"inputs": [{"name": "image", "datatype": "UINT8",
                                   "shape": [len(images), 28, 28, 1],
                                   "data": images.reshape(-1).tolist()}],
                       "outputs": [{"name": "logits"}]}, separators=(",", ":")).encode()


def binary_body(images):
    """The same pixels with the binary tensor extension (no JSON numbers)."""
    header = json.dumps({"inputs": [{"name": "image", "datatype": "UINT8",
                                     "shape": [len(images), 28, 28, 1],
                                     "parameters": {"binary_data_size": images.size}}],
                         "outputs": [{"name": "logits"}]}).encode()
    return header, header + images.tobytes()


@pytest.fixture(scope="module")
def big_images():
    """Test-set images, repeated, so that their JSON UINT8 body is about 16 MB."""
    images, _ = fmnist.load_test_set()
    per_image = len(uint8_body(images[:200])) / 200.0
    n = int(BODY_BYTES / per_image)
    reps = (n + len(images) - 1) // len(images)
    return np.concatenate([images] * reps)[:n]


@pytest.fixture(scope="module")
def release_daemon():
    if not os.path.exists(RELEASE_F8D):
        pytest.fail("missing release build %s (make all)" % RELEASE_F8D)
    with serving("--max-body-bytes", 32 * MiB, "--max-queue", 40000, "--threads", 2,
                 binary=RELEASE_F8D) as proc:
        yield proc


def post(daemon, body, headers=None, timeout=120.0):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    c = daemon.connection(timeout=timeout)
    try:
        c.request("POST", INFER, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
    finally:
        c.close()
    return r.status, json.loads(data)


def settle_rss(pid, seconds=3.0):
    """VmRSS (KiB) once the request's memory has had a moment to go back."""
    deadline = time.monotonic() + seconds
    rss = status_kib(pid, "VmRSS")
    while time.monotonic() < deadline:
        time.sleep(0.2)
        rss = status_kib(pid, "VmRSS")
    return rss


def test_16mb_uint8_body_costs_a_small_multiple_of_its_size(release_daemon, big_images):
    """Peak RSS over the idle daemon stays under 3x the body + 32 MiB (the body buffer, the
    decoded pixels (a third of the text), jansson's few values, the answer), the answer equals
    the binary tensor extension's for the same pixels, and RSS comes back afterwards."""
    d = release_daemon
    pid = d.proc.pid
    body = uint8_body(big_images)
    n = len(big_images)
    header, binary = binary_body(big_images)
    # warm up: threads, arenas and the engine's buffers at this batch size
    status, want = post(d, binary, {"Inference-Header-Content-Length": str(len(header))})
    assert status == 200, want
    before = settle_rss(pid)
    # VmHWM cannot be reset without privileges: the warm-up's peak must be below the bound
    bound_kib = before + (3 * len(body) + 32 * MiB) // 1024
    assert status_kib(pid, "VmHWM") < bound_kib
    t0 = time.monotonic()
    status, out = post(d, body)
    elapsed = time.monotonic() - t0
    assert status == 200, out
    peak = status_kib(pid, "VmHWM")
    assert out["outputs"][0]["shape"] == [n, 10]
    assert out["outputs"][0]["data"] == want["outputs"][0]["data"]
    after = settle_rss(pid)
    print("\nbody %.1f MB, %d images: RSS before %d KiB, peak %d KiB, after %d KiB, %.2f s"
          % (len(body) / 1e6, n, before, peak, after, elapsed))
    assert peak < bound_kib, "peak %d KiB over %d KiB" % (peak, bound_kib)
    assert after < before + 16 * 1024, "RSS %d KiB after, %d KiB before" % (after, before)


def test_two_concurrent_16mb_bodies(release_daemon, big_images):
    d = release_daemon
    pid = d.proc.pid
    body = uint8_body(big_images)
    before = settle_rss(pid)
    results = []

    def one():
        results.append(post(d, body))

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    peak = status_kib(pid, "VmHWM")
    after = settle_rss(pid)
    print("\ntwo bodies: RSS before %d KiB, peak %d KiB, after %d KiB" % (before, peak, after))
    assert [s for s, _ in results] == [200, 200], results
    assert peak < before + (2 * 3 * len(body) + 32 * MiB) // 1024
    assert after < before + 16 * 1024


def test_longer_array_than_shape_is_refused_quickly(daemon, big_images):
    """A 16 MB array for a shape of one image: 400 at once, nothing built (ASan build)."""
    from conftest import MAX_BODY  # the session daemon's limit is small: use our own
    assert MAX_BODY < BODY_BYTES
    d = models_dir()
    proc = Daemon(d, "--max-body-bytes", 32 * MiB, "--threads", 2)
    try:
        proc.wait_ready()
        text = uint8_body(big_images)
        head = b'{"inputs":[{"name":"image","datatype":"UINT8","shape":[1,28,28,1],"data":'
        data = text[text.index(b'"data":') + 7:text.rindex(b"}]")]
        body = head + data + b"}]}"
        hwm = status_kib(proc.proc.pid, "VmHWM")
        t0 = time.monotonic()
        status, out = post(proc, body)
        elapsed = time.monotonic() - t0
        assert status == 400, out
        assert "784 integers from 0 to 255" in out["error"], out
        assert elapsed < 5.0, elapsed
        # the body and little else (jansson's values for it would be hundreds of MB)
        grown = status_kib(proc.proc.pid, "VmHWM") - hwm
        print("\nlong array: VmHWM grew %d KiB in %.2f s" % (grown, elapsed))
        assert grown < (2 * len(body) + 64 * MiB) // 1024, grown
        # the same for BYTES: millions of tiny strings for a shape of 2
        body = (b'{"inputs":[{"name":"x","datatype":"BYTES","shape":[2],"data":['
                + b",".join([b'"AA=="'] * 2000000) + b"]}]}")
        status, out = post(proc, body)
        assert status == 400 and "2 base64 strings" in out["error"], out
        # and for an unknown key holding millions of numbers: refused, not built
        body = (b'{"inputs":[{"name":"x","datatype":"BYTES","shape":[1],"data":["AAAA"]}],'
                b'"junk":[' + b",".join([b"0"] * 4000000) + b"]}")
        status, out = post(proc, body)
        assert status == 400 and "values" in out["error"], out
    finally:
        rc = proc.stop()
        shutil.rmtree(d, ignore_errors=True)
    proc.assert_clean_exit(rc)


BAD = [
    (b'{"inputs":[{"name":"x","datatype":"UINT8","shape":[1,28,28,1],"data":[1,2,', "malformed"),
    (b'{"inputs":[{"name":"x","datatype":"UINT8","shape":[1,28,28,1],"data":[01]}]}', "malformed"),
    (b'{"inputs":[{"name":"x","datatype":"UINT8","shape":[1,28,28,1],"data":[1.5]}]}', "0 to 255"),
    (b'{"inputs":[{"name":"x","datatype":"UINT8","shape":[1,28,28,1],"data":[-1]}]}', "0 to 255"),
    (b'{"inputs":[{"name":"x","datatype":"UINT8","shape":[1,28,28,1],"data":["a"]}]}', "0 to 255"),
    (b'{"inputs":[{"name":"x","datatype":"UINT8","shape":[1,28,28,1],"data":[{"a":1}]}]}',
     "0 to 255"),
    (b'{"inputs":[{"name":"x","datatype":"UINT8","shape":[1,28,28,1],'
     b'"data":[[[[[[[[[[1]]]]]]]]]]}]}', "0 to 255"),
    (b'{"inputs":[{"name":"x","datatype":"BYTES","shape":[1],"data":[1]}]}', "base64 strings"),
    (b'{"inputs":[{"name":"x","datatype":"BYTES","shape":[1],"data":["AAAA"],"data":[]}]}',
     "malformed"),
    (b'{"inputs":[{"name":"x","datatype":"BYTES","shape":[1],"data":["AA\\u00"]}]}', "malformed"),
    (b'{"inputs":[{"name":"x","datatype":"UINT8","shape":[1,28,28,1],"data":[1] x}]}',
     "malformed"),
    (b'{"inputs":[{"name":"x","datatype":"UINT8","shape":[1,28,28,1],"data":[' + b"[" * 5000 +
     b"]" * 5000 + b"]}]}", "malformed"),
]


@pytest.mark.parametrize("body,words", BAD)
def test_bad_data_arrays_are_400(daemon, body, words):
    status, hdrs, out = daemon.request("POST", INFER, body=body,
                                       headers={"Content-Type": "application/json"})
    assert status == 400, out
    assert words in out["error"], out


def test_escaped_keys_and_nested_data(daemon, fashion_test_set):
    """Keys written with escapes and nested arrays are the same request as the plain one."""
    images, _ = fashion_test_set
    px = images[:2]
    plain = uint8_body(px)
    status, _, want = daemon.request("POST", INFER, body=plain,
                                     headers={"Content-Type": "application/json"})
    assert status == 200, want
    nested = json.dumps({"inputs": [{"name": "image", "datatype": "UINT8",
                                     "shape": [2, 28, 28, 1],
                                     "data": px.reshape(2, 28, 28, 1).tolist()}],
                         "outputs": [{"name": "logits"}]}, indent=1)
    nested = nested.replace('"data"', '"d\\u0061ta"').replace('"inputs"', '"\\u0069nputs"')
    status, _, got = daemon.request("POST", INFER, body=nested.encode(),
                                    headers={"Content-Type": "application/json"})
    assert status == 200, got
    assert got["outputs"][0]["data"] == want["outputs"][0]["data"]

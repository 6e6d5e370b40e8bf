"""Dynamic batching: a batch leaves when full or when its oldest image has waited
max_queue_delay_us; the queue is bounded (503 + Retry-After at once); several images of one
request are batched together; /metrics shows what happened."""

import base64
import json
import re
import shutil
import threading
import time

import pytest

import fmnist
from f8d_process import Daemon, models_dir


@pytest.fixture(scope="module")
def jpegs(fashion_test_set):
    images, _ = fashion_test_set
    return [fmnist.to_jpeg(images[i]) for i in range(8)]


def start(*args):
    d = models_dir()
    daemon = Daemon(d, *args)
    daemon.wait_ready()
    return daemon, d


def finish(daemon, d):
    rc = daemon.stop()
    shutil.rmtree(d, ignore_errors=True)
    daemon.assert_clean_exit(rc)


def metric(text, name, **labels):
    """The value of one sample of the Prometheus text."""
    want = ",".join('%s="%s"' % kv for kv in labels.items())
    pat = re.escape(name) + (r"\{" + re.escape(want) + r"\}" if labels else "") + r" (\S+)$"
    for line in text.splitlines():
        m = re.match(pat, line)
        if m:
            return float(m.group(1))
    raise KeyError("%s{%s} not in /metrics" % (name, want))


def metrics(daemon):
    status, hdrs, body = daemon.request("GET", "/metrics")
    assert status == 200
    assert hdrs["content-type"].startswith("text/plain; version=0.0.4")
    return body.decode()


def post_async(daemon, jpeg, results, i):
    def run():
        t0 = time.monotonic()
        status, hdrs, answer = daemon.request("POST", "/predictions/fashion", body=jpeg)
        results[i] = (status, hdrs, answer, time.monotonic() - t0)
    t = threading.Thread(target=run)
    t.start()
    return t


def test_full_queue_is_503_with_retry_after_and_deadline_releases_batch(model_file, jpegs):
    daemon, d = start("--max-batch-size", 8, "--max-queue-delay-us", 1500000,
                      "--max-queue", 2, "--instances", 1)
    try:
        results = [None] * 2
        t0 = time.monotonic()
        threads = [post_async(daemon, jpegs[i], results, i) for i in range(2)]
        deadline = time.monotonic() + 5
        while metric(metrics(daemon), "f8d_queue_depth", model="fashion") < 2:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        # the queue holds 2 images and 2 is max_queue: refused at once
        t1 = time.monotonic()
        status, hdrs, body = daemon.request("POST", "/predictions/fashion", body=jpegs[2])
        assert status == 503, body
        assert time.monotonic() - t1 < 1.0
        assert hdrs["retry-after"] == "1"
        assert hdrs["content-type"] == "application/json"
        assert "overloaded" in body["error"] and "max_queue" in body["error"]
        for t in threads:
            t.join(10)
        # the two queued ones left together when the oldest had waited 1.5 s
        for status, _, answer, elapsed in results:
            assert status == 200, answer
            assert elapsed >= 1.3
        assert time.monotonic() - t0 < 5
        text = metrics(daemon)
        assert metric(text, "f8d_rejected_total", model="fashion", reason="queue_full") == 1
        assert metric(text, "f8d_requests_total", model="fashion", protocol="http", code="503") == 1
        assert metric(text, "f8d_requests_total", model="fashion", protocol="http", code="200") == 2
        assert metric(text, "f8d_batch_size_count", model="fashion") == 1
        assert metric(text, "f8d_batch_size_sum", model="fashion") == 2
        assert metric(text, "f8d_batch_size_bucket", model="fashion", le="1") == 0
        assert metric(text, "f8d_batch_size_bucket", model="fashion", le="2") == 1
        assert metric(text, "f8d_queue_duration_seconds_sum", model="fashion") >= 2 * 1.3
        assert metric(text, "f8d_queue_depth", model="fashion") == 0
    finally:
        finish(daemon, d)
    assert "503" in daemon.stderr and "overloaded" in daemon.stderr


def test_full_batch_leaves_without_waiting(model_file, jpegs):
    """max_batch_size images queued: the batch goes at once, long before the 10 s delay.
    Four images in one infer request and four single-image requests make two batches."""
    daemon, d = start("--max-batch-size", 4, "--max-queue-delay-us", 10000000,
                      "--instances", 1)
    try:
        body = json.dumps({"inputs": [{"name": "image_bytes", "datatype": "BYTES",
                                       "shape": [4],
                                       "data": [base64.b64encode(j).decode()
                                                for j in jpegs[:4]]}],
                           "outputs": [{"name": "probabilities",
                                        "parameters": {"classification": 1}}]})
        t0 = time.monotonic()
        status, _, out = daemon.request("POST", "/v2/models/fashion/infer", body=body)
        assert status == 200, out
        assert time.monotonic() - t0 < 3
        results = [None] * 4
        threads = [post_async(daemon, jpegs[i], results, i) for i in range(4)]
        for t in threads:
            t.join(10)
        assert all(r[0] == 200 for r in results), results
        assert max(r[3] for r in results) < 3
        text = metrics(daemon)
        assert metric(text, "f8d_batch_size_count", model="fashion") == 2
        assert metric(text, "f8d_batch_size_sum", model="fashion") == 8
        assert metric(text, "f8d_batch_size_bucket", model="fashion", le="3") == 0
        assert metric(text, "f8d_batch_size_bucket", model="fashion", le="4") == 2
        assert metric(text, "f8d_inference_images_total", model="fashion") == 8
        # the infer request's 4 answers equal the single requests' top-1
        tops = [int(s.split(":")[1]) for s in out["outputs"][0]["data"]]
        assert tops == [r[2]["predictions"][0]["index"] for r in results]
    finally:
        finish(daemon, d)


def test_infer_request_larger_than_queue_is_400(model_file, jpegs):
    daemon, d = start("--max-queue", 3)
    try:
        body = json.dumps({"inputs": [{"name": "image_bytes", "datatype": "BYTES",
                                       "shape": [4],
                                       "data": [base64.b64encode(j).decode()
                                                for j in jpegs[:4]]}]})
        status, _, out = daemon.request("POST", "/v2/models/fashion/infer", body=body)
        assert status == 400 and "max_queue" in out["error"]
    finally:
        finish(daemon, d)


def test_engine_threads_same_answers(model_file, daemon, jpegs):
    """One instance whose engine runs use 2 threads answers exactly like the session daemon."""
    other, d = start("--instances", 1, "--engine-threads", 2, "--max-batch-size", 4)
    try:
        assert re.search(r"batches of up to 4 on 1 of \d+ worker\(s\), 2 engine thread\(s\) each", other.stderr)
        body = json.dumps({"inputs": [{"name": "image_bytes", "datatype": "BYTES",
                                       "shape": [len(jpegs)],
                                       "data": [base64.b64encode(j).decode() for j in jpegs]}],
                           "outputs": [{"name": "logits"}]})
        s1, _, a = other.request("POST", "/v2/models/fashion/infer", body=body)
        s2, _, b = daemon.request("POST", "/v2/models/fashion/infer", body=body)
        assert s1 == s2 == 200
        assert a["outputs"][0]["data"] == b["outputs"][0]["data"]
    finally:
        finish(other, d)

"""Two models under saturating load share the inference workers: the pool serves the models
with a ready batch round-robin, so the one with fewer clients still gets its turn (with a
first-come queue its share would follow its share of the traffic, a quarter here)."""

import base64
import json
import re
import threading
import time

import pytest

from f8d_process import serving
import fmnist

SECONDS = 4.0


@pytest.fixture
def two_models(model_file):
    with serving("--threads", 1, "--max-batch-size", 8, "--access-log", "off",
                 names=("busy", "quiet")) as proc:
        yield proc


def batches(daemon):
    """Engine runs per model, from the batch size histogram's count."""
    status, _, text = daemon.request("GET", "/metrics")
    assert status == 200
    out = {}
    for m in re.finditer(r'^f8d_batch_size_count\{model="(\w+)"\} (\d+)$', text.decode(), re.M):
        out[m.group(1)] = int(m.group(2))
    return out


def client(daemon, model, body, end, answered, errors):
    conn = daemon.connection(timeout=30)
    try:
        while time.monotonic() < end:
            conn.request("POST", "/v2/models/%s/infer" % model, body=body,
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                errors.append((model, resp.status))
                return
            answered[model] += 1
    except OSError as e:
        errors.append((model, repr(e)))
    finally:
        conn.close()


def test_neither_model_starves(two_models):
    images, _ = fmnist.load_test_set()
    # 8 images a request, one batch each: the server, not these Python clients, is what is
    # saturated, so each model's share of batches is the pool's doing
    jpegs = [base64.b64encode(fmnist.to_jpeg(images[i])).decode() for i in range(8)]
    body = json.dumps({"inputs": [{"name": "image_bytes", "datatype": "BYTES", "shape": [8],
                                   "data": jpegs}], "outputs": [{"name": "logits"}]})
    before = batches(two_models)
    end = time.monotonic() + SECONDS
    answered = {"busy": 0, "quiet": 0}
    errors = []
    threads = [threading.Thread(target=client, args=(two_models, "busy", body, end, answered,
                                                     errors)) for _ in range(12)]
    threads += [threading.Thread(target=client, args=(two_models, "quiet", body, end, answered,
                                                      errors)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:5]
    after = batches(two_models)
    busy = after.get("busy", 0) - before.get("busy", 0)
    quiet = after.get("quiet", 0) - before.get("quiet", 0)
    total = busy + quiet
    assert total >= 10, (busy, quiet, answered)  # the worker was saturated for a while
    # round-robin gives each about half; a first-come queue would give quiet a quarter. 0.3
    # leaves room for a loaded host (runs at 0.315 were seen with load average 6)
    assert quiet >= total * 0.3, ("quiet model starved", busy, quiet, answered)
    assert busy >= total * 0.3, ("busy model starved", busy, quiet, answered)

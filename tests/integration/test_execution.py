"""execution = auto | latency | throughput: how a batch uses the workers. A lone request on
an idle pool runs on every worker's CPU (auto, latency), or on one (throughput); the answers
are the same logits whichever way; under concurrent load auto runs batches side by side."""

import base64
import json
import threading

import pytest

from f8d_process import serving
from test_abuse_cancel import metric
import fmnist


def logits(d, jpegs):
    body = {"inputs": [{"name": "image_bytes", "datatype": "BYTES", "shape": [len(jpegs)],
                        "data": [base64.b64encode(j).decode() for j in jpegs]}],
            "outputs": [{"name": "logits"}]}
    status, _, answer = d.request("POST", "/v2/models/fashion/infer", body=json.dumps(body))
    assert status == 200, answer
    return answer["outputs"][0]["data"]


@pytest.fixture(scope="module")
def jpegs():
    images, _ = fmnist.load_test_set()
    return [fmnist.to_jpeg(images[i]) for i in range(6)]


def test_modes_give_the_same_logits(model_file, jpegs):
    seen = {}
    for mode in ("auto", "latency", "throughput"):
        with serving("--threads", 2, "--execution", mode) as d:
            status, _, meta = d.request("GET", "/v2/models/fashion")
            assert meta["parameters"]["execution"] == mode
            seen[mode] = [logits(d, [j]) for j in jpegs] + [logits(d, jpegs)]
            wide = metric(d, "f8d_batches_wide_total", model="fashion")
            # 7 requests one after another on an idle pool: wide unless throughput
            assert wide == (0 if mode == "throughput" else 7), (mode, wide)
    assert seen["auto"] == seen["latency"] == seen["throughput"]


def test_auto_runs_side_by_side_under_load(model_file, jpegs):
    """With 16 clients at once, most auto batches find the pool busy: they run on one worker
    each (the wide count stays well below the batch count)."""
    with serving("--threads", 2, "--execution", "auto", "--access-log", "off") as d:
        def client():
            conn = d.connection()
            for i in range(40):
                status, _, _ = d.request("POST", "/predictions/fashion",
                                         body=jpegs[i % len(jpegs)], conn=conn)
                assert status == 200
            conn.close()
        threads = [threading.Thread(target=client) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        status, _, text = d.request("GET", "/metrics")
        batches = [l for l in text.decode().splitlines()
                   if l.startswith('f8d_batch_size_count{model="fashion"}')]
        n_batches = float(batches[0].split()[-1])
        wide = metric(d, "f8d_batches_wide_total", model="fashion")
        assert n_batches > 0 and wide < n_batches, (wide, n_batches)


def test_bad_value_is_refused(model_file):
    from test_lifecycle import run_f8d
    out = run_f8d("--models", "models", "--execution", "fast")
    assert out.returncode == 1
    assert "'fast' is not one of auto|latency|throughput" in out.stderr

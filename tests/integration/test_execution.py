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
            # 7 requests one after another on an idle pool: always wide with latency, never
            # with throughput; with auto, wide when an image of the model took 1 ms or more
            # at load (this model's takes ~40 us in a release build, more under ASan and load)
            big = meta["parameters"]["image_us"] >= 1000
            want = {"latency": 7, "throughput": 0, "auto": 7 if big else 0}[mode]
            assert wide == want, (mode, wide, meta["parameters"]["image_us"])
    assert seen["auto"] == seen["latency"] == seen["throughput"]


@pytest.fixture(scope="module")
def resnet18(tmp_path_factory):
    """A ResNet-18 with random weights (bench/synth_models.py): an image takes milliseconds."""
    import os
    import subprocess
    import sys
    d = tmp_path_factory.mktemp("synth")
    repo = os.path.join(os.path.dirname(__file__), "..", "..")
    subprocess.run([sys.executable, os.path.join(repo, "bench", "synth_models.py"), str(d),
                    "resnet18"], check=True, capture_output=True,
                   env=dict(os.environ, PYTHONPATH=os.path.join(repo, "trainer")))
    return str(d / "resnet18.f8")


def test_auto_splits_a_lone_request_of_a_big_model(resnet18, jpegs):
    import os
    import shutil
    from f8d_process import Daemon
    answers = {}
    for mode in ("auto", "throughput"):
        d = os.path.dirname(resnet18)
        proc = Daemon(d, "--threads", 2, "--execution", mode, "--max-batch-size", 2)
        try:
            proc.wait_ready(timeout=120)
            answers[mode] = []
            for j in jpegs[:2]:
                status, _, answer = proc.request("POST", "/predictions/resnet18?top_k=3", body=j)
                assert status == 200, answer
                answers[mode].append(answer["predictions"])
            wide = metric(proc, "f8d_batches_wide_total", model="resnet18")
            assert wide == (2 if mode == "auto" else 0), (mode, wide)
        finally:
            rc = proc.stop()
        proc.assert_clean_exit(rc)
    assert answers["auto"] == answers["throughput"]


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


def _plan(path):
    import os
    import subprocess
    f8 = os.environ.get("F8_BIN")
    if not f8:
        pytest.skip("F8_BIN is not set (make test-integration sets it)")
    out = subprocess.run([f8, "info", "--plan", path], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_info_plan_says_what_auto_does(model_file, resnet18):
    """`f8 info --plan`: the path, one line per op with its kernel, and a last line with one
    image's time on one thread and what f8d's execution = auto does with a lone request: one
    core for the Fashion model (tens of microseconds), every core for ResNet-18 (milliseconds),
    as f8d does (test_modes_give_the_same_logits, test_auto_splits_a_lone_request...)."""
    for path, where in ((model_file, "one core"), (resnet18, "every core")):
        lines = _plan(path)
        assert lines[0].startswith("# path ")
        ops = [l.split("\t") for l in lines[1:-1]]
        assert ops and all(len(o) >= 3 and o[0].isdigit() and o[2] for o in ops), lines
        last = lines[-1]
        assert last.startswith("# execution auto: one image takes "), last
        assert "a lone request on %s (every core from 1000 us)" % where in last, last

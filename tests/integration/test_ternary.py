"""FGQ (issue 12): models/fashion-ternary.f8 (2-bit ternary weights in groups, one 8-bit alpha
each) is served next to fashion.f8 like any model, as `make run` serves models/. Its metadata
says how it is quantized, and all 10,000 Fashion-MNIST test images as JPEG (quality 90)
through the daemon give the integer-simulated top-1 its metadata records on the same JPEGs
(`accuracy.int_jpeg_q90`: the daemon decodes JPEGs exactly as PIL does, test_preprocess.py),
within 0.2 points of `accuracy.int` (the raw test images), and at least 91.5%."""

import json
import os
import subprocess

import pytest

import fmnist
from f8d_process import REPO, serving, top1_of_each

TERNARY = os.path.join(REPO, "models", "fashion-ternary.f8")
F8 = os.path.join(REPO, "models", "fashion.f8")
THREADS = 4


@pytest.fixture(scope="module")
def both():
    """f8d on a models dir holding fashion.f8 and fashion-ternary.f8, as models/ does."""
    if not os.path.exists(TERNARY):
        pytest.fail("missing %s (python3 -m f8train ternarize, docs/TRAINING.md)" % TERNARY)
    with serving("--threads", 2, files={"fashion": F8, "fashion-ternary": TERNARY}) as proc:
        yield proc


def test_metadata_shows_quantization(both):
    status, _, meta = both.request("GET", "/v2/models/fashion-ternary")
    assert status == 200
    q = meta["parameters"]["quantization"]
    assert q["weight_bits"] == [2, 8]                 # c2..c5 ternary; c1 and fc 8-bit
    assert q["group_sizes"] == [4]
    assert q["activation_bits"] in ([8], [4, 8])
    status, _, meta = both.request("GET", "/v2/models/fashion")
    assert status == 200
    assert meta["parameters"]["quantization"] == {"weight_bits": [8], "group_sizes": [],
                                                  "activation_bits": [8]}


def test_accuracy_10000_jpegs(both):
    images, truth = fmnist.load_test_set()
    n = len(images)
    jpegs = [fmnist.to_jpeg(images[i], quality=90) for i in range(n)]
    predicted, errors = top1_of_each(both, "fashion-ternary", jpegs, THREADS)
    assert not errors, errors[:5]
    accuracy = 100.0 * sum(predicted[i] == truth[i] for i in range(n)) / n
    f8 = os.environ.get("F8_BIN", os.path.join(REPO, "build", "f8"))
    md = json.loads(subprocess.run([f8, "info", TERNARY], capture_output=True, text=True,
                                   check=True).stdout)["metadata"]
    print("\nf8d top-1 of fashion-ternary on 10,000 JPEGs (q90): %.2f%%; metadata: int %s, "
          "int on JPEG %s" % (accuracy, md["accuracy.int"], md["accuracy.int_jpeg_q90"]))
    assert accuracy == pytest.approx(float(md["accuracy.int_jpeg_q90"]), abs=0.005)
    assert abs(accuracy - float(md["accuracy.int"])) <= 0.2
    assert accuracy >= 91.5

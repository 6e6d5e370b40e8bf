"""THE ACCEPTANCE TEST: all 10,000 Fashion-MNIST test images, as JPEG (quality 90), through
the daemon. Top-1 must be within 0.2 points of the integer-simulated accuracy the model's
metadata records (`accuracy.int`, measured on the raw test images), and for the shipped model
at least 93.0% (issue 3); any other model (F8D_TEST_MODEL) at least 90%."""

import json
import os
import subprocess
import time

import fmnist
from f8d_process import MODEL_PATH, REPO, top1_of_each

F8_BIN = os.environ.get("F8_BIN", os.path.join(REPO, "build", "f8"))
SHIPPED = os.path.join(REPO, "models", "fashion.f8")


def metadata_accuracy():
    """accuracy.int of the model under test, in percent (f8 info reads the metadata)."""
    out = subprocess.run([F8_BIN, "info", MODEL_PATH], capture_output=True, text=True,
                         check=True).stdout
    return float(json.loads(out)["metadata"]["accuracy.int"])

THREADS = 4


def test_accuracy_10000_images(daemon, fashion_test_set):
    images, truth = fashion_test_set
    n = len(images)
    assert n == 10000
    jpegs = [fmnist.to_jpeg(images[i], quality=90) for i in range(n)]
    t0 = time.monotonic()
    predicted, errors = top1_of_each(daemon, "fashion", jpegs, THREADS)
    elapsed = time.monotonic() - t0
    assert not errors, errors[:5]
    right = sum(1 for i in range(n) if predicted[i] == truth[i])
    accuracy = right / n
    print("\nf8d top-1 accuracy on the 10,000 Fashion-MNIST test images (JPEG q90): "
          "%.2f%% (%d/%d), %.1f s, %.0f images/s" % (100 * accuracy, right, n, elapsed,
                                                    n / elapsed))
    recorded = metadata_accuracy()
    print("integer-simulated top-1 in the model's metadata: %.2f%%" % recorded)
    assert abs(100 * accuracy - recorded) <= 0.2
    if os.path.realpath(MODEL_PATH) == os.path.realpath(SHIPPED):
        assert accuracy >= 0.930
    else:
        assert accuracy >= 0.90

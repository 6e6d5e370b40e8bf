"""Shared fixtures: paths, the Fashion-MNIST test images, and torch thread setup."""

import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads; see f8train/__main__.py

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "trainer"))
sys.path.insert(0, HERE)

FASHION_DIR = "/usr/share/datasets/fashion-mnist"
SHIPPED_MODEL = os.path.join(REPO, "models", "fashion.f8")

torch.set_num_threads(os.cpu_count() or 1)


@pytest.fixture(scope="session")
def fashion_test():
    """(images (10000, 28, 28, 1) u8, labels (10000,))."""
    from f8train import data
    x = data.load_idx(os.path.join(FASHION_DIR, data.FILES["test_x"]))
    y = data.load_idx(os.path.join(FASHION_DIR, data.FILES["test_y"]))
    return x.reshape(-1, 28, 28, 1), y.astype(np.int64)


@pytest.fixture(scope="session")
def shipped_model():
    from f8train import fileformat
    if not os.path.exists(SHIPPED_MODEL):
        pytest.fail(f"{SHIPPED_MODEL} is missing: run `make model`")
    return fileformat.read(SHIPPED_MODEL)

"""Fixtures: one f8d for the whole session (a temp models dir with models/fashion.f8),
stopped with SIGTERM at the end: it must exit 0 with no sanitizer report."""

import os
import shutil

import pytest

from f8d_process import Daemon, MODEL_PATH, models_dir
import fmnist

MAX_BODY = 256 * 1024


@pytest.fixture(scope="session")
def model_file():
    if not os.path.exists(MODEL_PATH):
        pytest.fail("missing model %s (make model, or set F8D_TEST_MODEL)" % MODEL_PATH)
    return MODEL_PATH


@pytest.fixture(scope="session")
def daemon(model_file):
    d = models_dir()
    proc = Daemon(d, "--max-body-bytes", MAX_BODY, "--threads", 2, grpc=True)
    try:
        proc.wait_ready()
        yield proc
    finally:
        rc = proc.stop()
        shutil.rmtree(d, ignore_errors=True)
        assert rc == 0, "f8d exited with %s:\n%s" % (rc, proc.stderr[-5000:])
        assert not proc.sanitizer_reports(), proc.stderr[-20000:]
        assert not proc.server_errors(), "\n".join(proc.server_errors())
        assert "stopped after" in proc.stderr


@pytest.fixture(scope="session")
def fashion_test_set():
    """(images, labels) of the Fashion-MNIST test set."""
    return fmnist.load_test_set()


@pytest.fixture(scope="session")
def labels(daemon):
    """The model's labels, as /v2/models/fashion reports them."""
    status, _, meta = daemon.request("GET", "/v2/models/fashion")
    assert status == 200
    return meta["parameters"]["labels"]

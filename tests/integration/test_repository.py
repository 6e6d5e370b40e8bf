"""The model repository extension as Triton's clients use it (load, unload, index with state
and reason), and a reload that loads each model on its own: a broken file is UNAVAILABLE with
its reason, the others serve, and the version of a broken model served before keeps serving."""

import os
import shutil
import signal
import time

import pytest

from f8d_process import Daemon, models_dir
import fmnist


@pytest.fixture
def repo(model_file):
    d = models_dir(("alpha", "beta"))
    proc = Daemon(d, "--restricted-api", "X-Admin:s3cret")
    try:
        proc.wait_ready()
        yield proc, d
    finally:
        rc = proc.stop()
        shutil.rmtree(d, ignore_errors=True)
        proc.assert_clean_exit(rc)


ADMIN = {"X-Admin": "s3cret"}


def index(proc):
    status, _, body = proc.request("POST", "/v2/repository/index")
    assert status == 200
    return {m["name"]: (m["state"], m["reason"]) for m in body}


def predict(proc, name, jpeg):
    status, _, _ = proc.request("POST", "/predictions/" + name, body=jpeg)
    return status


def test_load_and_unload(repo, fashion_test_set):
    proc, d = repo
    jpeg = fmnist.to_jpeg(fashion_test_set[0][0])
    assert index(proc) == {"alpha": ("READY", ""), "beta": ("READY", "")}
    # management calls need the restricted_api header
    status, _, body = proc.request("POST", "/v2/repository/models/alpha/unload")
    assert status == 403 and "X-Admin" in body["error"]
    status, _, body = proc.request("POST", "/v2/repository/models/alpha/unload", headers=ADMIN)
    assert status == 200 and body == {}
    assert index(proc) == {"alpha": ("UNAVAILABLE", "unloaded"), "beta": ("READY", "")}
    assert predict(proc, "alpha", jpeg) == 404 and predict(proc, "beta", jpeg) == 200
    status, _, _ = proc.request("GET", "/v2/models/alpha/ready")
    assert status == 404
    # unloading again is fine; an unknown model is not
    status, _, _ = proc.request("POST", "/v2/repository/models/alpha/unload", headers=ADMIN)
    assert status == 200
    status, _, body = proc.request("POST", "/v2/repository/models/nope/unload", headers=ADMIN)
    assert status == 404 and "nope" in body["error"]
    # load it back
    status, _, body = proc.request("POST", "/v2/repository/models/alpha/load", headers=ADMIN)
    assert status == 200 and body == {}
    assert index(proc) == {"alpha": ("READY", ""), "beta": ("READY", "")}
    assert predict(proc, "alpha", jpeg) == 200
    # a new file loads without a full reload
    shutil.copy(os.path.join(d, "alpha.f8"), os.path.join(d, "gamma.f8"))
    status, _, _ = proc.request("POST", "/v2/repository/models/gamma/load", headers=ADMIN)
    assert status == 200 and predict(proc, "gamma", jpeg) == 200
    status, _, body = proc.request("POST", "/v2/repository/models/missing/load", headers=ADMIN)
    assert status == 404 and "missing.f8" in body["error"]
    status, hdrs, _ = proc.request("GET", "/v2/repository/models/alpha/load")
    assert status == 405 and hdrs["allow"] == "POST"


def test_broken_models_on_their_own(repo, fashion_test_set):
    proc, d = repo
    jpeg = fmnist.to_jpeg(fashion_test_set[0][0])
    # beta's file breaks; a new broken file appears: a reload keeps beta's loaded version,
    # lists both reasons, and loads alpha again
    with open(os.path.join(d, "beta.f8"), "r+b") as f:
        f.truncate(1000)
    with open(os.path.join(d, "delta.f8"), "wb") as f:
        f.write(b"not a model at all")
    proc.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and "delta" not in index(proc):
        time.sleep(0.05)
    states = index(proc)
    assert states["alpha"] == ("READY", "")
    assert states["beta"][0] == "READY" and "1000 bytes" in states["beta"][1]
    assert states["delta"][0] == "UNAVAILABLE" and "not an .f8 model" in states["delta"][1]
    assert predict(proc, "beta", jpeg) == 200  # the old version keeps serving
    assert predict(proc, "delta", jpeg) == 404
    assert "reload: model beta did not load (the version loaded before keeps serving)" in \
        proc.stderr
    # loading the broken one explicitly: 500 with the engine's reason, still served
    status, _, body = proc.request("POST", "/v2/repository/models/beta/load", headers=ADMIN)
    assert status == 500 and "1000 bytes" in body["error"]
    assert predict(proc, "beta", jpeg) == 200
    # fixed on disk: it loads, and the index forgets the reason
    shutil.copy(os.path.join(d, "alpha.f8"), os.path.join(d, "beta.f8"))
    status, _, _ = proc.request("POST", "/v2/repository/models/beta/load", headers=ADMIN)
    assert status == 200 and index(proc)["beta"] == ("READY", "")
    status, _, body = proc.request("GET", "/v2")
    assert "model_repository" in body["extensions"]


def test_versioned_layout(model_file, fashion_test_set):
    """Triton's layout, DIR/NAME/VERSION/model.f8: the highest numeric version serves, under
    /v2/models/NAME and /v2/models/NAME/versions/V, in the answers and the index; a load picks
    up a new version; a flat NAME.f8 still works beside it."""
    import tempfile
    jpeg = fmnist.to_jpeg(fashion_test_set[0][0])
    d = tempfile.mkdtemp(prefix="f8d-versions-")
    for v in ("1", "7"):
        os.makedirs(os.path.join(d, "shoes", v))
        shutil.copy(model_file, os.path.join(d, "shoes", v, "model.f8"))
    os.makedirs(os.path.join(d, "shoes", "08"))      # not a version (leading zero)
    os.makedirs(os.path.join(d, "shoes", "9"))       # no model.f8 in it
    shutil.copy(model_file, os.path.join(d, "flat.f8"))
    proc = Daemon(d)
    try:
        proc.wait_ready()
        assert index(proc) == {"flat": ("READY", ""), "shoes": ("READY", "")}
        status, _, body = proc.request("POST", "/v2/repository/index")
        assert {m["name"]: m["version"] for m in body} == {"flat": "1", "shoes": "7"}
        status, _, meta = proc.request("GET", "/v2/models/shoes")
        assert status == 200 and meta["versions"] == ["7"]
        status, _, _ = proc.request("GET", "/v2/models/shoes/versions/7/ready")
        assert status == 200
        status, _, body = proc.request("GET", "/v2/models/shoes/versions/1/ready")
        assert status == 404 and "serving: 7" in body["error"]
        status, _, answer = proc.request(
            "POST", "/v2/models/shoes/versions/7/infer",
            body='{"inputs":[{"name":"x","datatype":"UINT8","shape":[1,28,28,1],"data":%s}]}'
            % ([0] * 784))
        assert status == 200 and answer["model_version"] == "7"
        assert predict(proc, "shoes", jpeg) == 200
        # version 12 appears: a load serves it
        os.makedirs(os.path.join(d, "shoes", "12"))
        shutil.copy(model_file, os.path.join(d, "shoes", "12", "model.f8"))
        status, _, _ = proc.request("POST", "/v2/repository/models/shoes/load")
        assert status == 200
        status, _, meta = proc.request("GET", "/v2/models/shoes")
        assert meta["versions"] == ["12"]
    finally:
        rc = proc.stop()
        shutil.rmtree(d, ignore_errors=True)
    proc.assert_clean_exit(rc)

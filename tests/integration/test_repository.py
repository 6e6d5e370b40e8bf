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

"""Reload (SIGHUP and POST /v2/repository/reload): atomic, under load with zero failed
requests; models added and removed; a broken model leaves the previous set serving."""

import http.client
import os
import shutil
import signal
import threading
import time

import fmnist
from f8d_process import Daemon, models_dir
from test_batching import metric, metrics


def load(daemon, jpegs, stop, results, model="fashion"):
    """One client posting on a keep-alive connection until stop is set."""
    conn = daemon.connection(timeout=30)
    i = 0
    try:
        while not stop.is_set():
            try:
                status, _, answer = daemon.request("POST", "/predictions/%s?top_k=1" % model,
                                                   body=jpegs[i % len(jpegs)], conn=conn)
                results.append((status, answer, i % len(jpegs)))
            except (OSError, http.client.HTTPException) as e:
                results.append((None, repr(e), i % len(jpegs)))
                conn.close()
                conn = daemon.connection(timeout=30)
            i += 1
    finally:
        conn.close()


def test_reload_under_load_zero_failures(model_file, fashion_test_set):
    images, _ = fashion_test_set
    jpegs = [fmnist.to_jpeg(images[i]) for i in range(16)]
    d = models_dir(("fashion", "other"))
    daemon = Daemon(d, "--threads", 2, "--max-batch-size", 8)
    stop = threading.Event()
    results = []
    try:
        daemon.wait_ready()
        clients = [threading.Thread(target=load, args=(daemon, jpegs, stop, results))
                   for _ in range(6)]
        for c in clients:
            c.start()
        time.sleep(0.3)
        for n in range(3):  # signals
            daemon.proc.send_signal(signal.SIGHUP)
            time.sleep(0.25)
        for n in range(3):  # the endpoint answers when the new set serves
            status, _, out = daemon.request("POST", "/v2/repository/reload")
            assert status == 200, out
            assert [m["name"] for m in out["models"]] == ["fashion", "other"]
        time.sleep(0.3)
        stop.set()
        for c in clients:
            c.join(30)
        # Requests for a reload while one runs are merged into one more run after it (and an
        # endpoint call is answered by the running one), so six requests make 2 to 6 reloads,
        # fewer the slower a reload is (ASan, a busy host).
        deadline = time.monotonic() + 10
        while "reloading models" in daemon.stderr.rsplit("reloaded 2 model(s)", 1)[-1] and \
                time.monotonic() < deadline:
            time.sleep(0.05)  # the last merged run is still going
        done = daemon.stderr.count("reloaded 2 model(s)")
        assert 2 <= done <= 6, daemon.stderr[-3000:]
        text = metrics(daemon)
        assert metric(text, "f8d_reloads_total", result="ok") == done
        assert metric(text, "f8d_reloads_total", result="failed") == 0
    finally:
        stop.set()
        rc = daemon.stop()
        shutil.rmtree(d, ignore_errors=True)
    failed = [r for r in results if r[0] != 200]
    assert not failed, failed[:5]
    assert len(results) > 50
    # the same image always gets the same class, before, during and after the reloads
    seen = {}
    for _, answer, i in results:
        assert seen.setdefault(i, answer["predictions"][0]["index"]) == \
            answer["predictions"][0]["index"]
    daemon.assert_clean_exit(rc)
    assert not daemon.server_errors(), daemon.server_errors()


def test_reload_adds_removes_and_survives_a_broken_model(model_file, fashion_test_set):
    images, _ = fashion_test_set
    jpeg = fmnist.to_jpeg(images[0])
    d = models_dir(("fashion",))
    daemon = Daemon(d)
    try:
        daemon.wait_ready()
        status, _, _ = daemon.request("POST", "/predictions/second", body=jpeg)
        assert status == 404
        shutil.copy(os.path.join(d, "fashion.f8"), os.path.join(d, "second.f8"))
        status, _, out = daemon.request("POST", "/v2/repository/reload")
        assert status == 200, out
        assert [m["name"] for m in out["models"]] == ["fashion", "second"]
        status, _, answer = daemon.request("POST", "/predictions/second", body=jpeg)
        assert status == 200 and answer["model"] == "second"
        status, _, index = daemon.request("POST", "/v2/repository/index")
        assert status == 200 and [m["name"] for m in index] == ["fashion", "second"]

        # a broken file: that model is not served (the index says why), the others are
        with open(os.path.join(d, "broken.f8"), "wb") as f:
            f.write(b"F8MODEL\0" + b"\0" * 100)
        status, hdrs, out = daemon.request("POST", "/v2/repository/reload")
        assert status == 500 and "broken.f8" in out["error"], out
        assert "1 model(s) did not load (the others did" in out["error"]
        status, _, index = daemon.request("POST", "/v2/repository/index")
        states = {m["name"]: (m["state"], m["reason"]) for m in index}
        assert states["broken"][0] == "UNAVAILABLE" and "smaller than" in states["broken"][1]
        assert states["fashion"] == ("READY", "") and states["second"] == ("READY", "")
        for name in ("fashion", "second"):
            status, _, answer = daemon.request("POST", "/predictions/" + name, body=jpeg)
            assert status == 200
        status, _, ready = daemon.request("GET", "/v2/health/ready")
        assert status == 200
        os.unlink(os.path.join(d, "broken.f8"))

        # removed from the directory: gone after the next reload (SIGHUP this time)
        os.unlink(os.path.join(d, "second.f8"))
        daemon.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status, _, _ = daemon.request("GET", "/v2/models/second")
            if status == 404:
                break
            time.sleep(0.05)
        assert status == 404
        text = metrics(daemon)
        assert metric(text, "f8d_reloads_total", result="failed") == 1
        assert metric(text, "f8d_models_loaded") == 1
    finally:
        rc = daemon.stop()
        shutil.rmtree(d, ignore_errors=True)
    daemon.assert_clean_exit(rc)
    assert "reload: model broken did not load" in daemon.stderr


def wait_logged(daemon, words, timeout=10.0):
    """The reload's log line: the answer can reach the test before its stderr reader has read
    the line f8d wrote just before answering."""
    deadline = time.monotonic() + timeout
    while words not in daemon.stderr:
        assert time.monotonic() < deadline, \
            "no %r in the log:\n%s" % (words, daemon.stderr[-3000:])
        time.sleep(0.02)


def test_reload_keeps_unchanged_models(model_file, fashion_test_set):
    """A reload loads only what changed on disk: an untouched file's model is kept as it is
    (no second load, no new runners), a rewritten one is loaded again."""
    images, _ = fashion_test_set
    jpeg = fmnist.to_jpeg(images[0])
    d = models_dir(("fashion", "other"))
    daemon = Daemon(d)
    try:
        daemon.wait_ready()
        status, _, out = daemon.request("POST", "/v2/repository/reload")
        assert status == 200, out
        wait_logged(daemon, "reloaded 2 model(s) from %s (2 unchanged, kept as they were)" % d)
        # rewrite one file (new mtime): that one loads again
        time.sleep(0.01)
        shutil.copy(os.path.join(d, "fashion.f8"), os.path.join(d, "other.f8.tmp"))
        os.replace(os.path.join(d, "other.f8.tmp"), os.path.join(d, "other.f8"))
        status, _, out = daemon.request("POST", "/v2/repository/reload")
        assert status == 200, out
        wait_logged(daemon, "reloaded 2 model(s) from %s (1 unchanged, kept as they were)" % d)
        for name in ("fashion", "other"):
            status, _, _ = daemon.request("POST", "/predictions/" + name, body=jpeg)
            assert status == 200
    finally:
        rc = daemon.stop()
        shutil.rmtree(d, ignore_errors=True)
    daemon.assert_clean_exit(rc)

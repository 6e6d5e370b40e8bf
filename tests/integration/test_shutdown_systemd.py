"""SIGTERM under load (every accepted request answered, queues flushed at once), the drain
delay, sd_notify READY/RELOADING/STOPPING and the watchdog, config file and environment."""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import fmnist
from f8d_process import Daemon, F8D_BIN, models_dir


def test_sigterm_flushes_queued_requests(model_file, fashion_test_set):
    """16 requests wait in the queue for a 5 s batching delay when SIGTERM comes: each gets
    its 200 at once, the daemon exits 0, and no request ends unanswered in the log."""
    images, _ = fashion_test_set
    d = models_dir()
    daemon = Daemon(d, "--max-batch-size", 64, "--max-queue-delay-us", 5000000)
    results = []
    try:
        daemon.wait_ready()

        def client(i):
            status, hdrs, answer = daemon.request("POST", "/predictions/fashion",
                                                  body=fmnist.to_jpeg(images[i]))
            results.append((status, hdrs.get("connection"), answer))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while daemon.stderr.count("POST") == 0 and time.monotonic() < deadline:
            status, _, body = daemon.request("GET", "/metrics")
            if re.search(rb'f8d_queue_depth\{model="fashion"\} 16', body):
                break
            time.sleep(0.02)
        t0 = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(10)
        assert time.monotonic() - t0 < 3  # not the 5 s delay
        rc = daemon.stop()
    finally:
        daemon.stop()
        shutil.rmtree(d, ignore_errors=True)
    assert rc == 0, daemon.stderr
    assert len(results) == 16
    assert all(s == 200 and len(a["predictions"]) == 5 for s, _, a in results), results
    assert all(c == "close" for _, c, _ in results)
    assert not re.search(r"f8d: POST \S+ - ", daemon.stderr), daemon.stderr  # none unanswered
    assert not daemon.sanitizer_reports(), daemon.stderr


def test_drain_delay_keeps_accepting_while_not_ready(model_file, fashion_test_set):
    images, _ = fashion_test_set
    d = models_dir()
    daemon = Daemon(d, "--drain-delay-ms", 1500)
    try:
        daemon.wait_ready()
        daemon.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        status, hdrs, body = daemon.request("GET", "/v2/health/ready")  # a new connection
        assert status == 503 and body == {"ready": False}
        assert hdrs["retry-after"] == "1"
        status, _, answer = daemon.request("POST", "/predictions/fashion",
                                           body=fmnist.to_jpeg(images[0]))
        assert status == 200, answer
        time.sleep(1.8)
        try:
            socket.create_connection(("127.0.0.1", daemon.port), timeout=2).close()
            refused = False
        except OSError:
            refused = True
        assert refused
        rc = daemon.stop()
    finally:
        daemon.stop()
        shutil.rmtree(d, ignore_errors=True)
    assert rc == 0, daemon.stderr
    assert "drain delay over" in daemon.stderr


class Notify:
    """A NOTIFY_SOCKET listener collecting sd_notify datagrams."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="f8d-notify-")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.messages = []
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass

    def wait_for(self, text, timeout=10, after=0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, m in enumerate(self.messages[after:]):
                if text in m:
                    return after + i
            time.sleep(0.02)
        raise AssertionError("no %r in %r" % (text, self.messages))

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def test_sd_notify_and_watchdog(model_file):
    notify = Notify()
    d = models_dir()
    daemon = Daemon(d, env={"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "300000"})
    try:
        daemon.wait_ready()
        ready = notify.wait_for("READY=1")
        w = notify.wait_for("WATCHDOG=1", timeout=2, after=ready)
        notify.wait_for("WATCHDOG=1", timeout=2, after=w + 1)  # repeated, every 150 ms
        daemon.proc.send_signal(signal.SIGHUP)
        r = notify.wait_for("RELOADING=1")
        assert re.search(r"MONOTONIC_USEC=\d+", notify.messages[r])
        notify.wait_for("READY=1", after=r + 1)
        rc = daemon.stop()
        notify.wait_for("STOPPING=1")
    finally:
        daemon.stop()
        notify.close()
        shutil.rmtree(d, ignore_errors=True)
    assert rc == 0, daemon.stderr
    assert "systemd watchdog: pinging every 150 ms" in daemon.stderr


def run_f8d(args, env=None, timeout=30):
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run([F8D_BIN] + args, capture_output=True, text=True, timeout=timeout,
                          env=full)


def test_config_file_environment_and_flags(model_file, fashion_test_set):
    images, _ = fashion_test_set
    d = models_dir(("fromconf",))
    conf = os.path.join(d, "f8d.conf")
    with open(conf, "w") as f:
        f.write("# test\nmodels = %s\nhost = 127.0.0.1\nport = 0\nmax_batch_size = 3\n"
                "access_log = off\n" % d)
    daemon = Daemon(d, "--config", conf, env={"F8D_MAX_QUEUE": "7"})
    try:
        daemon.wait_ready()
        status, _, meta = daemon.request("GET", "/v2/models/fromconf")
        assert status == 200
        assert meta["parameters"]["max_batch_size"] == 3  # from the file
        assert meta["parameters"]["max_queue"] == 7       # from the environment
        status, _, _ = daemon.request("POST", "/predictions/fromconf",
                                      body=fmnist.to_jpeg(images[0]))
        assert status == 200
        rc = daemon.stop()
    finally:
        daemon.stop()
        shutil.rmtree(d, ignore_errors=True)
    assert rc == 0
    assert "config " + conf in daemon.stderr
    assert "POST /predictions/fromconf" not in daemon.stderr  # access_log = off


def test_config_errors_name_the_line(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("models = /tmp\n# fine\nmax_batch_size = lots\n")
    out = run_f8d(["--config", str(conf)])
    assert out.returncode == 1
    assert "%s:3: max_batch_size: 'lots' is not an integer" % conf in out.stderr
    conf.write_text("models = /tmp\nmax_bach_size = 4\n")
    out = run_f8d(["--config", str(conf)])
    assert out.returncode == 1 and "%s:2: unknown key 'max_bach_size'" % conf in out.stderr
    out = run_f8d(["--config", str(tmp_path / "missing.conf")])
    assert out.returncode == 1 and "cannot read config file" in out.stderr
    out = run_f8d([], env={"F8D_MODELS": "/nonexistent/models", "F8D_PORT": "0"})
    assert out.returncode == 1 and "/nonexistent/models" in out.stderr
    out = run_f8d(["--models", "/tmp"], env={"F8D_TIMEOUT": "-5"})
    assert out.returncode == 1 and "F8D_TIMEOUT" in out.stderr


def test_shipped_config_runs(model_file):
    """config/f8d.conf (every key at its default) plus --models and --port starts."""
    from f8d_process import REPO
    d = models_dir()
    daemon = Daemon(d, "--config", os.path.join(REPO, "config", "f8d.conf"))
    try:
        daemon.wait_ready()
        status, _, _ = daemon.request("GET", "/v2/health/ready")
        assert status == 200
    finally:
        rc = daemon.stop()
        shutil.rmtree(d, ignore_errors=True)
    assert rc == 0, daemon.stderr


def test_per_model_config_sections(model_file, fashion_test_set):
    """[model NAME] sections give one model its own batching; the others keep the global
    keys, across a reload too."""
    images, _ = fashion_test_set
    d = models_dir(("fashion", "small"))
    conf = os.path.join(d, "f8d.conf")
    with open(conf, "w") as f:
        f.write("max_batch_size = 6\nmax_queue = 40\n\n[model small]\nmax_batch_size = 2\n"
                "max_queue_delay_us = 1000\n\n[model absent]\nmax_queue = 3\n")
    daemon = Daemon(d, "--config", conf)
    try:
        daemon.wait_ready()

        def params(name):
            status, _, meta = daemon.request("GET", "/v2/models/" + name)
            assert status == 200
            return meta["parameters"]

        for _ in range(2):
            p = params("small")
            assert (p["max_batch_size"], p["max_queue"], p["max_queue_delay_us"]) == (2, 40, 1000)
            p = params("fashion")
            assert (p["max_batch_size"], p["max_queue"], p["max_queue_delay_us"]) == (6, 40, 0)
            status, _, _ = daemon.request("POST", "/v2/repository/reload")
            assert status == 200
        status, _, answer = daemon.request("POST", "/predictions/small",
                                           body=fmnist.to_jpeg(images[0]))
        assert status == 200 and answer["model"] == "small"
        rc = daemon.stop()
    finally:
        daemon.stop()
        shutil.rmtree(d, ignore_errors=True)
    assert rc == 0, daemon.stderr
    assert "[model absent] names no model" in daemon.stderr
    assert not daemon.sanitizer_reports(), daemon.stderr

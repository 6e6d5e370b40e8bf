"""Startup errors (exit 1 with a clear message), --help, and clean shutdown (exit 0) that
answers what was accepted."""

import http.client
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest
from PIL import Image

import fmnist
from f8d_process import Daemon, F8D_BIN, models_dir


def run_f8d(*args, timeout=30):
    return subprocess.run([F8D_BIN] + list(args), capture_output=True, timeout=timeout,
                          text=True)


def test_help():
    out = run_f8d("--help")
    assert out.returncode == 0
    for flag in ("--models", "--port", "--host", "--threads", "--max-body-bytes"):
        assert flag in out.stdout


def test_bad_arguments():
    out = run_f8d("--port", "80")  # no --models
    assert out.returncode == 1
    assert "--models" in out.stderr
    out = run_f8d("--models", "x", "--port", "notaport")
    assert out.returncode == 1
    assert "--port" in out.stderr


def test_missing_and_empty_models_dir():
    out = run_f8d("--models", "/nonexistent/f8d-models", "--port", "0")
    assert out.returncode == 1
    assert "/nonexistent/f8d-models" in out.stderr
    d = tempfile.mkdtemp()
    try:
        out = run_f8d("--models", d, "--port", "0")
        assert out.returncode == 1
        assert "no models" in out.stderr
    finally:
        shutil.rmtree(d)


def test_invalid_model_file(model_file):
    d = models_dir()
    try:
        with open(os.path.join(d, "broken.f8"), "wb") as f:
            f.write(b"F8MODEL\0" + b"\0" * 200)
        out = run_f8d("--models", d, "--port", "0")
        assert out.returncode == 1
        assert "broken.f8" in out.stderr
        # the engine's message follows the file name
        msg = out.stderr.split("broken.f8", 1)[1]
        assert len(msg.strip(": \n")) > 5, out.stderr
    finally:
        shutil.rmtree(d)


def test_port_in_use(model_file):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    d = models_dir()
    try:
        out = run_f8d("--models", d, "--host", "127.0.0.1", "--port", str(port))
        assert out.returncode == 1
        assert "cannot listen" in out.stderr and str(port) in out.stderr
    finally:
        busy.close()
        shutil.rmtree(d)


def test_two_models(model_file):
    d = models_dir(("fashion", "other"))
    daemon = Daemon(d)
    try:
        daemon.wait_ready()
        x, _ = fmnist.load_test_set()
        for name in ("fashion", "other"):
            status, _, answer = daemon.request("POST", "/predictions/" + name,
                                               body=fmnist.to_jpeg(x[0]))
            assert status == 200 and answer["model"] == name
    finally:
        rc = daemon.stop(signal.SIGINT)
        shutil.rmtree(d)
    daemon.assert_clean_exit(rc)


def test_sigterm_finishes_accepted_request(model_file):
    """A request half sent when SIGTERM arrives is still answered; new connections are
    refused; the daemon exits 0."""
    d = models_dir()
    daemon = Daemon(d)
    try:
        daemon.wait_ready()
        x, _ = fmnist.load_test_set()
        jpeg = fmnist.to_jpeg(x[0])
        s = socket.create_connection(("127.0.0.1", daemon.port), timeout=10)
        s.sendall(b"POST /predictions/fashion HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n"
                  % len(jpeg) + jpeg[:100])
        time.sleep(0.3)
        daemon.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while "shutting down" not in daemon.stderr and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "shutting down" in daemon.stderr
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", daemon.port), timeout=2).close()
        s.sendall(jpeg[100:])
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        assert data.startswith(b"HTTP/1.1 200"), data
        assert b'"predictions"' in data
        assert b"Connection: close" in data
    finally:
        rc = daemon.stop()
        shutil.rmtree(d)
    daemon.assert_clean_exit(rc)
    assert "stopped after" in daemon.stderr


def test_sigterm_with_idle_keepalive_connection(model_file):
    """An idle keep-alive connection does not hold the shutdown up."""
    d = models_dir()
    daemon = Daemon(d)
    try:
        daemon.wait_ready()
        conn = daemon.connection()
        status, _, _ = daemon.request("GET", "/v2/health/live", conn=conn)
        assert status == 200
        t0 = time.monotonic()
        rc = daemon.stop()
        assert time.monotonic() - t0 < 5
        conn.close()
    finally:
        daemon.stop()
        shutil.rmtree(d)
    daemon.assert_clean_exit(rc)


def test_sigterm_with_stalled_upload(model_file):
    """A client that stops halfway through its body: the connection times out (--timeout),
    the daemon still exits 0 soon after SIGTERM."""
    d = models_dir()
    daemon = Daemon(d, "--timeout", 1)
    try:
        daemon.wait_ready()
        s = socket.create_connection(("127.0.0.1", daemon.port), timeout=10)
        s.sendall(b"POST /predictions/fashion HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n"
                  b"\xff\xd8\xff")
        time.sleep(0.2)
        t0 = time.monotonic()
        rc = daemon.stop()
        assert time.monotonic() - t0 < 8
        s.close()
    finally:
        daemon.stop()
        shutil.rmtree(d)
    daemon.assert_clean_exit(rc)


def test_max_pixels_and_resize(model_file):
    """A JPEG larger than the model input is resized (200); one over --max-pixels is 422,
    by /predictions and by infer."""
    d = models_dir()
    daemon = Daemon(d, "--max-pixels", 100 * 100)
    try:
        daemon.wait_ready()
        x, _ = fmnist.load_test_set()
        big = Image.fromarray(x[0], mode="L").resize((84, 84), Image.BILINEAR)
        buf = io.BytesIO()
        big.save(buf, format="JPEG", quality=90)
        status, _, answer = daemon.request("POST", "/predictions/fashion", body=buf.getvalue())
        assert status == 200, answer
        assert len(answer["predictions"]) == 5
        huge = Image.fromarray(x[0], mode="L").resize((101, 100), Image.BILINEAR)
        buf = io.BytesIO()
        huge.save(buf, format="JPEG", quality=90)
        status, hdrs, answer = daemon.request("POST", "/predictions/fashion",
                                              body=buf.getvalue())
        assert status == 422, answer
        assert hdrs["content-type"] == "application/json"
        assert "101x100" in answer["error"] and "10000" in answer["error"]
        import base64, json
        body = json.dumps({"inputs": [{"name": "image_bytes", "datatype": "BYTES", "shape": [1],
                                       "data": [base64.b64encode(buf.getvalue()).decode()]}]})
        status, _, answer = daemon.request("POST", "/v2/models/fashion/infer", body=body)
        assert status == 422, answer
    finally:
        rc = daemon.stop()
        shutil.rmtree(d)
    daemon.assert_clean_exit(rc)


def test_sigterm_under_load(model_file):
    """SIGTERM while clients keep sending: every answer that arrives is a complete 200, the
    clients then see the connection closed or refused, and the daemon exits 0."""
    d = models_dir()
    daemon = Daemon(d)
    x, _ = fmnist.load_test_set()
    jpegs = [fmnist.to_jpeg(x[i]) for i in range(16)]
    answered, failures, bad = [], [], []

    def client(t):
        conn = daemon.connection(timeout=20)
        i = t
        while True:
            try:
                status, _, answer = daemon.request("POST", "/predictions/fashion",
                                                   body=jpegs[i % len(jpegs)], conn=conn)
            except (OSError, http.client.HTTPException) as e:
                failures.append(repr(e))
                break
            if status != 200 or len(answer["predictions"]) != 5:
                bad.append((status, answer))
            answered.append(t)
            i += 1
        conn.close()

    try:
        daemon.wait_ready()
        threads = [threading.Thread(target=client, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        time.sleep(0.5)
        rc = daemon.stop()
        for th in threads:
            th.join(30)
    finally:
        daemon.stop()
        shutil.rmtree(d)
    assert rc == 0, daemon.stderr
    assert not bad, bad[:3]
    assert len(answered) > 4
    assert len(failures) == 4  # each client's next request found the daemon gone
    assert not daemon.sanitizer_reports(), daemon.stderr
    assert "of them closed unanswered at shutdown" in daemon.stderr
    assert " 0 of them closed unanswered at shutdown" in daemon.stderr


def test_upload_stalled_past_the_drain_timeout_is_counted(model_file):
    """A request still receiving its body when drain_timeout_ms runs out is closed unanswered,
    and the last log line counts it (the soak's "requests lost" comes from this count)."""
    d = models_dir()
    daemon = Daemon(d, "--timeout", 30, "--body-timeout", 30, "--drain-timeout-ms", 300)
    try:
        daemon.wait_ready()
        s = socket.create_connection(("127.0.0.1", daemon.port), timeout=10)
        s.sendall(b"POST /predictions/fashion HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n"
                  b"\xff\xd8\xff")
        time.sleep(0.3)
        t0 = time.monotonic()
        rc = daemon.stop()
        assert time.monotonic() - t0 < 5
        assert s.recv(100) == b""
        s.close()
    finally:
        daemon.stop()
        shutil.rmtree(d)
    daemon.assert_clean_exit(rc)
    assert "closing 1 open connection(s) that did not finish in time" in daemon.stderr
    assert "(server shut down)" in daemon.stderr
    # the readiness probe and the upload
    assert "stopped after 2 request(s), 1 of them closed unanswered at shutdown" in daemon.stderr


def _has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s6:
            s6.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_several_listen_addresses(model_file):
    """--host lists addresses: one port on each, every one serves, SIGTERM stops them all."""
    d = models_dir()
    daemon = Daemon(d, "--host", "127.0.0.1, ::1")
    try:
        port = daemon.wait_ready()
        line = next(l for l in daemon.lines if "listening on" in l)
        assert "http://127.0.0.1:%d, http://[::1]:%d" % (port, port) in line, line
        x, y = fmnist.load_test_set()
        body = fmnist.to_jpeg(x[0])
        for host in ("127.0.0.1", "::1"):
            c = http.client.HTTPConnection(host, port, timeout=30)
            try:
                status, _, answer = daemon.request("POST", "/predictions/fashion", body=body,
                                                   conn=c)
                assert status == 200, answer
                assert answer["predictions"][0]["index"] == int(y[0])
                status, _, _ = daemon.request("GET", "/v2/health/ready", conn=c)
                assert status == 200
            finally:
                c.close()
        # the port is ours alone on both addresses (no SO_REUSEPORT sharing)
        for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            with socket.socket(family) as other:
                with pytest.raises(OSError):
                    other.bind((host, port))
    finally:
        rc = daemon.stop(signal.SIGTERM)
        shutil.rmtree(d)
    daemon.assert_clean_exit(rc)
    for host in ("127.0.0.1", "::1"):
        with pytest.raises(OSError):
            socket.create_connection((host, port), timeout=2).close()


def test_address_listed_twice_or_taken_by_another_f8d(model_file):
    d = models_dir()
    first = Daemon(d)
    try:
        port = first.wait_ready()
        out = run_f8d("--models", d, "--host", "127.0.0.1", "--port", str(port))
        assert out.returncode == 1
        assert "cannot listen on 127.0.0.1 port %d" % port in out.stderr, out.stderr
        out = run_f8d("--models", d, "--host", "127.0.0.1,127.0.0.1", "--port", "0")
        assert out.returncode == 1
        assert "cannot listen on 127.0.0.1" in out.stderr, out.stderr
        out = run_f8d("--models", d, "--host", " , ", "--port", "0")
        assert out.returncode == 1
        assert "no address to listen on" in out.stderr, out.stderr
        # the first one kept serving
        status, _, _ = first.request("GET", "/v2/health/ready")
        assert status == 200
    finally:
        rc = first.stop(signal.SIGTERM)
        shutil.rmtree(d)
    assert rc == 0, first.stderr


def _free_port(family=socket.AF_INET, host="127.0.0.1"):
    with socket.socket(family) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_listen_address_with_its_own_port(model_file):
    """'ADDR:PORT' / '[V6]:PORT' entries listen on their own port; the others on --port."""
    d = models_dir()
    own = _free_port(socket.AF_INET6, "::1")
    daemon = Daemon(d, "--host", "127.0.0.1, [::1]:%d" % own)
    try:
        port = daemon.wait_ready()
        line = next(l for l in daemon.lines if "listening on" in l)
        assert "http://127.0.0.1:%d, http://[::1]:%d" % (port, own) in line, line
        for host, p in (("127.0.0.1", port), ("::1", own)):
            c = http.client.HTTPConnection(host, p, timeout=30)
            try:
                status, _, _ = daemon.request("GET", "/v2/health/ready", conn=c)
                assert status == 200
            finally:
                c.close()
    finally:
        rc = daemon.stop(signal.SIGTERM)
        shutil.rmtree(d)
    daemon.assert_clean_exit(rc)


def test_bad_listen_entries(model_file):
    d = models_dir()
    try:
        for host, want in (("127.0.0.1:99999", "the port must be a number from 0 to 65535"),
                           ("127.0.0.1:http", "the port must be a number"),
                           ("[::1", "expected [IPv6] or [IPv6]:PORT")):
            out = run_f8d("--models", d, "--host", host, "--port", "0")
            assert out.returncode == 1, host
            assert want in out.stderr, (host, out.stderr)
    finally:
        shutil.rmtree(d)


def test_version():
    out = run_f8d("--version")
    assert out.returncode == 0
    assert re.match(r"f8d \d+\.\d+\.\d+ \(libuv [\d.]+, libmicrohttpd [\d.]+, gRPC core [\d.]+, "
                    r"best kernels \w+\)$", out.stdout.strip()), out.stdout

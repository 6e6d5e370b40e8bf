"""Runs a real f8d binary ($F8D_BIN) on loopback and talks to it."""

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
F8D_BIN = os.environ.get("F8D_BIN", os.path.join(REPO, "build", "asan", "f8d"))
# The shipped model; F8D_TEST_MODEL overrides it (a random model while developing).
MODEL_PATH = os.environ.get("F8D_TEST_MODEL", os.path.join(REPO, "models", "fashion.f8"))

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "SUMMARY: UndefinedBehaviorSanitizer")

LISTENING = re.compile(r"listening on https?://(\S+):(\d+)")


def free_port():
    """A TCP port nothing listens on now (bound and released: taken again by the caller at
    once, so a clash is unlikely)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def models_dir(names=("fashion",), files=None):
    """A temp dir holding a copy of the model under each name, or of each file of `files`
    ({name: path}) when given; the caller removes it."""
    d = tempfile.mkdtemp(prefix="f8d-models-")
    for name, path in (files or {name: MODEL_PATH for name in names}).items():
        shutil.copy(path, os.path.join(d, name + ".f8"))
    return d


@contextlib.contextmanager
def serving(*args, names=("fashion",), files=None, grpc=False, env=None, ssl_context=None,
            binary=None):
    """A ready f8d on a fresh models dir (models_dir(names, files)) with `args`; stopped with
    SIGTERM afterwards, when it must exit 0 with no sanitizer report. With `ssl_context` (an
    f8d serving HTTPS) its connections are HTTPS, verified by it; `binary`: another f8d build
    than $F8D_BIN."""
    d = models_dir(names, files)
    proc = Daemon(d, *args, grpc=grpc, env=env, ssl_context=ssl_context, binary=binary)
    try:
        proc.wait_ready()
        yield proc
    finally:
        rc = proc.stop()
        shutil.rmtree(d, ignore_errors=True)
        proc.assert_clean_exit(rc)


class Daemon:
    """One f8d process. Its stderr is collected line by line on a thread."""

    def __init__(self, models, *args, port=0, env=None, grpc=False, ssl_context=None,
                 binary=None):
        """grpc: serve gRPC too, on a free port (self.grpc_port); else gRPC is off unless args
        name a --grpc-port. ssl_context: the daemon serves HTTPS; connections are verified by
        it."""
        self.ssl_context = ssl_context
        self.argv = [binary or F8D_BIN, "--models", models, "--host", "127.0.0.1", "--port",
                     str(port)]
        self.grpc_port = None
        if grpc:
            self.grpc_port = free_port()
            self.argv += ["--grpc-port", str(self.grpc_port)]
        elif "--grpc-port" not in [str(a) for a in args]:
            self.argv += ["--grpc-port", "0"]
        self.argv += [str(a) for a in args]
        full_env = dict(os.environ)
        full_env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        full_env.update(env or {})
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=full_env)
        self.lines = []
        self.port = None
        self.signalled = False
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._out = []
        self._out_reader = threading.Thread(target=self._read_out, daemon=True)
        self._out_reader.start()

    def _read(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._cond:
                self.lines.append(line)
                m = LISTENING.search(line)
                if m and self.port is None:
                    self.port = int(m.group(2))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _read_out(self):
        for raw in self.proc.stdout:
            self._out.append(raw.decode("utf-8", "replace"))

    @property
    def stderr(self):
        with self._cond:
            return "\n".join(self.lines)

    @property
    def stdout(self):
        return "".join(self._out)

    def wait_listening(self, timeout=30.0):
        """Waits for the startup line; returns the port (None if the process exited)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.port is None and self.proc.poll() is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("f8d did not start listening:\n" + "\n".join(self.lines))
                self._cond.wait(min(left, 0.1))
        return self.port

    def wait_ready(self, timeout=30.0):
        port = self.wait_listening(timeout)
        if port is None:
            raise RuntimeError("f8d exited with %s:\n%s" % (self.proc.poll(), self.stderr))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                status, _, _ = self.request("GET", "/v2/health/ready")
                if status == 200:
                    return port
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError("f8d never became ready:\n" + self.stderr)

    def connection(self, timeout=30.0):
        if self.ssl_context is not None:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=self.ssl_context)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None):
        """(status, headers dict with lower-case names, parsed JSON or raw bytes)."""
        own = conn is None
        c = self.connection() if own else conn
        try:
            c.request(method, path, body=body, headers=headers or {})
            resp = c.getresponse()
            data = resp.read()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
        finally:
            if own:
                c.close()
        if hdrs.get("content-type", "").startswith("application/json"):
            return resp.status, hdrs, json.loads(data)
        return resp.status, hdrs, data

    def send_signal(self, sig=signal.SIGTERM):
        self.signalled = True
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=60.0):
        """Signals the daemon, waits for it; returns the exit code."""
        if self.proc.poll() is None and not self.signalled:
            self.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self._reader.join(10)
        self._out_reader.join(10)
        return rc

    def sanitizer_reports(self):
        return [l for l in self.lines if any(m in l for m in SANITIZER_MARKERS)]

    def assert_clean_exit(self, rc):
        """Exit status rc (what stop() returned) is 0 and ASan/UBSan reported nothing."""
        assert rc == 0, self.stderr
        assert not self.sanitizer_reports(), self.stderr

    def server_errors(self):
        """Request log lines with a 5xx status."""
        return [l for l in self.lines if re.match(r"f8d: [A-Z]+ \S+ 5\d\d ", l)]


def top1_of_each(daemon, model, jpegs, threads=4):
    """POSTs every JPEG to /predictions/{model}?top_k=1 on `threads` keep-alive connections;
    returns (the top-1 index of each, or None, [errors])."""
    predicted = [None] * len(jpegs)
    errors = []

    def client(t):
        conn = daemon.connection(timeout=60)
        try:
            for i in range(t, len(jpegs), threads):
                status, _, answer = daemon.request("POST", "/predictions/%s?top_k=1" % model,
                                                   body=jpegs[i],
                                                   headers={"Content-Type": "image/jpeg"},
                                                   conn=conn)
                if status != 200:
                    errors.append((i, status, answer))
                    continue
                predicted[i] = answer["predictions"][0]["index"]
        except Exception as e:  # noqa: BLE001 - reported to the caller
            errors.append(("client %d" % t, repr(e)))
        finally:
            conn.close()

    workers = [threading.Thread(target=client, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return predicted, errors


def raw_exchange(port, raw, timeout=3.0):
    """Sends raw bytes on a new connection; returns everything the server sends until it
    closes, and whether it closed (False: it kept the connection open past `timeout`)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(raw)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return data, False
            except ConnectionResetError:
                return data, True
            if not chunk:
                return data, True
            data += chunk
    finally:
        s.close()


def raw_responses(data):
    """[(status, headers dict with lower-case names, body)] of the HTTP responses in data."""
    out = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin1").split("\r\n")
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        n = int(hdrs.get("content-length", "0"))
        out.append((int(lines[0].split()[1]), hdrs, rest[:n]))
        data = rest[n:]
    return out

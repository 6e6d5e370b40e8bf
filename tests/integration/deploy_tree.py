"""Helpers for the deployment tests: `make install` into a temp tree, run a program until f8d
says where it listens, and start f8d the way the systemd unit would (its Environment=,
EnvironmentFile= and ExecStart= read from the installed unit)."""

import os
import re
import shlex
import signal
import subprocess
import threading
import time

from f8d_process import LISTENING, REPO


def make_install(*assignments, target="install"):
    """Runs `make install VAR=value...` in the repository; returns its output."""
    out = subprocess.run(["make", "--no-print-directory", "-s", target] + list(assignments),
                         cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=900)
    assert out.returncode == 0, out.stdout.decode(errors="replace")
    return out.stdout.decode(errors="replace")


class Started:
    """A process started until its "listening on" line: .port, .stderr, .stop() (SIGTERM,
    returns the exit status)."""

    def __init__(self, argv, env, timeout=30.0):
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.lines = []
        self.port = None
        got = threading.Event()

        def read():
            for raw in self.proc.stderr:
                line = raw.decode(errors="replace").rstrip("\n")
                self.lines.append(line)
                m = LISTENING.search(line)
                if m and self.port is None:
                    self.port = int(m.group(2))
                    got.set()
            got.set()

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        got.wait(timeout)
        if self.port is None:
            self.stop()
            raise RuntimeError("f8d did not start:\n" + self.stderr)

    @property
    def stderr(self):
        return "\n".join(self.lines)

    def wait_ready(self, timeout=30.0):
        import http.client
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("GET", "/v2/health/ready")
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError("not ready:\n" + self.stderr)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self._reader.join(10)
        return rc


def read_env_file(path):
    """KEY=VALUE lines of a systemd EnvironmentFile (comments, blank lines and one level of
    quotes as systemd reads them)."""
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            key, _, value = line.partition("=")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            env[key.strip()] = value
    return env


def unit_command(unit_path, base_env):
    """(argv, env) that systemd would give ExecStart= of the unit: Environment= lines, then
    EnvironmentFile= (which overrides them), then $VAR split into words and ${VAR} kept
    whole."""
    env = dict(base_env)
    exec_start = None
    with open(unit_path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("Environment="):
                for word in shlex.split(line[len("Environment="):]):
                    k, _, v = word.partition("=")
                    env[k] = v
            elif line.startswith("EnvironmentFile="):
                path = line[len("EnvironmentFile="):]
                optional = path.startswith("-")
                path = path.lstrip("-")
                if os.path.exists(path):
                    env.update(read_env_file(path))
                else:
                    assert optional, path
            elif line.startswith("ExecStart="):
                exec_start = line[len("ExecStart="):]
    assert exec_start is not None
    argv = []
    for word in exec_start.split():
        m = re.fullmatch(r"\$(\w+)", word)
        if m:
            argv += env.get(m.group(1), "").split()
            continue
        m = re.fullmatch(r"\$\{(\w+)\}", word)
        argv.append(env.get(m.group(1), "") if m else word)
    return argv, env

#!/usr/bin/env python3
"""make soak: one f8d (the release build) under a long, mixed load on loopback, and the
figures the reliability issue asks for, written to a results file.

    bench/daemon/soak.py [--f8d build/f8d] [--out bench/SOAK.md] [--scale 1.0]

Traffic (each kind its own wrk process, so every answer's status is checked against what that
kind must get; bench/daemon/soak.lua counts them):

    predict    POST /predictions/fashion, a Fashion-MNIST JPEG          200
    kserve     POST /v2/models/fashion/infer, 2 base64 JPEGs (JSON)     200
    malformed  the same URL, a truncated JSON body                      400
    unknown    POST /predictions/nosuch, a JPEG                         404
    corrupt    POST /predictions/fashion, a JPEG whose data is garbage  400
    oversize   POST /predictions/fashion, max_body_bytes + 1 bytes      413

plus two probe clients (Python, one kept-alive connection each, sequential predictions) whose
own latencies give the p99 of accepted (200) requests in every phase, and count any request
written on an open connection that got no answer.

Phases (seconds at --scale 1; about 6 minutes in all):

    warmup    10   predict only
    mixed    100   every kind
    abuse     60   every kind, and beside it: a flood of large KServe bodies (4 JPEGs of
                   1600x1200, 3.4 MB, two clients), abandoned uploads (10 a second: the head and
                   half the body, then close) and slowloris (50 connections trickling a header
                   byte a second, replaced as f8d cuts them at header_timeout)
    reload    60   every kind, SIGHUP every second
    overload  45   every kind, predict on 10x the connections (640 instead of 64) past max_queue:
                   503 with Retry-After expected, the accepted requests' latency bounded
    recovery  30   every kind, as in mixed: only the expected statuses again
    sigterm   10   every kind, then SIGTERM: f8d must exit 0 and answer every request it
                   received (its last log line counts those the shutdown closed unanswered)

RSS (VmRSS) and open file descriptors of f8d are sampled every half second. The exit status is
0 when every check holds. The results file is Markdown (the command, the date, the CPU, the
load average, the figures); the raw figures go to the same name with .json.
"""
import argparse
import base64
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench", "daemon"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import run as daemon_bench  # noqa: E402  (CPU model, load average, photo-like JPEGs)
import fmnist  # noqa: E402

LUA = os.path.join(ROOT, "bench", "daemon", "soak.lua")
MAX_BODY = 4 * 1024 * 1024
MAX_QUEUE = 128
HEADER_TIMEOUT_S = 10
PHASES = [("warmup", 10), ("mixed", 100), ("abuse", 60), ("reload", 60), ("overload", 45),
          ("recovery", 30), ("sigterm", 10)]
# kind: (method, path, content type, payload name, connections, statuses it may get)
KINDS = {
    "predict": ("POST", "/predictions/fashion", "image/jpeg", "jpeg", 48, {200}),
    "kserve": ("POST", "/v2/models/fashion/infer", "application/json", "kserve", 4, {200}),
    "malformed": ("POST", "/v2/models/fashion/infer", "application/json", "malformed", 2,
                  {400}),
    "unknown": ("POST", "/predictions/nosuch", "image/jpeg", "jpeg", 2, {404}),
    "corrupt": ("POST", "/predictions/fashion", "image/jpeg", "corrupt", 2, {400}),
    "oversize": ("POST", "/predictions/fashion", "image/jpeg", "oversize", 1, {413}),
}
OVERLOAD_CONNS = 640


# ---- the daemon ------------------------------------------------------------------------------

class F8d:
    """The f8d under test: its log kept line by line, its memory and descriptors sampled."""

    def __init__(self, binary, models_dir):
        self.argv = [binary, "--models", models_dir, "--host", "127.0.0.1", "--port", "0",
                     "--grpc-port", "0", "--access-log", "off", "--threads", "2", "--max-queue", str(MAX_QUEUE),
                     "--max-connections", "1024", "--max-body-bytes", str(MAX_BODY),
                     "--header-timeout", str(HEADER_TIMEOUT_S), "--drain-delay-ms", "500",
                     "--drain-timeout-ms", "10000"]
        self.p = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True)
        self.lines = []
        self.port = None
        ready = threading.Event()

        def read():
            for line in self.p.stderr:
                self.lines.append(line.rstrip("\n"))
                m = re.search(r"listening on http://\S+:(\d+)", line)
                if m and self.port is None:
                    self.port = int(m.group(1))
                    ready.set()
            ready.set()

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        if not ready.wait(60) or self.port is None:
            raise RuntimeError("f8d did not start:\n" + "\n".join(self.lines))

    def status(self):
        """(VmRSS KiB, VmHWM KiB, open descriptors), or None once it has exited."""
        try:
            with open("/proc/%d/status" % self.p.pid) as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            fds = len(os.listdir("/proc/%d/fd" % self.p.pid))
        except OSError:
            return None
        return (int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0]), fds)

    def count(self, words):
        return sum(words in line for line in self.lines)


class Sampler(threading.Thread):
    """f8d's RSS and descriptors every half second, each sample tagged with the phase."""

    def __init__(self, f8d, phase):
        super().__init__(daemon=True)
        self.f8d, self.phase, self.samples = f8d, phase, []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            s = self.f8d.status()
            if s is None:
                return
            self.samples.append((time.monotonic(), self.phase[0]) + s)
            self.stop.wait(0.5)


# ---- payloads --------------------------------------------------------------------------------

def kserve_body(jpegs):
    return json.dumps({"inputs": [{"name": "image_bytes", "datatype": "BYTES",
                                   "shape": [len(jpegs)],
                                   "data": [base64.b64encode(j).decode() for j in jpegs]}],
                       "outputs": [{"name": "probabilities",
                                    "parameters": {"classification": 3}}]}).encode()


def payloads(work):
    """The request bodies, as files (wrk reads them) and bytes (the Python clients)."""
    x, _ = fmnist.load_test_set()
    jpeg = fmnist.to_jpeg(x[0])
    photo = os.path.join(work, "photo.jpg")
    daemon_bench.photo_jpeg(photo, 1600, 1200)
    with open(photo, "rb") as f:
        big = f.read()
    bodies = {
        "jpeg": jpeg,
        "kserve": kserve_body([fmnist.to_jpeg(x[1]), fmnist.to_jpeg(x[2])]),
        "malformed": kserve_body([jpeg])[:-7],
        "corrupt": jpeg[:20] + bytes(range(256)) * 4,
        "oversize": b"\xff" * (MAX_BODY + 1),
        "flood": kserve_body([big] * 4),
    }
    files = {}
    for name, data in bodies.items():
        files[name] = os.path.join(work, name + ".bin")
        with open(files[name], "wb") as f:
            f.write(data)
    return bodies, files


# ---- wrk -------------------------------------------------------------------------------------

def start_wrk(port, kind, files, seconds, conns=None):
    method, path, ctype, payload, default_conns, _ = KINDS[kind]
    env = dict(os.environ, SOAK_METHOD=method, SOAK_PATH=path, SOAK_CTYPE=ctype,
               SOAK_BODY=files[payload])
    c = conns or default_conns
    threads = 2 if c >= 64 else 1
    argv = ["wrk", "-t", str(threads), "-c", str(c), "-d", "%ds" % max(1, round(seconds)),
            "--timeout", "10s", "-s", LUA, "http://127.0.0.1:%d" % port]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)


def wrk_result(proc, timeout):
    out, _ = proc.communicate(timeout=timeout)
    m = re.search(r"^SOAK (\{.*\})$", out, re.M)
    if m is None:
        raise RuntimeError("wrk gave no SOAK line:\n" + out)
    r = json.loads(m.group(1))
    r["statuses"] = {int(k): v for k, v in r["statuses"].items()}
    return r


# ---- Python clients --------------------------------------------------------------------------

class Probe(threading.Thread):
    """Sequential predictions on one kept-alive connection (a new one only after the server
    closed it): latency and status of each, tagged with the phase. A request written on a
    connection the server had answered on before, without 'Connection: close', that gets no
    answer is counted as unanswered."""

    def __init__(self, port, jpeg, phase):
        super().__init__(daemon=True)
        self.port, self.jpeg, self.phase = port, jpeg, phase
        self.results = []      # (phase, status, seconds, has Retry-After)
        self.unanswered = []   # (phase, error) on an open, served connection
        self.refused = []      # (phase, error) on a new connection
        self.stop = threading.Event()

    def run(self):
        conn, served = None, False
        while not self.stop.is_set():
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                served = False
            t0 = time.monotonic()
            try:
                conn.request("POST", "/predictions/fashion", body=self.jpeg,
                             headers={"Content-Type": "image/jpeg"})
                resp = conn.getresponse()
                resp.read()
            except (OSError, http.client.HTTPException) as e:
                (self.unanswered if served else self.refused).append((self.phase[0], repr(e)))
                conn.close()
                conn = None
                if not served:
                    self.stop.wait(0.05)
                continue
            self.results.append((self.phase[0], resp.status, time.monotonic() - t0,
                                 resp.getheader("Retry-After") is not None))
            served = True
            if resp.will_close:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()


class Flood(threading.Thread):
    """Large KServe bodies back to back (base64 of four 1600x1200 JPEGs)."""

    def __init__(self, port, body):
        super().__init__(daemon=True)
        self.port, self.body = port, body
        self.statuses, self.seconds = {}, []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            t0 = time.monotonic()
            try:
                conn.request("POST", "/v2/models/fashion/infer", body=self.body,
                             headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                self.statuses[resp.status] = self.statuses.get(resp.status, 0) + 1
                self.seconds.append(time.monotonic() - t0)
            except (OSError, http.client.HTTPException) as e:
                self.statuses[repr(e)[:40]] = self.statuses.get(repr(e)[:40], 0) + 1
            finally:
                conn.close()


class Abandon(threading.Thread):
    """Ten uploads a second that send the head and half the body, then close."""

    def __init__(self, port, jpeg):
        super().__init__(daemon=True)
        self.port = port
        self.head = (b"POST /predictions/fashion HTTP/1.1\r\nHost: soak\r\n"
                     b"Content-Type: image/jpeg\r\nContent-Length: 200000\r\n\r\n")
        self.half = (jpeg * (100000 // len(jpeg) + 1))[:100000]
        self.sent, self.failed = 0, 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(0.1):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                    s.sendall(self.head + self.half)
                self.sent += 1
            except OSError:
                self.failed += 1


class Slowloris(threading.Thread):
    """`n` connections each sending one header byte a second; one that f8d closes is replaced.
    Records how long each lived (expected: about header_timeout)."""

    def __init__(self, port, n=50):
        super().__init__(daemon=True)
        self.port, self.n = port, n
        self.lifetimes, self.opened = [], 0
        self.stop = threading.Event()

    def open_one(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.sendall(b"POST /predictions/fashion HTTP/1.1\r\nHost: soak\r\nX-Slow: ")
        s.setblocking(False)
        self.opened += 1
        return [s, time.monotonic()]

    def run(self):
        conns = []
        while not self.stop.is_set():
            while len(conns) < self.n:
                try:
                    conns.append(self.open_one())
                except OSError:
                    break
            for c in list(conns):
                try:
                    if c[0].recv(1) == b"":
                        raise ConnectionResetError
                except BlockingIOError:
                    try:
                        c[0].send(b"x")
                        continue
                    except OSError:
                        pass
                except OSError:
                    pass
                self.lifetimes.append(time.monotonic() - c[1])
                c[0].close()
                conns.remove(c)
            self.stop.wait(1.0)
        for c in conns:
            c[0].close()


# ---- the run ---------------------------------------------------------------------------------

def percentile(values, p):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def run_phase(name, seconds, f8d, files, phase, extra=None):
    """Every kind's wrk for `seconds` (predict only in the warm-up); `extra` runs meanwhile."""
    phase[0] = name
    kinds = ["predict"] if name == "warmup" else list(KINDS)
    procs = {k: start_wrk(f8d.port, k, files, seconds,
                          OVERLOAD_CONNS if (name == "overload" and k == "predict") else None)
             for k in kinds}
    if extra is not None:
        extra()
    return {k: wrk_result(p, seconds + 60) for k, p in procs.items()}


def soak(a):
    work = tempfile.mkdtemp(prefix="f8d-soak-")
    models = os.path.join(work, "models")
    os.makedirs(models)
    shutil.copy(os.path.join(ROOT, "models", "fashion.f8"), os.path.join(models, "fashion.f8"))
    bodies, files = payloads(work)
    phase = ["start"]
    f8d = F8d(a.f8d, models)
    sampler = Sampler(f8d, phase)
    sampler.start()
    probes = [Probe(f8d.port, bodies["jpeg"], phase) for _ in range(2)]
    for p in probes:
        p.start()
    report = {"command": " ".join(sys.argv), "f8d": f8d.argv, "phases": {}, "scale": a.scale}
    abuse = {}
    hups = [0]
    try:
        for name, base_seconds in PHASES:
            seconds = max(2.0, base_seconds * a.scale)
            t0 = time.monotonic()
            print("soak: %s (%.0f s)" % (name, seconds), flush=True)
            if name == "abuse":
                clients = {"flood": [Flood(f8d.port, bodies["flood"]) for _ in range(2)],
                           "abandon": [Abandon(f8d.port, bodies["jpeg"])],
                           "slowloris": [Slowloris(f8d.port)]}
                for group in clients.values():
                    for c in group:
                        c.start()
                res = run_phase(name, seconds, f8d, files, phase)
                for group in clients.values():
                    for c in group:
                        c.stop.set()
                for group in clients.values():
                    for c in group:
                        c.join(90)
                flood_statuses = {}
                for c in clients["flood"]:
                    for k, v in c.statuses.items():
                        flood_statuses[k] = flood_statuses.get(k, 0) + v
                seconds_all = [s for c in clients["flood"] for s in c.seconds]
                slow = clients["slowloris"][0]
                abuse = {"flood_statuses": {str(k): v for k, v in flood_statuses.items()},
                         "flood_p99_s": percentile(seconds_all, 99),
                         "abandoned_sent": clients["abandon"][0].sent,
                         "abandoned_failed": clients["abandon"][0].failed,
                         "slowloris_opened": slow.opened,
                         "slowloris_cut": len(slow.lifetimes),
                         "slowloris_lifetime_median_s": percentile(slow.lifetimes, 50),
                         "slowloris_lifetime_max_s": max(slow.lifetimes or [0])}
            elif name == "reload":
                stop = threading.Event()

                def hup():
                    while not stop.wait(1.0):
                        os.kill(f8d.p.pid, signal.SIGHUP)
                        hups[0] += 1

                t = threading.Thread(target=hup, daemon=True)
                res = run_phase(name, seconds, f8d, files, phase, extra=t.start)
                stop.set()
                t.join()
            elif name == "sigterm":
                res = sigterm_phase(seconds, f8d, files, phase, report)
            else:
                res = run_phase(name, seconds, f8d, files, phase)
            report["phases"][name] = {"seconds": round(time.monotonic() - t0, 1), "wrk": res}
    finally:
        for p in probes:
            p.stop.set()
        if f8d.p.poll() is None:
            f8d.p.kill()
        f8d.p.wait()
        sampler.stop.set()
        for p in probes:
            p.join(40)
        f8d.reader.join(10)
        shutil.rmtree(work, ignore_errors=True)
    report["abuse"] = abuse
    report["reload"] = {"sighup_sent": hups[0], "reloaded": f8d.count("reloaded 1 model(s)"),
                        "failed": f8d.count("reload failed")}
    report["exit_status"] = f8d.p.returncode
    report["log_tail"] = f8d.lines[-6:]
    summarize(report, sampler.samples, probes, f8d)
    return report


def sigterm_phase(seconds, f8d, files, phase, report):
    """Every kind for `seconds`, then SIGTERM while they keep sending; the wrk processes are
    stopped (SIGINT: they print their figures) once f8d has exited."""
    phase[0] = "sigterm"
    procs = {k: start_wrk(f8d.port, k, files, seconds + 120) for k in KINDS}
    time.sleep(seconds)
    t0 = time.monotonic()
    f8d.p.send_signal(signal.SIGTERM)
    f8d.p.wait(120)
    report["sigterm_exit_s"] = round(time.monotonic() - t0, 2)
    time.sleep(0.5)
    for p in procs.values():
        p.send_signal(signal.SIGINT)
    return {k: wrk_result(p, 60) for k, p in procs.items()}


def summarize(report, samples, probes, f8d):
    """RSS, descriptors, accepted latency, lost requests, the checks."""
    mib = lambda kib: round(kib / 1024.0, 1)  # noqa: E731
    by_phase = {}
    for _, ph, rss, hwm, fds in samples:
        by_phase.setdefault(ph, []).append((rss, fds))
    start = [r for r, _ in by_phase.get("mixed", [])][:4] or [samples[0][2]]
    before_stop = [r for r, _ in by_phase.get("recovery", [])][-4:] or [samples[-1][2]]
    def within(ph):
        """RSS growth inside one phase: its last sample against the first after a tenth of it
        (the same load throughout: a leak per request shows here)."""
        v = [r for r, _ in by_phase.get(ph, [])]
        return mib(v[-1] - v[len(v) // 10]) if len(v) >= 4 else None

    rss = {"start_mib": mib(min(start)), "peak_mib": mib(max(s[2] for s in samples)),
           "hwm_mib": mib(samples[-1][3]), "end_mib": mib(before_stop[-1]),
           "growth_mib": mib(before_stop[-1] - min(start)),
           "growth_within_mixed_mib": within("mixed"),
           "growth_within_recovery_mib": within("recovery"),
           "per_phase_max_mib": {ph: mib(max(r for r, _ in v)) for ph, v in by_phase.items()},
           "fds_per_phase_max": {ph: max(f for _, f in v) for ph, v in by_phase.items()},
           "fds_end_of_recovery": by_phase.get("recovery", [(0, 0)])[-1][1],
           "samples": len(samples)}
    report["rss"] = rss
    accepted = {}
    for p in probes:
        for ph, status, secs, retry in p.results:
            a = accepted.setdefault(ph, {"n": 0, "statuses": {}, "ok_ms": [], "503_no_retry": 0})
            a["n"] += 1
            a["statuses"][str(status)] = a["statuses"].get(str(status), 0) + 1
            if status == 200:
                a["ok_ms"].append(secs * 1000.0)
            if status == 503 and not retry:
                a["503_no_retry"] += 1
    for a in accepted.values():
        ms = a.pop("ok_ms")
        a["p50_ms"] = round(percentile(ms, 50), 2) if ms else None
        a["p99_ms"] = round(percentile(ms, 99), 2) if ms else None
        a["max_ms"] = round(max(ms), 2) if ms else None
    report["probe"] = accepted
    unanswered = [u for p in probes for u in p.unanswered]
    report["probe_unanswered"] = unanswered
    m = re.search(r"stopped after (\d+) request\(s\), (\d+) of them closed unanswered",
                  "\n".join(f8d.lines))
    report["server_requests"] = int(m.group(1)) if m else None
    report["lost_server"] = int(m.group(2)) if m else None
    report["lost"] = (report["lost_server"] if m else 1) + len(unanswered)

    checks = []
    for ph, v in report["phases"].items():
        for kind, r in v["wrk"].items():
            allowed = set(KINDS[kind][5])
            if ph == "overload":
                allowed.add(503)
            bad = {c: n for c, n in r["statuses"].items() if c not in allowed}
            checks.append(("%s %s: only %s" % (ph, kind, sorted(allowed)), not bad, bad))
            if r["no_retry_after"]:
                checks.append(("%s %s: every 503 has Retry-After" % (ph, kind), False,
                               r["no_retry_after"]))
    over = report["phases"].get("overload", {}).get("wrk", {}).get("predict")
    if over is not None:
        checks.append(("overload: 503s seen", over["statuses"].get(503, 0) > 0,
                       over["statuses"]))
    checks.append(("probes: every 503 has Retry-After",
                   all(a["503_no_retry"] == 0 for a in accepted.values()), None))
    checks.append(("probes: no unanswered request on a served connection", not unanswered,
                   unanswered[:3]))
    checks.append(("f8d exited 0", report["exit_status"] == 0, report["exit_status"]))
    checks.append(("no request closed unanswered at shutdown", report["lost_server"] == 0,
                   report["lost_server"]))
    # Freed heap stays with the process up to glibc's trim threshold (32 MiB, set in
    # daemon/main.c): the overload's connections leave their buffers there for reuse. A leak
    # grows with the requests instead: the same load for a whole phase must not grow it.
    checks.append(("RSS growth start -> end under the 32 MiB trim threshold",
                   rss["growth_mib"] < 32, rss["growth_mib"]))
    for ph in ("mixed", "recovery"):
        g = rss["growth_within_%s_mib" % ph]
        checks.append(("RSS growth within %s under 2 MiB" % ph, g is not None and g < 2, g))
    if report["abuse"]:
        ab = report["abuse"]
        checks.append(("flood: only 200", set(ab["flood_statuses"]) <= {"200"},
                       ab["flood_statuses"]))
        checks.append(("slowloris cut by header_timeout",
                       ab["slowloris_cut"] > 0 and
                       ab["slowloris_lifetime_max_s"] < HEADER_TIMEOUT_S + 3,
                       ab["slowloris_lifetime_max_s"]))
    checks.append(("reloads all ok", report["reload"]["failed"] == 0, report["reload"]))
    report["checks"] = [{"check": c, "ok": bool(ok), "detail": d} for c, ok, d in checks]
    report["ok"] = all(ok for _, ok, _ in checks)


def markdown(report, a):
    lines = ["# f8d soak (`make soak`)", "",
             "Made by `bench/daemon/soak.py` (%s). Date: %s. CPU: %s, %d CPUs usable; load "
             "average %s when it ended (the host is shared: other jobs ran meanwhile)." %
             (report["command_shown"], report["date"], report["cpu"], report["cpus"],
              report["loadavg"]), "",
             "f8d: `%s`" % " ".join(os.path.basename(x) if x.startswith("/tmp") else x
                                     for x in report["f8d_shown"]), "",
             "## Answers by phase and kind (wrk)", "",
             "wrk's percentiles are corrected for coordinated omission: for an answer slower "
             "than twice the mean interval it adds the answers an open-loop client would have "
             "waited for meanwhile, so one stall of a second moves the p99 of a 30 s phase to "
             "about a second. Its max is the slowest answer actually seen.", "",
             "| phase | s | kind | conns | answers | req/s | statuses | p99 (wrk, all) | max | "
             "socket errors |", "|---|---|---|---|---|---|---|---|---|---|"]
    for ph, v in report["phases"].items():
        for kind, r in v["wrk"].items():
            conns = OVERLOAD_CONNS if (ph == "overload" and kind == "predict") \
                else KINDS[kind][4]
            secs = r["duration_us"] / 1e6 or 1
            errs = ", ".join("%s %d" % (k, n) for k, n in r["errors"].items()
                             if n and k != "status") or "0"  # wrk's "status": answers >= 400
            sts = ", ".join("%d: %d" % (c, n) for c, n in sorted(r["statuses"].items()))
            lines.append("| %s | %s | %s | %d | %d | %.0f | %s | %.1f ms | %.1f ms | %s |" %
                         (ph, v["seconds"], kind, conns, r["answers"], r["answers"] / secs, sts,
                          r["p99_us"] / 1000.0, r["max_us"] / 1000.0, errs))
    lines += ["", "## Accepted requests (the two probe clients, 200 only)", "",
              "| phase | requests | statuses | p50 | p99 | max |", "|---|---|---|---|---|---|"]
    for ph in [p for p, _ in PHASES]:
        if ph in report["probe"]:
            v = report["probe"][ph]
            lines.append("| %s | %d | %s | %s ms | %s ms | %s ms |" % (
                ph, v["n"], ", ".join("%s: %d" % kv for kv in sorted(v["statuses"].items())),
                v["p50_ms"], v["p99_ms"], v["max_ms"]))
    r = report["rss"]
    lines += ["", "## Memory and descriptors", "",
              "RSS after the warm-up %.1f MiB, peak %.1f MiB (VmHWM %.1f), before SIGTERM %.1f "
              "MiB: growth %.1f MiB (%d samples). Within a phase of constant load: %s MiB "
              "(mixed), %s MiB (recovery)." % (r["start_mib"], r["peak_mib"], r["hwm_mib"],
                                               r["end_mib"], r["growth_mib"], r["samples"],
                                               r["growth_within_mixed_mib"],
                                               r["growth_within_recovery_mib"]), "",
              "| phase | RSS max (MiB) | open descriptors max |", "|---|---|---|"]
    for ph in [p for p, _ in PHASES]:
        if ph in r["per_phase_max_mib"]:
            lines.append("| %s | %.1f | %d |" % (ph, r["per_phase_max_mib"][ph],
                                                 r["fds_per_phase_max"][ph]))
    ab, rl = report["abuse"], report["reload"]
    if ab:
        lines += ["", "## Abuse clients (beside the traffic, in the abuse phase)", "",
                  "- flood (2 clients, 3.4 MB KServe bodies of four 1600x1200 JPEGs): %s, "
                  "p99 %.2f s" % (ab["flood_statuses"], ab["flood_p99_s"] or 0),
                  "- abandoned uploads: %d sent (head + half the body, then close), %d could "
                  "not connect" % (ab["abandoned_sent"], ab["abandoned_failed"]),
                  "- slowloris: %d connections opened, %d cut by f8d, lifetime median %.1f s, "
                  "max %.1f s (header_timeout %d s)" % (
                      ab["slowloris_opened"], ab["slowloris_cut"],
                      ab["slowloris_lifetime_median_s"] or 0, ab["slowloris_lifetime_max_s"],
                      HEADER_TIMEOUT_S)]
    lines += ["", "## Reloads and shutdown", "",
              "- SIGHUP sent %d times under load: %d reloads done, %d failed (signals that "
              "arrive during a reload are merged into the next one)" %
              (rl["sighup_sent"], rl["reloaded"], rl["failed"]),
              "- SIGTERM under load: exit status %s after %.2f s; f8d received %s requests in "
              "the whole run, %s of them closed unanswered at shutdown; probe requests "
              "written on a served connection and never answered: %d. **Requests lost: %d**" %
              (report["exit_status"], report.get("sigterm_exit_s", -1),
               report["server_requests"], report["lost_server"],
               len(report["probe_unanswered"]), report["lost"]),
              "", "## Checks", ""]
    for c in report["checks"]:
        lines.append("- %s %s%s" % ("ok  " if c["ok"] else "FAIL", c["check"],
                                    "" if c["ok"] else " (%s)" % (c["detail"],)))
    lines += ["", "Result: %s" % ("every check holds" if report["ok"] else "FAILED"), ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--f8d", default=os.path.join(ROOT, "build", "f8d"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "SOAK.md"))
    ap.add_argument("--scale", type=float, default=1.0,
                    help="phase lengths x this (0.1: a one-minute trial)")
    a = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("soak: wrk is missing (scripts/install-bench-deps.sh)")
    started = datetime.datetime.now(datetime.timezone.utc)
    report = soak(a)
    report["date"] = started.strftime("%Y-%m-%d %H:%M UTC")
    report["cpu"] = daemon_bench.cpu_model()
    report["cpus"] = daemon_bench.cpus()
    report["loadavg"] = open("/proc/loadavg").read().split()[:3]
    report["command_shown"] = daemon_bench.shown([sys.executable] + sys.argv)
    report["f8d_shown"] = [daemon_bench.shown([x]) for x in report["f8d"]]
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        f.write(markdown(report, a))
    with open(os.path.splitext(a.out)[0] + ".json", "w") as f:
        json.dump(report, f, indent=1, default=str)
    print(markdown(report, a))
    sys.exit(0 if report["ok"] else 1)


if __name__ == "__main__":
    main()

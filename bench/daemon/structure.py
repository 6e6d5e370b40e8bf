#!/usr/bin/env python3
"""Two f8d builds side by side: the figures the daemon's structure is judged by.

    bench/daemon/structure.py --base OLD_F8D [--f8d build/f8d] [--only same,memory,...]
                              [--out bench/STRUCTURE.md]

  same        labels and logits of 1,000 Fashion-MNIST test JPEGs through each build's KServe
              infer endpoint: identical?
  throughput  Fashion and ResNet-18 through /predictions at 64 connections (wrk), the two
              builds interleaved round by round (the host's speed drifts: ratios only)
  memory      four ResNet-50s, --threads 2: peak RSS against weights + 2 arenas + 20 MiB,
              after traffic to every model; then a fifth model
  isolation   p50/p99 of small requests (Fashion, 4 connections): quiet, while the models
              directory (with a ResNet-50) is reloaded every second, and while 2 clients
              flood large KServe JSON bodies (UINT8 pixel arrays)

ResNet models are build/zoo/*.f8 (`make zoo`). Writes a Markdown report (the command, the
machine, the date, the figures) to --out.
"""
import argparse
import base64
import datetime
import http.client
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench", "daemon"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import run as daemon_bench  # noqa: E402  (wrk, CPU model, JPEGs)
import fmnist  # noqa: E402

ZOO = os.path.join(ROOT, "build", "zoo")
FASHION = os.path.join(ROOT, "models", "fashion.f8")


class F8d:
    """One f8d on a temp models dir holding `models` ({name: path}, linked)."""

    def __init__(self, binary, models, args):
        self.dir = tempfile.mkdtemp(prefix="f8d-structure-")
        for name, path in models.items():
            os.symlink(os.path.abspath(path), os.path.join(self.dir, name + ".f8"))
        self.argv = [binary, "--models", self.dir, "--host", "127.0.0.1", "--port", "0",
                     "--access-log", "off"] + [str(a) for a in args]
        self.p = subprocess.Popen(self.argv, stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.port = None
        for line in self.p.stderr:
            self.lines.append(line)
            m = re.search(r"listening on http://\S+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            raise RuntimeError("f8d did not start: %s\n%s" % (" ".join(self.argv),
                                                              "".join(self.lines)))
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()
        self.url = "http://127.0.0.1:%d" % self.port

    def _drain(self):
        for line in self.p.stderr:
            self.lines.append(line)

    def add(self, name, path):
        os.symlink(os.path.abspath(path), os.path.join(self.dir, name + ".f8"))

    def status(self, key):
        with open("/proc/%d/status" % self.p.pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0

    def request(self, method, path, body=None, headers=None, timeout=120):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def reload(self):
        status, body = self.request("POST", "/v2/repository/reload")
        assert status == 200, body

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(120)
        shutil.rmtree(self.dir, ignore_errors=True)


def infer_body(jpegs):
    return json.dumps({"inputs": [{"name": "image_bytes", "datatype": "BYTES",
                                   "shape": [len(jpegs)],
                                   "data": [base64.b64encode(j).decode() for j in jpegs]}],
                       "outputs": [{"name": "logits"}]})


# ---- same answers ------------------------------------------------------------------------

def same(a, report):
    images, labels = fmnist.load_test_set()
    jpegs = [fmnist.to_jpeg(images[i]) for i in range(1000)]
    answers = {}
    for tag, binary in (("base", a.base), ("new", a.f8d)):
        d = F8d(binary, {"fashion": FASHION}, ["--threads", 2])
        try:
            got = []
            for i in range(0, len(jpegs), 50):
                status, body = d.request("POST", "/v2/models/fashion/infer",
                                         infer_body(jpegs[i:i + 50]),
                                         {"Content-Type": "application/json"})
                assert status == 200, body
                got += json.loads(body)["outputs"][0]["data"]
            answers[tag] = got
        finally:
            d.stop()
    n = len(jpegs)
    classes = len(answers["new"]) // n
    rows = lambda v: [v[i * classes:(i + 1) * classes] for i in range(n)]  # noqa: E731
    base, new = rows(answers["base"]), rows(answers["new"])
    same_logits = sum(b == w for b, w in zip(base, new))
    label = lambda r: max(range(classes), key=lambda k: (r[k], -k))  # noqa: E731
    same_labels = sum(label(b) == label(w) for b, w in zip(base, new))
    correct = sum(label(w) == int(labels[i]) for i, w in enumerate(new))
    report.append("## Same answers\n\n1,000 Fashion-MNIST test images as JPEG (quality 90), "
                  "`POST /v2/models/fashion/infer` (logits, 50 images a request), both builds "
                  "with `--threads 2`: **%d/%d identical logits rows, %d/%d identical labels** "
                  "(accuracy of these 1,000: %.1f%%).\n" % (same_logits, n, same_labels, n,
                                                            correct / n * 100))
    print("same: %d/%d logits, %d/%d labels" % (same_logits, n, same_labels, n), flush=True)


# ---- throughput --------------------------------------------------------------------------

def throughput(a, report):
    work = tempfile.mkdtemp(prefix="f8d-structure-work-")
    try:
        fj = os.path.join(work, "fashion.jpg")
        daemon_bench.fashion_jpeg(fj)
        pj = os.path.join(work, "photo.jpg")
        daemon_bench.photo_jpeg(pj)
        cases = [("fashion", FASHION, fj, 64), ("resnet18", os.path.join(ZOO, "resnet18.f8"),
                                                pj, 8)]
        n = daemon_bench.cpus()
        lines = ["## Throughput at 64 connections\n",
                 "wrk, %d s a point, `POST /predictions/{model}` with one JPEG; each build "
                 "`--threads %d --max-batch-size B --max-queue 1024`; %d rounds, the builds "
                 "alternating within each round; req/s per round, base → new.\n"
                 % (a.duration, n, a.rounds),
                 "| model | B | base req/s (rounds) | new req/s (rounds) | new / base (median) |",
                 "|---|---:|---|---|---:|"]
        for name, path, jpeg, batch in cases:
            if name not in a.models.split(","):
                continue
            if not os.path.exists(path):
                print("throughput: %s missing (make zoo): skipped" % path)
                continue
            got = {"base": [], "new": []}
            for r in range(a.rounds):
                order = (("base", a.base), ("new", a.f8d)) if r % 2 == 0 else \
                    (("new", a.f8d), ("base", a.base))
                for tag, binary in order:
                    d = F8d(binary, {name: path}, ["--threads", n, "--max-batch-size", batch,
                                                   "--max-queue", 1024])
                    try:
                        url = d.url + "/predictions/" + name
                        daemon_bench.run_wrk(url, jpeg, 4, 1, n)  # warm-up
                        res = daemon_bench.run_wrk(url, jpeg, 64, a.duration, n)
                        assert res["non2xx"] == 0 and not res["errors"], res
                        got[tag].append(res["rps"])
                    finally:
                        d.stop()
                print("throughput %s round %d: base %.0f new %.0f" % (
                    name, r, got["base"][-1], got["new"][-1]), flush=True)
            med = lambda v: sorted(v)[len(v) // 2]  # noqa: E731
            lines.append("| %s | %d | %s | %s | **%.3f** |" % (
                name, batch, ", ".join("%.0f" % v for v in got["base"]),
                ", ".join("%.0f" % v for v in got["new"]), med(got["new"]) / med(got["base"])))
        report.append("\n".join(lines) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---- memory ------------------------------------------------------------------------------

def touch_all(d, names, jpeg, conns=4, each=24):
    """Enough concurrent requests to every model that both workers run each of them."""
    def client(name):
        for _ in range(each):
            status, body = d.request("POST", "/predictions/" + name, jpeg,
                                     {"Content-Type": "image/jpeg"})
            assert status == 200, body
    ts = [threading.Thread(target=client, args=(n,)) for n in names for _ in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def arena_mib(lines):
    """Arena bytes the new build logs per model (the largest: each worker holds one)."""
    sizes = [int(m.group(1)) for l in lines for m in [re.search(r"arena (\d+) bytes", l)] if m]
    return max(sizes) / 2**20 if sizes else None


def memory(a, report):
    r50 = os.path.join(ZOO, "resnet50.f8")
    if not os.path.exists(r50):
        print("memory: %s missing (make zoo): skipped" % r50)
        return
    work = tempfile.mkdtemp(prefix="f8d-structure-work-")
    try:
        pj = os.path.join(work, "photo.jpg")
        daemon_bench.photo_jpeg(pj)
        jpeg = open(pj, "rb").read()
        weights_mib = os.path.getsize(r50) / 2**20
        rows = []
        arena = None
        for tag, binary in (("base", a.base), ("new", a.f8d)):
            names = ["r50_%d" % i for i in range(4)]
            d = F8d(binary, {n: r50 for n in names}, ["--threads", 2, "--max-batch-size", 16])
            try:
                touch_all(d, names, jpeg)
                hwm4, rss4 = d.status("VmHWM") / 1024, d.status("VmRSS") / 1024
                if tag == "new":
                    arena = arena_mib(d.lines)
                d.add("r50_4", r50)
                d.reload()
                touch_all(d, names + ["r50_4"], jpeg)
                hwm5, rss5 = d.status("VmHWM") / 1024, d.status("VmRSS") / 1024
            finally:
                d.stop()
            rows.append((tag, hwm4, rss4, hwm5, rss5))
            print("memory %s: 4 models peak %.1f MiB (rss %.1f), 5 models peak %.1f (rss %.1f)"
                  % (tag, hwm4, rss4, hwm5, rss5), flush=True)
        bound = 4 * weights_mib + 2 * (arena or 0) + 20
        lines = ["## Memory: four ResNet-50s, 2 workers\n",
                 "Each build serves four copies of ResNet-50 (`--threads 2 --max-batch-size "
                 "16`), 24 requests from each of 4 clients per model (so both workers run "
                 "every model), then a fifth copy is added and the directory reloaded (the old "
                 "set is freed once idle) and every model served again. The .f8 file is "
                 "%.1f MiB (weights); one worker arena for ResNet-50 at batch 16 is %.1f MiB "
                 "(the new build logs it). Bound: 4 × weights + 2 arenas + 20 MiB = "
                 "**%.1f MiB**.\n" % (weights_mib, arena or 0, bound),
                 "| build | peak RSS, 4 models (MiB) | RSS after (MiB) | peak RSS after the "
                 "5th (MiB) | RSS after (MiB) |", "|---|---:|---:|---:|---:|"]
        for tag, hwm4, rss4, hwm5, rss5 in rows:
            lines.append("| %s | %.1f | %.1f | %.1f | %.1f |" % (tag, hwm4, rss4, hwm5, rss5))
        new = rows[-1]
        lines.append("\nNew build: peak %.1f MiB against the bound %.1f MiB (%s); the fifth "
                     "model added %.1f MiB of steady RSS (its weights: %.1f MiB; the reload "
                     "holds old and new sets at once, hence the higher peak).\n"
                     % (new[1], bound, "met" if new[1] <= bound else "NOT met",
                        new[4] - new[2], weights_mib))
        report.append("\n".join(lines))
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---- isolation ---------------------------------------------------------------------------

def large_body(jpeg, copies):
    """A large base64 KServe request: `copies` copies of a big photo-like JPEG as BYTES (the
    images are decoded, scaled down in the DCT, and run like any other)."""
    return infer_body([jpeg] * copies)


def isolation(a, report):
    """Rounds of (quiet, reloading, flooded) windows per build, the builds alternating: a
    window's p99 swings with the host, so each condition's median over the rounds is kept."""
    r50 = os.path.join(ZOO, "resnet50.f8")
    if not os.path.exists(r50):
        print("isolation: %s missing (make zoo): skipped" % r50)
        return
    work = tempfile.mkdtemp(prefix="f8d-structure-work-")
    conds = ("quiet", "reloading", "flood")
    got = {tag: {c: [] for c in conds} for tag in ("base", "new")}
    try:
        fj = os.path.join(work, "fashion.jpg")
        daemon_bench.fashion_jpeg(fj)
        photo = os.path.join(work, "photo.jpg")
        daemon_bench.photo_jpeg(photo, 1600, 1200)
        big = large_body(open(photo, "rb").read(), 4).encode()
        for r in range(a.rounds):
            order = (("base", a.base), ("new", a.f8d)) if r % 2 == 0 else \
                (("new", a.f8d), ("base", a.base))
            for tag, binary in order:
                d = F8d(binary, {"fashion": FASHION, "flood": FASHION, "resnet50": r50},
                        ["--threads", 2, "--max-queue", 4096])
                url = d.url + "/predictions/fashion"
                stop = threading.Event()

                def reloader():
                    while not stop.is_set():
                        # ResNet-50's file "changes" each time (its mtime): a build that keeps
                        # unchanged models must still load and warm it on every reload
                        os.utime(os.path.realpath(r50), None)
                        d.reload()  # answered when done: one reload after another

                def flooder():
                    while not stop.is_set():
                        status, body = d.request("POST", "/v2/models/flood/infer", big,
                                                 {"Content-Type": "application/json"})
                        if status != 200:
                            raise SystemExit("flood request refused: %d %s" % (status,
                                                                               body[:200]))
                try:
                    daemon_bench.run_wrk(url, fj, 4, 1, 2)  # warm-up
                    got[tag]["quiet"].append(daemon_bench.run_wrk(url, fj, 4, a.duration, 2))
                    for cond, target, n in (("reloading", reloader, 1), ("flood", flooder, 2)):
                        ts = [threading.Thread(target=target) for _ in range(n)]
                        for t in ts:
                            t.start()
                        got[tag][cond].append(daemon_bench.run_wrk(url, fj, 4, a.duration, 2))
                        stop.set()
                        for t in ts:
                            t.join()
                        stop.clear()
                finally:
                    stop.set()
                    d.stop()
                print("isolation %s round %d: p99 quiet %.2f, reloading %.2f, flood %.2f ms" % (
                    tag, r, got[tag]["quiet"][-1]["p99"], got[tag]["reloading"][-1]["p99"],
                    got[tag]["flood"][-1]["p99"]), flush=True)
        med = lambda v: sorted(v)[len(v) // 2]  # noqa: E731
        lines = ["## Isolation: small requests during a reload and a JSON flood\n",
                 "Each build `--threads 2 --max-queue 4096` serves Fashion (twice) and ResNet-50. wrk "
                 "sends one Fashion JPEG per request on 4 connections, %d s a window: quiet; "
                 "while the directory is reloaded back to back (`POST /v2/repository/reload`, ResNet-50's "
                 "file touched before each so that it counts as changed, "
                 "each loads and warms ResNet-50); while 2 clients post KServe JSON bodies of "
                 "%d KiB (4 base64 JPEGs of 1600x1200 photo-like noise, to the second Fashion) "
                 "back to back. "
                 "%d rounds, the builds alternating; medians over the rounds (each round's "
                 "p99 in brackets).\n" % (a.duration, len(big) // 1024, a.rounds),
                 "| build | quiet p50 / p99 ms | reloading p50 / p99 ms | JSON flood p50 / p99 "
                 "ms | reloading p99 / quiet p99 | flood p99 / quiet p99 |",
                 "|---|---|---|---|---:|---:|"]
        for tag in ("base", "new"):
            p50 = {c: med([w["p50"] for w in got[tag][c]]) for c in conds}
            p99 = {c: med([w["p99"] for w in got[tag][c]]) for c in conds}
            each = {c: ", ".join("%.2f" % w["p99"] for w in got[tag][c]) for c in conds}
            lines.append("| %s | %.2f / %.2f (%s) | %.2f / %.2f (%s) | %.2f / %.2f (%s) | "
                         "%.2f | %.2f |" % (
                             tag, p50["quiet"], p99["quiet"], each["quiet"], p50["reloading"],
                             p99["reloading"], each["reloading"], p50["flood"], p99["flood"],
                             each["flood"], p99["reloading"] / p99["quiet"],
                             p99["flood"] / p99["quiet"]))
        report.append("\n".join(lines) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True, help="the f8d build to compare against")
    ap.add_argument("--f8d", default=os.path.join(ROOT, "build", "f8d"))
    ap.add_argument("--only", default="same,throughput,memory,isolation")
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--models", default="fashion,resnet18", help="throughput's models")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "STRUCTURE.md"))
    a = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (scripts/install-bench-deps.sh installs it)")
    report = ["# f8d structure: base build vs new build\n",
              "`%s` on %s: %s, %d CPU(s), Linux %s. Base: `%s`; new: `%s`.\n" % (
                  " ".join(["bench/daemon/structure.py"] + sys.argv[1:]),
                  datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                  daemon_bench.cpu_model(), daemon_bench.cpus(), platform.release(),
                  os.path.relpath(a.base, ROOT) if a.base.startswith(ROOT) else a.base,
                  os.path.relpath(a.f8d, ROOT))]
    steps = {"same": same, "throughput": throughput, "memory": memory, "isolation": isolation}
    for name in a.only.split(","):
        steps[name](a, report)
    with open(a.out, "w") as f:
        f.write("\n".join(report))
    print("wrote %s" % a.out)


if __name__ == "__main__":
    main()

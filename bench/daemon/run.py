#!/usr/bin/env python3
"""f8d under wrk on loopback: requests/s and p50/p99 latency at 1, 16 and 64 connections for
the Fashion model and ResNet-18 (224x224), the images/s the engine alone reaches on the same
model, batch size and cores in the same run, and the section between
<!-- daemon-bench:begin --> and <!-- daemon-bench:end --> of bench/RESULTS.md (the rest of the
file is left as it is).

    bench/daemon/run.py [--f8d build/f8d] [--f8 build/f8] [--duration 10] [--out bench/RESULTS.md]

ResNet-18 is build/zoo/resnet18.f8 when `make zoo` made it, otherwise the synthetic one of
bench/synth_models.py (random weights: the same speed, meaningless classes).
"""
import argparse
import datetime
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BEGIN, END = "<!-- daemon-bench:begin -->", "<!-- daemon-bench:end -->"
LUA = os.path.join(ROOT, "bench", "daemon", "post.lua")


def shown(argv):
    """A command as RESULTS.md prints it: paths inside the checkout relative to its root, so the
    file reads the same on every machine (the commands are run from the root)."""
    return " ".join(os.path.relpath(a, ROOT) if a.startswith(ROOT + os.sep) else a for a in argv)


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def busy_others():
    """Other processes using more than half a CPU right now (ps), to name in the results."""
    out = subprocess.run(["ps", "-eo", "pcpu,comm,args", "--sort=-pcpu"], capture_output=True,
                         text=True).stdout.splitlines()[1:]
    busy = []
    for line in out:
        parts = line.split(None, 2)
        if len(parts) == 3 and float(parts[0]) > 50 and "wrk" not in parts[1] and \
                "f8d" not in parts[1] and "run.py" not in parts[2]:
            busy.append("%s (%s%% CPU)" % (parts[2][:60], parts[0]))
    return busy


def cpus():
    return len(os.sched_getaffinity(0))


def fashion_jpeg(path):
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    import fmnist
    x, _ = fmnist.load_test_set()
    with open(path, "wb") as f:
        f.write(fmnist.to_jpeg(x[0]))


def photo_jpeg(path, w=224, h=224):
    """A 224x224 RGB JPEG (quality 90) with smooth gradients and noise, photo-like in size."""
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 // w, y * 255 // h, (x + y) * 127 // (w + h) + 64], -1)
    img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=90)
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def resnet18(work):
    zoo = os.path.join(ROOT, "build", "zoo", "resnet18.f8")
    if os.path.exists(zoo):
        return zoo, "build/zoo/resnet18.f8 (`make zoo`)"
    out = os.path.join(work, "synth")
    os.makedirs(out, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "trainer"))
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "synth_models.py"), out,
                    "resnet18"], check=True, env=env, stdout=subprocess.DEVNULL)
    return os.path.join(out, "resnet18.f8"), "synthetic (bench/synth_models.py; random weights)"


class F8d:
    def __init__(self, f8d, model_path, name, args):
        self.dir = tempfile.mkdtemp(prefix="f8d-bench-")
        os.symlink(os.path.abspath(model_path), os.path.join(self.dir, name + ".f8"))
        self.argv = [f8d, "--models", self.dir, "--host", "127.0.0.1", "--port", "0",
                     "--access-log", "off", "--grpc-port", "0"] + [str(a) for a in args]
        self.p = subprocess.Popen(self.argv, stderr=subprocess.PIPE, text=True)
        self.port = None
        for line in self.p.stderr:
            m = re.search(r"listening on http://\S+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            raise RuntimeError("f8d did not start: " + " ".join(self.argv))
        self.url = "http://127.0.0.1:%d" % self.port

    def cpu_s(self):
        """User + system CPU seconds the process has used (all its threads)."""
        with open("/proc/%d/stat" % self.p.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self):
        with open("/proc/%d/status" % self.p.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def metrics(self):
        with urllib.request.urlopen(self.url + "/metrics") as r:
            return r.read().decode()

    def stop(self):
        self.p.terminate()
        self.p.wait(60)
        shutil.rmtree(self.dir, ignore_errors=True)


def metric(text, name, model):
    m = re.search(r'^%s\{model="%s"\} (\S+)$' % (re.escape(name), model), text, re.M)
    return float(m.group(1)) if m else 0.0


def to_ms(s):
    m = re.match(r"([\d.]+)(us|ms|s)", s)
    v = float(m.group(1))
    return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v


def run_wrk(url, jpeg, conns, duration, threads):
    t = max(1, min(conns, threads))
    cmd = ["wrk", "-t", str(t), "-c", str(conns), "-d", "%ds" % duration, "--latency",
           "--timeout", "10s", "-s", LUA, url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                         env=dict(os.environ, F8_BENCH_JPEG=jpeg)).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"cmd": shown(cmd), "rps": rps, "p50": p50, "p99": p99,
            "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "errors": errors.group(1).strip() if errors else ""}


def engine_concurrent(f8, model, batch, procs, iters):
    """images/s of `procs` concurrent single-threaded runners at `batch`, summed."""
    cmd = [f8, "bench", model, "--batch", str(batch), "--threads", "1", "--iters", str(iters)]
    ps = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(procs)]
    return sum(json.loads(p.communicate()[0].strip().splitlines()[-1])["images_per_s"]
               for p in ps)


def engine_only(f8, model, batch, procs, iters):
    """images/s of `procs` concurrent single-threaded runners at `batch` (what the daemon's
    instances do), summed; plus one runner using every CPU."""
    cmd = [f8, "bench", model, "--batch", str(batch), "--threads", "1", "--iters", str(iters)]
    alone = json.loads(subprocess.run(cmd, capture_output=True, text=True,
                                      check=True).stdout.strip().splitlines()[-1])["images_per_s"]
    ps = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(procs)]
    total = 0.0
    for p in ps:
        out, _ = p.communicate()
        total += json.loads(out.strip().splitlines()[-1])["images_per_s"]
    cmd_mt = [f8, "bench", model, "--batch", str(batch), "--threads", str(procs),
              "--iters", str(iters)]
    mt = json.loads(subprocess.run(cmd_mt, capture_output=True, text=True,
                                   check=True).stdout.strip().splitlines()[-1])
    return total, mt["images_per_s"], mt.get("isa", "?"), shown(cmd), shown(cmd_mt), alone


def bench_model(a, name, model_path, source, jpeg, batch, delay_us, iters):
    n = cpus()
    print("daemon bench: %s (%s), batch %d" % (name, source, batch), flush=True)
    load0, others = loadavg(), busy_others()
    eng_before = engine_only(a.f8, model_path, batch, n, iters)
    b1 = json.loads(subprocess.run([a.f8, "bench", model_path, "--batch", "1", "--threads", "1",
                                    "--iters", str(iters)], capture_output=True, text=True,
                                   check=True).stdout.strip().splitlines()[-1])["images_per_s"]
    # a lone image on every CPU: the latency f8d's 1-connection p50 is held to (issue 17)
    b1_mt_cmd = [a.f8, "bench", model_path, "--batch", "1", "--threads", str(n), "--iters",
                 str(iters * 4)]
    b1_mt_ms = []
    d = F8d(a.f8d, model_path, name, ["--threads", n, "--max-batch-size", batch,
                                        "--max-queue-delay-us", delay_us, "--max-queue", 1024])
    rows = []
    try:
        url = d.url + "/predictions/" + name
        run_wrk(url, jpeg, 1, 1, n)  # warm-up
        for c in a.connections:
            # the engine alone right before and after each point (f8d idle meanwhile): the
            # ratio stays fair when other work on the machine comes and goes
            e0 = engine_concurrent(a.f8, model_path, batch, n, iters)
            if c == 1:
                b1_mt_ms.append(json.loads(subprocess.run(
                    b1_mt_cmd, capture_output=True, text=True, check=True
                ).stdout.strip().splitlines()[-1])["ms_per_batch"])
            before = d.metrics()
            rss0 = d.rss_kib()
            cpu0 = d.cpu_s()
            r = run_wrk(url, jpeg, c, a.duration, n)
            cpu1 = d.cpu_s()
            after = d.metrics()
            r["engine"] = (e0 + engine_concurrent(a.f8, model_path, batch, n, iters)) / 2
            if c == 1:
                b1_mt_ms.append(json.loads(subprocess.run(
                    b1_mt_cmd, capture_output=True, text=True, check=True
                ).stdout.strip().splitlines()[-1])["ms_per_batch"])
            r["rss"] = (rss0, d.rss_kib())
            batches = metric(after, "f8d_batch_size_count", name) - \
                metric(before, "f8d_batch_size_count", name)
            images = metric(after, "f8d_batch_size_sum", name) - \
                metric(before, "f8d_batch_size_sum", name)
            r["mean_batch"] = images / batches if batches else 0.0
            # f8d's CPU per request outside the engine: the process's CPU time minus the
            # engine runs' time (compute histogram sum), over the requests answered (issue 17)
            engine_s = metric(after, "f8d_compute_duration_seconds_sum", name) - \
                metric(before, "f8d_compute_duration_seconds_sum", name)
            answered = r["rps"] * a.duration
            r["outside_us"] = 1e6 * max(cpu1 - cpu0 - engine_s, 0.0) / answered \
                if answered else 0.0
            r["conns"] = c
            rows.append(r)
            print("  %3d connections: %9.1f req/s  p50 %7.2f ms  p99 %7.2f ms  mean batch %.1f"
                  "  (engine alone %.1f images/s)"
                  % (c, r["rps"], r["p50"], r["p99"], r["mean_batch"], r["engine"]), flush=True)
    finally:
        d.stop()
    # the engine alone again: the mean of before and after evens out drifting machine load
    eng_after = engine_only(a.f8, model_path, batch, n, iters)
    eng_sum, eng_mt = (eng_before[0] + eng_after[0]) / 2, (eng_before[1] + eng_after[1]) / 2
    isa, ecmd, ecmd_mt = eng_before[2:5]
    eng_alone = (eng_before[5] + eng_after[5]) / 2
    print("  engine alone: %.1f images/s (%.1f before, %.1f after the daemon)"
          % (eng_sum, eng_before[0], eng_after[0]), flush=True)
    return {"name": name, "source": source, "batch": batch, "delay_us": delay_us,
            "argv": shown(d.argv), "rows": rows, "engine_sum": eng_sum,
            "engine_mt": eng_mt, "isa": isa, "ecmd": ecmd, "ecmd_mt": ecmd_mt,
            "jpeg_bytes": os.path.getsize(jpeg), "load": (load0, loadavg()), "others": others,
            "engine_runs": (eng_before[0], eng_after[0]), "engine_alone": eng_alone,
            "engine_b1": b1,
            "engine_b1_mt_ms": sum(b1_mt_ms) / len(b1_mt_ms) if b1_mt_ms else 0.0,
            "b1_mt_cmd": shown(b1_mt_cmd)}


def section(results, a):
    n = cpus()
    L = [BEGIN, "## Daemon (f8d under wrk, loopback)", "",
         "Written by `make bench` (`bench/daemon/run.py`) on %s: %s, %d CPU(s) usable, "
         "Linux %s. wrk runs on the same CPUs as f8d (its load is in the numbers). f8d: "
         "release build, `--threads %d` (one single-threaded engine instance per CPU), "
         "access log off; every request POSTs one JPEG to `/predictions/{model}`; %d s per "
         "point." % (datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                     cpu_model(), n, platform.release(), n, a.duration), ""]
    for r in results:
        L += ["### %s (%s), JPEG of %d bytes, max_batch_size %d" % (
            r["name"], r["source"], r["jpeg_bytes"], r["batch"]), "",
            "| connections | requests/s = images/s | p50 ms | p99 ms | mean batch | engine alone, images/s | f8d / engine | f8d CPU µs/request outside the engine | f8d RSS MiB | errors |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
        for row in r["rows"]:
            err = "none" if not row["non2xx"] and not row["errors"] else \
                "%d non-2xx %s" % (row["non2xx"], row["errors"])
            L.append("| %d | %.0f | %.2f | %.2f | %.1f | %.0f | %.0f%% | %.0f | %.1f → %.1f | %s |" % (
                row["conns"], row["rps"], row["p50"], row["p99"], row["mean_batch"],
                row["engine"], 100 * row["rps"] / row["engine"], row.get("outside_us", 0),
                row["rss"][0] / 1024, row["rss"][1] / 1024, err))
        last, first = r["rows"][-1], r["rows"][0]
        note = "Load average %.2f before, %.2f after" % r["load"]
        if r["others"]:
            note += "; also running on this machine: " + ", ".join(r["others"])
        L += ["", note + "."]
        L += ["", "Engine alone over the whole model run, same model and batch (%s): %.0f images/s from %d concurrent "
              "single-threaded runners (what f8d's instances do; mean of %.0f measured before "
              "and %.0f after the daemon); %.0f images/s from one runner with %d threads; "
              "%.0f images/s from one single-threaded runner alone (so %d CPUs give %.2f× one)."
              % (r["isa"], r["engine_sum"], n, r["engine_runs"][0], r["engine_runs"][1],
                 r["engine_mt"], n, r["engine_alone"], n, r["engine_sum"] / r["engine_alone"]),
              "One single-threaded runner at batch 1: %.0f images/s (batch %d gains %.2f× over "
              "batch 1 in the engine itself)." % (r["engine_b1"], r["batch"],
                                                   r["engine_alone"] / r["engine_b1"]),
              "A lone image on all %d CPUs in the engine (`%s`, before and after the "
              "1-connection point): %.2f ms; f8d's p50 at 1 connection: %.2f ms, **%.2f×** "
              "that." % (n, r["b1_mt_cmd"], r["engine_b1_mt_ms"], first["p50"],
                         first["p50"] / r["engine_b1_mt_ms"] if r["engine_b1_mt_ms"] else 0),
              "Daemon at %d connections: **%.0f%%** of the engine-alone images/s measured "
              "around that point; %d vs 1 connection: **%.2f×** the images/s." % (
                  last["conns"], 100 * last["rps"] / last["engine"], last["conns"],
                  last["rps"] / first["rps"]), ""]
    L += ["Commands:", "", "```"]
    for r in results:
        L.append(r["argv"].replace(tempfile.gettempdir() + "/", "$TMP/"))
        L += sorted({row["cmd"] for row in r["rows"]})
        L += [r["ecmd"] + "   # x%d at once" % n, r["ecmd_mt"]]
    L += ["```", END]
    return "\n".join(L)


def write_section(path, text, begin=BEGIN, end=END):
    """Replaces the part of `path` between the markers with text (appends it if absent)."""
    old = open(path).read() if os.path.exists(path) else ""
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        tail = rest.split(end, 1)[1]
        new = head + text + tail
    else:
        new = old + ("\n" if old and not old.endswith("\n") else "") + \
            ("\n" if old else "") + text + "\n"
    with open(path, "w") as f:
        f.write(new)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--f8d", default=os.path.join(ROOT, "build", "f8d"))
    ap.add_argument("--f8", default=os.path.join(ROOT, "build", "f8"))
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", default="1,16,64")
    ap.add_argument("--models", default="fashion,resnet18")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "RESULTS.md"))
    a = ap.parse_args()
    a.connections = [int(c) for c in a.connections.split(",")]
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (scripts/install-bench-deps.sh installs it)")
    work = tempfile.mkdtemp(prefix="f8d-bench-work-")
    results = []
    try:
        if "fashion" in a.models:
            jpeg = os.path.join(work, "fashion.jpg")
            fashion_jpeg(jpeg)
            results.append(bench_model(a, "fashion", os.path.join(ROOT, "models", "fashion.f8"),
                                       "models/fashion.f8", jpeg, 64, 0, 1000))
        if "resnet18" in a.models:
            path, source = resnet18(work)
            jpeg = os.path.join(work, "photo.jpg")
            photo_jpeg(jpeg)
            results.append(bench_model(a, "resnet18", path, source, jpeg, 8, 0, 30))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_section(a.out, section(results, a))
    print("daemon bench: wrote its section of %s" % a.out)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""gRPC beside REST on one f8d: calls/s and p50/p99 latency at 1, 16 and 64 concurrent
streams (gRPC, bench/grpc_load.c) and connections (REST, wrk POSTing the JPEG to
/predictions/{model}), for the Fashion model and ResNet-18, in interleaved rounds on the same
daemon (REST then gRPC, then gRPC then REST, ...), so that both see the same machine. Writes
the section between <!-- grpc-bench:begin --> and <!-- grpc-bench:end --> of
bench/RESULTS.md.

    bench/daemon/grpc_vs_rest.py [--f8d build/f8d] [--grpc-load build/bench/grpc_load]
        [--duration 5] [--rounds 2] [--out bench/RESULTS.md]

Both send one JPEG per call and get the best class back (REST: top-1 JSON; gRPC: ModelInfer
with a BYTES input and "classification" 1).
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import run as daemon_bench  # noqa: E402  (bench/daemon/run.py: F8d, wrk, JPEGs, models)

ROOT = daemon_bench.ROOT
BEGIN, END = "<!-- grpc-bench:begin -->", "<!-- grpc-bench:end -->"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_grpc(tool, port, name, jpeg, streams, duration):
    cmd = [tool, "--target", "127.0.0.1:%d" % port, "--model", name, "--jpeg", jpeg,
           "--streams", str(streams), "--duration", str(duration)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return {"cmd": daemon_bench.shown(cmd), "rps": r["rps"], "p50": r["p50_ms"],
            "p99": r["p99_ms"], "errors": r["errors"]}


def bench_model(a, name, model_path, source, jpeg, batch):
    n = daemon_bench.cpus()
    load0, others = daemon_bench.loadavg(), daemon_bench.busy_others()
    gport = free_port()
    d = daemon_bench.F8d(a.f8d, model_path, name,
                         ["--threads", n, "--max-batch-size", batch, "--max-queue", 1024,
                          "--grpc-port", gport, "--grpc-max-streams", 256])
    rows = []
    try:
        url = d.url + "/predictions/" + name
        daemon_bench.run_wrk(url, jpeg, 1, 1, n)  # warm-up, both protocols
        run_grpc(a.grpc_load, gport, name, jpeg, 1, 1)
        for c in a.streams:
            rest, grpc = [], []
            for rnd in range(a.rounds):
                order = ("rest", "grpc") if rnd % 2 == 0 else ("grpc", "rest")
                for proto in order:
                    if proto == "rest":
                        rest.append(daemon_bench.run_wrk(url, jpeg, c, a.duration, n))
                    else:
                        grpc.append(run_grpc(a.grpc_load, gport, name, jpeg, c, a.duration))
            row = {"streams": c, "rest": rest, "grpc": grpc,
                   "rest_rps": statistics.median(r["rps"] for r in rest),
                   "grpc_rps": statistics.median(r["rps"] for r in grpc),
                   "rest_p50": statistics.median(r["p50"] for r in rest),
                   "grpc_p50": statistics.median(r["p50"] for r in grpc),
                   "rest_p99": statistics.median(r["p99"] for r in rest),
                   "grpc_p99": statistics.median(r["p99"] for r in grpc),
                   "errors": sum(r["non2xx"] for r in rest) + sum(r["errors"] for r in grpc)}
            rows.append(row)
            print("  %s %3d: REST %8.1f/s p50 %6.2f p99 %6.2f | gRPC %8.1f/s p50 %6.2f p99 "
                  "%6.2f | gRPC/REST %.3f" % (name, c, row["rest_rps"], row["rest_p50"],
                                              row["rest_p99"], row["grpc_rps"], row["grpc_p50"],
                                              row["grpc_p99"],
                                              row["grpc_rps"] / row["rest_rps"]), flush=True)
    finally:
        d.stop()
    return {"name": name, "source": source, "batch": batch, "rows": rows,
            "argv": daemon_bench.shown(d.argv), "jpeg_bytes": os.path.getsize(jpeg),
            "load": (load0, daemon_bench.loadavg()), "others": others}


def section(results, a):
    n = daemon_bench.cpus()
    L = [BEGIN, "## gRPC beside REST (one f8d, loopback)", "",
         "Written by `make bench` (`bench/daemon/grpc_vs_rest.py`) on %s: %s, %d CPU(s) "
         "usable, Linux %s. One release f8d per model (`--threads %d`); each point is the "
         "median of %d interleaved rounds of %d s per protocol (REST then gRPC, then gRPC then "
         "REST). REST: wrk, one connection per client, POST of the JPEG to "
         "`/predictions/{model}`. gRPC: `build/bench/grpc_load`, one call in flight per stream, "
         "16 streams per HTTP/2 connection, ModelInfer with the JPEG as a BYTES input and "
         "classification 1. The load clients run on the same CPUs as f8d." % (
             datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
             daemon_bench.cpu_model(), n, platform.release(), n, a.rounds, a.duration), ""]
    for r in results:
        L += ["### %s (%s), JPEG of %d bytes, max_batch_size %d" % (
            r["name"], r["source"], r["jpeg_bytes"], r["batch"]), "",
            "| streams / connections | REST calls/s | gRPC calls/s | gRPC / REST | REST p50 ms | gRPC p50 ms | REST p99 ms | gRPC p99 ms | errors |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for row in r["rows"]:
            L.append("| %d | %.0f | %.0f | **%.3f** | %.2f | %.2f | %.2f | %.2f | %d |" % (
                row["streams"], row["rest_rps"], row["grpc_rps"],
                row["grpc_rps"] / row["rest_rps"], row["rest_p50"], row["grpc_p50"],
                row["rest_p99"], row["grpc_p99"], row["errors"]))
        note = "Load average %.2f before, %.2f after" % r["load"]
        if r["others"]:
            note += "; also running on this machine: " + ", ".join(r["others"])
        L += ["", note + ".", ""]
    L += ["Commands:", "", "```"]
    for r in results:
        L.append(r["argv"].replace(tempfile.gettempdir() + "/", "$TMP/"))
        for row in r["rows"]:
            L += [row["rest"][0]["cmd"].replace(tempfile.gettempdir() + "/", "$TMP/"),
                  row["grpc"][0]["cmd"].replace(tempfile.gettempdir() + "/", "$TMP/")]
    L += ["```", END]
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--f8d", default=os.path.join(ROOT, "build", "f8d"))
    ap.add_argument("--grpc-load", default=os.path.join(ROOT, "build", "bench", "grpc_load"))
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--streams", default="1,16,64")
    ap.add_argument("--models", default="fashion,resnet18")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "RESULTS.md"))
    a = ap.parse_args()
    a.streams = [int(c) for c in a.streams.split(",")]
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (scripts/install-bench-deps.sh installs it)")
    work = tempfile.mkdtemp(prefix="f8d-grpc-bench-")
    results = []
    try:
        if "fashion" in a.models:
            jpeg = os.path.join(work, "fashion.jpg")
            daemon_bench.fashion_jpeg(jpeg)
            results.append(bench_model(a, "fashion", os.path.join(ROOT, "models", "fashion.f8"),
                                       "models/fashion.f8", jpeg, 64))
        if "resnet18" in a.models:
            path, source = daemon_bench.resnet18(work)
            jpeg = os.path.join(work, "photo.jpg")
            daemon_bench.photo_jpeg(jpeg)
            results.append(bench_model(a, "resnet18", path, source, jpeg, 8))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    daemon_bench.write_section(a.out, section(results, a), BEGIN, END)
    print("grpc bench: wrote its section of %s" % a.out)


if __name__ == "__main__":
    main()

"""The PyTorch int8 peer of `f8 bench`: torchvision's quantizable models, fused, prepared,
calibrated on random images and converted with the 'onednn' backend (Debian's torch has no
FBGEMM), timed on a float input with torch.set_num_threads(T).

Runs as a small server so that bench/run_bench.py can interleave it with f8 runs without
rebuilding the model: one JSON command per stdin line, one JSON answer per stdout line.

    {"cmd": "bench", "batch": 16, "threads": 1, "iters": 10}
      -> {"images_per_s", "ms_per_batch" (median), "ms_min", "ms_max", "cpu_ms_per_batch"
          (median process CPU time, all threads), "peak_rss_kib"}

peak_rss_kib is the process's VmHWM since the quantized model was ready (the float model is
freed and the high-water mark reset through /proc/self/clear_refs before any timing), i.e.
what serving the converted model costs.

    /usr/bin/python3 bench/pytorch_int8.py MODEL    (resnet18, resnet50, mobilenet_v2)
"""
import gc
import json
import statistics
import sys
import time

import torch
import torchvision.models.quantization as tq


def vm(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def build(name):
    torch.backends.quantized.engine = "onednn"
    ctor = {"resnet18": tq.resnet18, "resnet50": tq.resnet50, "mobilenet_v2": tq.mobilenet_v2}[name]
    m = ctor(weights=None, quantize=False)
    m.eval()
    m.fuse_model()
    m.qconfig = torch.ao.quantization.get_default_qconfig("onednn")
    torch.ao.quantization.prepare(m, inplace=True)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _ in range(4):
            m(torch.rand(4, 3, 224, 224, generator=g))
    torch.ao.quantization.convert(m, inplace=True)
    return m


def main():
    name = sys.argv[1]
    model = build(name)
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
    except OSError:
        pass
    print(json.dumps({"ready": name, "rss_kib": vm("VmRSS")}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        if req.get("cmd") != "bench":
            print(json.dumps({"error": "unknown command"}), flush=True)
            continue
        batch, threads, iters = req["batch"], req["threads"], req.get("iters", 10)
        torch.set_num_threads(threads)
        x = torch.rand(batch, 3, 224, 224, generator=torch.Generator().manual_seed(1))
        times, cpu = [], []
        try:
            with torch.no_grad():
                for _ in range(2):
                    model(x)
                for _ in range(iters):
                    t0, c0 = time.perf_counter(), time.process_time()
                    model(x)
                    times.append(time.perf_counter() - t0)
                    cpu.append(time.process_time() - c0)
        except RuntimeError as e:  # onednn sometimes fails to build a primitive
            print(json.dumps({"model": name, "batch": batch, "threads": threads,
                              "error": str(e).splitlines()[0]}), flush=True)
            continue
        med = statistics.median(times)
        print(json.dumps({"model": name, "batch": batch, "threads": threads, "iters": iters,
                          "images_per_s": batch / med, "ms_per_batch": med * 1e3,
                          "ms_min": min(times) * 1e3, "ms_max": max(times) * 1e3,
                          "cpu_ms_per_batch": statistics.median(cpu) * 1e3,
                          "peak_rss_kib": vm("VmHWM")}), flush=True)


if __name__ == "__main__":
    main()

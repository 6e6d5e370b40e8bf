"""`make bench`: libf8 against PyTorch's int8 (onednn) side by side, on this machine, in one
run, interleaved; writes its section of bench/RESULTS.md (between the engine-bench markers;
bench/daemon/run.py owns another).

    PYTHONPATH=trainer /usr/bin/python3 bench/run_bench.py [--rounds R] [--quick] [--out PATH]

Models: build/zoo/NAME.f8 when `make zoo` has made them, else synthetic ones in torchvision's
layouts (bench/synth_models.py, built into build/synth/). For every model PyTorch has
(ResNet-18, ResNet-50, MobileNet-V2) and every (batch, threads) in (16,1) (16,2) (1,1) (1,2),
each of R rounds runs one `f8 bench` and then one timing of the PyTorch model (kept loaded in
a bench/pytorch_int8.py server; rounds are outermost, so a configuration's samples spread over
the whole run); the medians over the rounds are compared. The VNNI peak
(bench/vnni_peak) is measured in the same run, before and after.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
F8 = os.path.join(ROOT, "build", "f8")
PAUSE_S = 0.5  # between an f8 run and a PyTorch run (see main)
PEAK = os.path.join(ROOT, "build", "bench", "vnni_peak")
PY = "/usr/bin/python3"
CONFIGS = [(16, 1), (16, 2), (1, 1), (1, 2)]
TORCH_MODELS = ["resnet18", "resnet50", "mobilenet_v2"]
ALL_MODELS = ["resnet18", "resnet50", "mobilenet_v1", "mobilenet_v2"]
TARGET = {"resnet18": 1.1, "resnet50": 1.1, "mobilenet_v2": 1.5}

commands = []


def run(cmd, **kw):
    commands.append(" ".join(cmd))
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def last_json(out):
    return json.loads(out.strip().splitlines()[-1])


def cpu_model():
    """'model name' plus cpuid family/model (VMs often report a bare 'AMD EPYC')."""
    info = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            if ":" in line:
                k, v = (x.strip() for x in line.split(":", 1))
                info.setdefault(k, v)
    name = info.get("model name", platform.processor())
    return f"{name} (cpu family {info.get('cpu family', '?')}, model {info.get('model', '?')})"


def cpu_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                fl = line.split(":", 1)[1].split()
                return [x for x in ("avx2", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                                    "avx_vnni", "amx_int8") if x in fl]
    return []


def peak(threads, reps=3):
    """The larger of the wall-clock and CPU-time rates (a busy host only lowers either), the
    median over reps."""
    def one():
        j = last_json(run([PEAK, "--threads", str(threads), "--seconds", "1"]))
        return max(j["gmacs"], j.get("gmacs_cpu", 0))
    return statistics.median(one() for _ in range(reps))


def model_path(name):
    zoo = os.path.join(ROOT, "build", "zoo", name + ".f8")
    if os.path.exists(zoo):
        return zoo, "zoo"
    synth = os.path.join(ROOT, "build", "synth", name + ".f8")
    if not os.path.exists(synth):
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "trainer"))
        run([PY, os.path.join(ROOT, "bench", "synth_models.py"), os.path.dirname(synth), name],
            env=env)
    return synth, "synthetic"


def f8_bench(path, batch, threads, iters, extra=()):
    out = run([F8, "bench", path, "--batch", str(batch), "--threads", str(threads), "--iters",
               str(iters), *extra])
    return last_json(out), out


class Torch:
    def __init__(self, name):
        self.cmd = [PY, os.path.join(ROOT, "bench", "pytorch_int8.py"), name]
        commands.append(" ".join(self.cmd))
        self.p = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        self.ready = json.loads(self.p.stdout.readline())

    def bench(self, batch, threads, iters):
        self.p.stdin.write(json.dumps({"cmd": "bench", "batch": batch, "threads": threads,
                                       "iters": iters}) + "\n")
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline())

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def rng(rows, key):
    v = [r[key] for r in rows]
    return f"{min(v):.1f}–{max(v):.1f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="1 round, fewer iterations")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "RESULTS.md"))
    args = ap.parse_args()
    rounds = 1 if args.quick else args.rounds
    iters = {16: 3 if args.quick else 6, 1: 10 if args.quick else 30}

    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()
    peak1_before, peak2_before = peak(1), peak(2)
    paths = {n: model_path(n) for n in ALL_MODELS}
    results = {(n, b, t): {"f8": [], "torch": []} for n in ALL_MODELS for b, t in CONFIGS}
    torches = {n: Torch(n) for n in TORCH_MODELS}
    # Rounds outermost: each round runs every configuration once, f8 then PyTorch, so each
    # configuration's samples are spread over the whole run. The host's speed drifts by 10-30%
    # over minutes (other tenants); rounds of one configuration back to back could all land
    # in one slow or fast stretch.
    for rnd in range(rounds):
        for name in ALL_MODELS:
            torch = torches.get(name)
            for batch, threads in CONFIGS:
                key = (name, batch, threads)
                # PyTorch's OpenMP workers keep spinning for a moment after a call (libgomp's
                # GOMP_SPINCOUNT): let them go to sleep before the other side runs, or a
                # 2-thread f8 run shares a core with them.
                time.sleep(PAUSE_S)
                results[key]["f8"].append(f8_bench(paths[name][0], batch, threads,
                                                   iters[batch])[0])
                if torch:
                    time.sleep(PAUSE_S)
                    t = torch.bench(batch, threads, iters[batch])
                    if "error" in t:
                        results[key].setdefault("errors", []).append(t["error"])
                    else:
                        results[key]["torch"].append(t)
                print(f"round {rnd + 1}/{rounds}", name, batch, threads,
                      f"f8 {results[key]['f8'][-1]['images_per_s']:.1f}",
                      f"torch {results[key]['torch'][-1]['images_per_s']:.1f}"
                      if results[key]["torch"] else "", file=sys.stderr, flush=True)
    for torch in torches.values():
        torch.close()
    layers = {n: f8_bench(paths[n][0], 16, 1, iters[16], ["--layers"])[0]["layers"]
              for n in ALL_MODELS}
    other = {}
    for isa, it in (("avx2", 3), ("scalar", 1)):
        other[isa] = f8_bench(paths["resnet18"][0], 1, 1, it, ["--isa", isa])[0]
    other["avx512vnni"] = f8_bench(paths["resnet18"][0], 1, 1, iters[1], ["--isa", "avx512vnni"])[0]
    peak1_after, peak2_after = peak(1), peak(2)
    load_after = os.getloadavg()
    peak1 = statistics.median([peak1_before, peak1_after])
    peak2 = statistics.median([peak2_before, peak2_after])

    L = []
    w = L.append
    w("# libf8 vs PyTorch int8: benchmark results\n")
    w(f"Written by `make bench` (bench/run_bench.py) on {started:%Y-%m-%d %H:%M} UTC.\n")
    w(f"- CPU: **{cpu_model()}**, {os.cpu_count()} logical CPUs; flags: {' '.join(cpu_flags())}")
    w(f"- Kernel path chosen by cpuid: `{results[('resnet18', 16, 1)]['f8'][0]['isa']}`")
    w(f"- Models: " + ", ".join(f"{n} ({paths[n][1]}: `{os.path.relpath(paths[n][0], ROOT)}`)"
                                for n in ALL_MODELS))
    w(f"- PyTorch {subprocess.run([PY, '-c', 'import torch,torchvision;print(torch.__version__, torchvision.__version__)'], capture_output=True, text=True).stdout.strip()}, "
      "backend onednn, torchvision quantizable models fused/prepared/calibrated/converted, "
      "float input, model call timed")
    w(f"- {rounds} round(s); each round runs every configuration once (f8, then PyTorch), so "
      "a configuration's samples are spread over the whole run; medians over rounds of the "
      "per-run median batch time; ranges are min–max over rounds.")
    w(f"- VNNI peak (bench/vnni_peak, 24 chains of vpdpbusd zmm, per second the threads ran): "
      f"**{peak1:.0f} GMAC/s on 1 "
      f"thread, {peak2:.0f} on 2** (before {peak1_before:.0f}/{peak2_before:.0f}, after "
      f"{peak1_after:.0f}/{peak2_after:.0f}).")
    w(f"- Load average before / after the run: {load_before[0]:.2f} / {load_after[0]:.2f} "
      "(other work on the machine makes every figure noisier; the ratios come from runs "
      "interleaved in time).\n")

    w("## Side by side (images/s, higher is better; latency = ms per batch)\n")
    w("Wall-clock figures are what the acceptance asks for; on a shared host they also carry "
      "the other processes' load. The CPU-time ratio (PyTorch's process CPU ms per batch over "
      "f8's, all threads) is immune to being descheduled: with 1 thread it is the speed ratio "
      "on an idle core; with 2 it compares total work. PyTorch's OpenMP threads spin-wait for "
      "each other: on a shared 2-vCPU host where the other vCPU is busy its 2-thread figures "
      "collapse (f8's image-major threads do not wait for each other), so the 2-thread rows "
      "say more about the host than about the kernels; on an idle host both scale about 2×.\n")
    w("| model | batch | threads | f8 img/s | PyTorch img/s | f8 / PyTorch (wall) | f8 / PyTorch (CPU time) | target (wall; CPU) | f8 ms | PyTorch ms | f8 latency / PyTorch | f8 GMAC/s | % of VNNI peak |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (name, batch, threads), r in results.items():
        f = r["f8"]
        fi, fm, fg = med(f, "images_per_s"), med(f, "ms_per_batch"), med(f, "gmacs")
        fc = med(f, "cpu_ms_per_batch")
        pk = peak1 if threads == 1 else peak2
        if r["torch"]:
            t = r["torch"]
            ti, tm, tc = med(t, "images_per_s"), med(t, "ms_per_batch"), med(t, "cpu_ms_per_batch")
            yn = lambda ok: "yes" if ok else "no"
            if batch == 16:
                tgt = (f"≥ {TARGET[name]}×: {yn(fi / ti >= TARGET[name])}; "
                       f"{yn(tc / fc >= TARGET[name])}")
            else:
                tgt = f"latency ≤ 0.8×: {yn(fm / tm <= 0.8)}; {yn(fc / tc <= 0.8)}"
            w(f"| {name} | {batch} | {threads} | {fi:.1f} ({rng(f, 'images_per_s')}) | "
              f"{ti:.1f} ({rng(t, 'images_per_s')}) | **{fi / ti:.2f}×** | **{tc / fc:.2f}×** | "
              f"{tgt} | {fm:.2f} | {tm:.2f} | {fm / tm:.2f} | {fg:.0f} | {100 * fg / pk:.0f}% |")
        else:
            why = "PyTorch failed: " + r["errors"][0] if r.get("errors") else "vs peak only"
            w(f"| {name} | {batch} | {threads} | {fi:.1f} ({rng(f, 'images_per_s')}) | — | — | — | "
              f"{why} | {fm:.2f} | — | — | {fg:.0f} | {100 * fg / pk:.0f}% |")
    w("")
    w("Achieved GMAC/s per CPU second (f8, 1 thread, batch 16), against the 1-thread peak: " +
      ", ".join(f"{n} {r['f8'][0]['gmac_per_image'] * 16 / (med(r['f8'], 'cpu_ms_per_batch') / 1e3):.0f} "
                f"({100 * r['f8'][0]['gmac_per_image'] * 16 / (med(r['f8'], 'cpu_ms_per_batch') / 1e3) / peak1:.0f}%)"
                for (n, b, th), r in results.items() if b == 16 and th == 1) + ".\n")
    # issue 17: batch 16 on 2 threads against 1 (wall clock, medians over the rounds); the
    # target (>= 1.9x) holds only on a quiet host: a busy other vCPU shows here first
    w("2-thread scaling (f8, batch 16, images/s on 2 threads over 1 thread, medians over "
      "rounds; target >= 1.9x on a quiet host): " +
      ", ".join(f"{n} **{med(results[(n, 16, 2)]['f8'], 'images_per_s') / med(r['f8'], 'images_per_s'):.2f}×**"
                for (n, b, th), r in results.items()
                if b == 16 and th == 1 and (n, 16, 2) in results) + ".\n")
    w("## Per layer type (f8, batch 16, 1 thread; GMAC/s and share of the 1-thread VNNI peak)\n")
    types = sorted({t for n in ALL_MODELS for t in layers[n]})
    w("| layer type | " + " | ".join(ALL_MODELS) + " |")
    w("|---|" + "---|" * len(ALL_MODELS))
    for t in types:
        cells = []
        for n in ALL_MODELS:
            v = layers[n].get(t)
            if not v:
                cells.append("—")
            elif v["gmacs"] > 0:
                cells.append(f"{v['ms']:.1f} ms, {v['gmacs']:.0f} GMAC/s ({100 * v['gmacs'] / peak1:.0f}%)")
            else:
                cells.append(f"{v['ms']:.2f} ms")
        w(f"| {t} | " + " | ".join(cells) + " |")
    w("")
    w("## Other kernel paths (ResNet-18, batch 1, 1 thread; identical outputs, see tests)\n")
    w("| path | img/s | ms per image | GMAC/s |")
    w("|---|---|---|---|")
    for isa in ("avx512vnni", "avx2", "scalar"):
        o = other[isa]
        w(f"| {isa} | {o['images_per_s']:.2f} | {o['ms_per_batch']:.1f} | {o['gmacs']:.1f} |")
    w("")
    w("## Memory (peak resident set, ResNet-50, batch 16)\n")
    r = results[("resnet50", 16, 1)]
    fk, tk = med(r["f8"], "peak_rss_kib"), med(r["torch"], "peak_rss_kib")
    w(f"- f8 (whole process, VmHWM): {fk / 1024:.0f} MiB; activation arena "
      f"{r['f8'][0]['arena_bytes'] / 2**20:.1f} MiB")
    w(f"- PyTorch (VmHWM after conversion, float model freed): {tk / 1024:.0f} MiB")
    w(f"- f8 / PyTorch: **{fk / tk:.2f}** (target < 1: {'yes' if fk < tk else 'no'})\n")
    w("## Commands\n")
    w("```")
    seen = set()
    for c in commands:
        c = c.replace(ROOT + "/", "")
        if c not in seen:
            seen.add(c)
            w(c)
    w("```")
    write_section(args.out, BEGIN + "\n" + "\n".join(L) + "\n" + END)
    print(args.out)


BEGIN, END = "<!-- engine-bench:begin -->", "<!-- engine-bench:end -->"


def write_section(path, text):
    """Replaces the engine section of bench/RESULTS.md (between the markers), or puts it first;
    other sections (bench/daemon/run.py's) stay as they are."""
    old = open(path).read() if os.path.exists(path) else ""
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        new = head + text + rest.split(END, 1)[1]
    else:
        new = text + "\n\n" + old if old else text + "\n"
    with open(path, "w") as f:
        f.write(new)


if __name__ == "__main__":
    main()

"""`python3 -m f8train fashion`: FP32 training → BN folding and FL calibration → quantization-
aware fine-tuning → export → integer simulation of the exported file → report.

docs/TRAINING.md describes the recipe and its results.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from typing import Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from . import data, export, fileformat, simulate
from .model import FashionNet
from .randmodel import FASHION_LABELS

# Defaults for the shipped model (docs/TRAINING.md). --quick overrides them for smoke tests.
WIDTHS = (24, 48, 96)  # channels at 28×28, 14×14, 7×7: 12.4 M MACs, 220 k weights
EPOCHS_FP = 40
EPOCHS_Q = 6
BATCH = 128
LR_FP = 0.1          # peak of the one-cycle schedule, SGD + Nesterov momentum 0.9
LR_Q = 0.01          # start of the cosine schedule for quantized fine-tuning
WEIGHT_DECAY = 5e-4  # on conv/dense weights only, not on BN or biases
LABEL_SMOOTHING = 0.1
JPEG_AUG = 0.5       # quantized training: share of images sent through a JPEG round trip
CALIB_BATCHES = 50   # training batches that seed the activation-FL EMA before fine-tuning
QUICK_TRAIN, QUICK_TEST = 4000, 1000
JPEG_QUALITY = 90    # what the daemon's acceptance test sends (tests/integration)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _optimizer(model: FashionNet, lr: float):
    decay = [p for n, p in model.named_parameters() if p.dim() > 1]
    no_decay = [p for n, p in model.named_parameters() if p.dim() <= 1]
    return torch.optim.SGD([{"params": decay, "weight_decay": WEIGHT_DECAY},
                            {"params": no_decay, "weight_decay": 0.0}],
                           lr=lr, momentum=0.9, nesterov=True)


def sgd_step(fwd, opt, sched, xb: torch.Tensor, yb: torch.Tensor,
             label_smoothing: float = 0.0) -> Tuple[float, int]:
    """One optimizer and scheduler step on a batch: (its mean loss, how many it got right)."""
    out = fwd(xb)
    loss = F.cross_entropy(out, yb, label_smoothing=label_smoothing)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    sched.step()
    return float(loss), int((out.argmax(1) == yb).sum())


def train_epochs(model: FashionNet, x: torch.Tensor, y: torch.Tensor, epochs: int, lr: float,
                 gen: torch.Generator, log, warmup: bool, phase: str = "fp32",
                 history: Optional[list] = None, eval_fn=None, ckpt=None, fwd=None,
                 shard=(0, 1), jpeg_p: float = 0.0) -> None:
    """SGD over augmented batches. FP32: one-cycle (warm up then anneal); quantized: cosine
    from `lr` to 0, BN frozen because the fake-quant forward folds it with running stats.
    `history` gets one dict per epoch; `eval_fn()` → test top-1; `ckpt` (a Checkpoint) saves
    after every epoch and, on resume, restores the optimizer and skips finished epochs.
    DDP: `fwd` is the DistributedDataParallel wrapper and `shard` = (rank, world): every rank
    draws and augments the whole batch (so the generators stay in step) and trains on its
    slice; DDP averages the gradients."""
    fwd = model if fwd is None else fwd
    rank, world = shard
    if epochs <= 0:
        return
    history = [] if history is None else history
    opt = _optimizer(model, lr)
    steps_per_epoch = max(1, len(x) // BATCH)
    total = epochs * steps_per_epoch
    if warmup:
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total,
                                                    pct_start=0.2)
    else:
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
    start = ckpt.restore_phase(phase, opt, sched, gen, epochs) if ckpt is not None else 0
    for epoch in range(start, epochs):
        model.train()
        if model.quantized:
            model.freeze_bn()
        t0, loss_sum, correct, seen = time.time(), 0.0, 0, 0
        bar = _progress(steps_per_epoch + 1, f"{phase} {epoch + 1}/{epochs}")
        for idx in data.batches(len(x), BATCH, gen):
            dev = _device_of(model)
            xa, yb = data.augment(x[idx], gen), y[idx]
            if jpeg_p > 0:
                xa = data.jpeg_roundtrip(xa, gen, jpeg_p)
            if world > 1:
                xa, yb = xa[rank::world], yb[rank::world]
            xb = data.to_input(xa).to(dev)
            yb = yb.to(dev)
            loss, right = sgd_step(fwd, opt, sched, xb, yb, LABEL_SMOOTHING)
            loss_sum += loss * len(idx)
            correct += right
            seen += len(idx)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss_sum / seen:.3f}")
        if bar is not None:
            bar.close()
        rec = {"phase": phase, "epoch": epoch + 1, "loss": round(loss_sum / max(seen, 1), 4),
               "train_acc": round(100 * correct / max(seen, 1), 2),
               "seconds": round(time.time() - t0, 1)}
        if eval_fn is not None:
            rec["test_acc"] = round(eval_fn(), 2)
        history.append(rec)
        log(f"  epoch {epoch + 1}/{epochs}: loss {rec['loss']:.4f} train acc "
            f"{rec['train_acc']:.2f}%" + (f" test {rec['test_acc']:.2f}%" if eval_fn else "") +
            f" ({rec['seconds']:.0f} s)")
        if ckpt is not None:
            ckpt.save(phase, epoch + 1, opt, sched, gen, last=epoch + 1 == epochs)


def _progress(total: int, desc: str):
    """A tqdm bar on stderr when tqdm (Debian python3-tqdm) is there and stderr is a terminal."""
    import sys
    if not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, leave=False, unit="batch")


class Checkpoint:
    """One file, rewritten atomically after every epoch: model, optimizer, scheduler, the data
    order generator, the epoch history and the results so far. `resume` continues a run."""

    def __init__(self, path: str, model: FashionNet, state: Dict, resume: bool,
                 write: bool = True):
        self.path, self.model, self.state, self.write = path, model, state, write
        self.saved = (torch.load(path, map_location="cpu") if resume and os.path.exists(path)
                      else None)
        if self.saved is not None:
            # A checkpoint made without --pact resumes with it (the alphas start at s = 1).
            missing, unexpected = model.load_state_dict(self.saved["model"], strict=False)
            if unexpected or any(not k.startswith("alpha.") for k in missing):
                raise ValueError(f"{path}: not a checkpoint of this network "
                                 f"(missing {missing}, unexpected {unexpected})")
            model.quantized = self.saved["quantized"]
            state.update(self.saved["state"])

    def done(self, phase: str) -> bool:
        """The phase finished in the saved run (its results are in `state`)."""
        return self.saved is not None and phase in self.saved["state"].get("finished", [])

    def restore_phase(self, phase, opt, sched, gen, epochs: int) -> int:
        s = self.saved
        if s is None or s["phase"] != phase:
            return 0
        gen.set_state(s["gen"])
        if s["epoch"] < epochs:     # a finished phase needs no optimizer (its params may differ)
            opt.load_state_dict(s["opt"])
            sched.load_state_dict(s["sched"])
        return s["epoch"]

    def save(self, phase, epoch, opt, sched, gen, last: bool = False) -> None:
        """`last` (the end of FP32 training) also keeps a copy at PATH.fp32, from which the
        quantized phase can be rerun with other options (--pact) without retraining FP32."""
        if not self.write:          # DDP: only rank 0 writes
            return
        tmp = self.path + ".tmp"
        torch.save({"model": self.model.state_dict(), "quantized": self.model.quantized,
                    "phase": phase, "epoch": epoch, "opt": opt.state_dict(),
                    "sched": sched.state_dict(), "gen": gen.get_state(), "state": self.state},
                   tmp)
        os.replace(tmp, self.path)
        if last and phase == "fp32":
            import shutil
            shutil.copyfile(self.path, self.path + ".fp32.tmp")
            os.replace(self.path + ".fp32.tmp", self.path + ".fp32")


def _device_of(model) -> torch.device:
    return next(model.parameters()).device


def predict(model, x: torch.Tensor, dtype=torch.float32, batch: int = 1000) -> np.ndarray:
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = data.to_input(x[i:i + batch], dtype).to(_device_of(model))
            out.append(model(xb).argmax(1).cpu())
    return torch.cat(out).numpy()


def calibrate(model: FashionNet, x: torch.Tensor, gen: torch.Generator, batches: int) -> None:
    """Seeds each activation's FL EMA from the FP model with BN folded (eval-mode BN)."""
    model.eval()
    model.calibrating = True
    with torch.no_grad():
        for k, idx in enumerate(data.batches(len(x), BATCH, gen)):
            if k >= batches:
                break
            model(data.to_input(x[idx]).to(_device_of(model)))
    model.calibrating = False


def jpeg_round_trip(images: np.ndarray, quality: int) -> Optional[np.ndarray]:
    """The images after JPEG encoding and decoding (PIL/libjpeg), as the daemon receives them
    from clients; None when PIL is missing. Only reported, never trained on."""
    try:
        import io
        from PIL import Image
    except ImportError:
        return None
    out = np.empty_like(images)
    for i, img in enumerate(images):
        buf = io.BytesIO()
        Image.fromarray(img, mode="L").save(buf, format="JPEG", quality=quality)
        out[i] = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))
    return out


def _calibration_only(model, state, x_te_np, y_te, calib_out, created_by, log) -> None:
    g_cal, _ = export.to_graph(model, [("name", "fashion-calibration-only"),
                                       ("labels", "\n".join(FASHION_LABELS))])
    pred_cal = simulate.top1(simulate.run(g_cal, x_te_np.reshape(-1, 28, 28, 1)))
    state["acc_cal_int"] = 100.0 * float(np.mean(pred_cal == y_te))
    log(f"calibration-only model, integer-simulated top-1 {state['acc_cal_int']:.2f}%")
    if calib_out:
        g_cal.meta += [("description", "Fashion-MNIST, calibration only (no fine-tuning)"),
                       ("created_by", created_by),
                       ("accuracy.fp32", f"{state['acc_fp']:.2f}"),
                       ("accuracy.int", f"{state['acc_cal_int']:.2f}")]
        fileformat.write(g_cal, calib_out + ".tmp")
        os.replace(calib_out + ".tmp", calib_out)


def run(out_path: str, report_path: Optional[str], epochs_fp: int, epochs_q: int, quick: bool,
        seed: int, data_root: str, created_by: str, log=print, widths=WIDTHS,
        checkpoint: Optional[str] = None, resume: bool = False,
        calib_out: Optional[str] = None, pact: bool = False, jpeg_aug: float = JPEG_AUG) -> Dict:
    t_start = time.time()
    torch.set_num_threads(os.cpu_count() or 1)   # torch defaults to 1 thread here
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)

    ds = data.load_fashion(data_root)
    n_train = QUICK_TRAIN if quick else len(ds["train_x"])
    n_test = QUICK_TEST if quick else len(ds["test_x"])
    x_tr = torch.from_numpy(ds["train_x"][:n_train].copy())
    y_tr = torch.from_numpy(ds["train_y"][:n_train].astype(np.int64))
    x_te_np = ds["test_x"][:n_test]
    y_te = ds["test_y"][:n_test].astype(np.int64)
    x_te = torch.from_numpy(x_te_np.copy())

    model = FashionNet(tuple(widths), pact=pact)
    model = model.to(memory_format=torch.channels_last)
    # CPU by default; CUDA when present (or F8TRAIN_DEVICE=cpu|cuda). Export, the float64
    # check and the simulator always run on a CPU copy.
    device = os.environ.get("F8TRAIN_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    # DDP (torchrun sets WORLD_SIZE, RANK, LOCAL_RANK): gloo on CPUs, nccl on GPUs. Every rank
    # trains; rank 0 alone logs, checkpoints, exports and reports.
    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    if world > 1:
        import torch.distributed as dist
        if device == "cuda":
            device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
        if rank:
            log = (lambda *a: None)
    model = model.to(device)
    fwd = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP
        fwd = DDP(model, device_ids=[torch.device(device).index] if device.startswith("cuda")
                  else None, find_unused_parameters=pact)
    log(f"FashionNet: {model.macs() / 1e6:.2f} M MACs/image, "
        f"{sum(p.numel() for p in model.parameters())} parameters; "
        f"{n_train} train / {n_test} test images, {torch.get_num_threads()} threads, {device}")

    state: Dict = {"history": [], "times": {}}
    ckpt = Checkpoint(checkpoint, model, state, resume, write=rank == 0) if checkpoint else None
    history, times = state["history"], state["times"]
    if ckpt is not None and ckpt.saved is not None:
        log(f"resuming {checkpoint}: {ckpt.saved['phase']} epoch {ckpt.saved['epoch']} done")
    eval_every = (lambda: 100.0 * float(np.mean(predict(model, x_te) == y_te))) if rank == 0 \
        else None
    resumed_q = ckpt is not None and ckpt.saved is not None and ckpt.saved["phase"] == "q"

    if not resumed_q:
        log(f"FP32 training, {epochs_fp} epochs")
        t = time.time()
        train_epochs(model, x_tr, y_tr, epochs_fp, LR_FP, gen, log, warmup=True, phase="fp32",
                     history=history, eval_fn=eval_every, ckpt=ckpt, fwd=fwd,
                     shard=(rank, world))
        times["fp32_train_s"] = round(times.get("fp32_train_s", 0) + time.time() - t, 1)
        state["acc_fp"] = 100.0 * float(np.mean(predict(model, x_te) == y_te))
        log(f"FP32 top-1 {state['acc_fp']:.2f}%")

        t = time.time()
        calibrate(model, x_tr, gen, 2 if quick else CALIB_BATCHES)
        model.quantized = True
        if pact:
            model.init_pact()
        state["acc_cal"] = 100.0 * float(np.mean(predict(model, x_te) == y_te))
        log(f"BN folded, FLs {model.fls()}: fake-quant top-1 before fine-tuning "
            f"{state['acc_cal']:.2f}%")
        # The calibration-only model (post-training quantization, no fine-tuning), simulated.
        if rank == 0:
            _calibration_only(model, state, x_te_np, y_te, calib_out, created_by, log)
        times["calibrate_s"] = round(time.time() - t, 1)
    acc_fp, acc_cal = state["acc_fp"], state["acc_cal"]
    t = time.time()
    log(f"quantization-aware training, {epochs_q} epochs")
    train_epochs(model, x_tr, y_tr, epochs_q, LR_Q, gen, log, warmup=False, phase="q",
                 history=history, eval_fn=eval_every, ckpt=ckpt, fwd=fwd, shard=(rank, world),
                 jpeg_p=jpeg_aug)
    if world > 1:
        import torch.distributed as dist
        dist.destroy_process_group()
        if rank:
            return {}
    times["qat_train_s"] = round(times.get("qat_train_s", 0) + time.time() - t, 1)
    acc_fq32 = 100.0 * float(np.mean(predict(model, x_te) == y_te))
    pred_fq = predict(export.float64_copy(model), x_te, torch.float64)
    acc_fq = 100.0 * float(np.mean(pred_fq == y_te))
    log(f"fake-quant top-1 {acc_fq:.2f}% (float64; {acc_fq32:.2f}% in float32)")

    # Export, then simulate the bytes as written (round trip through the reader).
    meta = [("name", "fashion"),
            ("labels", "\n".join(FASHION_LABELS)),
            ("description", "Fashion-MNIST classifier, 28x28 grayscale, F8Net fixed-point "
                            "8-bit (residual CNN, " + f"{model.macs() / 1e6:.1f} M MACs)"),
            ("created_by", created_by),
            ("dataset", f"Fashion-MNIST ({n_train} train / {n_test} test images)"),
            ("accuracy.fp32", f"{acc_fp:.2f}"),
            ("accuracy.calibration_only", f"{state.get('acc_cal_int', acc_cal):.2f}")]
    graph, fls = export.to_graph(model, meta)
    graph = fileformat.from_bytes(fileformat.to_bytes(graph))
    t = time.time()
    logits = simulate.run(graph, x_te_np.reshape(-1, 28, 28, 1))
    times["simulate_s"] = round(time.time() - t, 1)
    pred_int = simulate.top1(logits)
    acc_int = 100.0 * float(np.mean(pred_int == y_te))
    agree = 100.0 * float(np.mean(pred_int == pred_fq))
    log(f"integer-simulated top-1 {acc_int:.2f}% ({n_test} images, {times['simulate_s']} s); "
        f"agrees with fake-quant on {agree:.2f}% of predictions")

    acc_jpeg = None
    jpeg = jpeg_round_trip(x_te_np, JPEG_QUALITY)
    if jpeg is not None:
        pred_jpeg = simulate.top1(simulate.run(graph, jpeg.reshape(-1, 28, 28, 1)))
        acc_jpeg = round(100.0 * float(np.mean(pred_jpeg == y_te)), 2)
        log(f"integer-simulated top-1 on JPEG (quality {JPEG_QUALITY}) test images "
            f"{acc_jpeg:.2f}%")

    graph.meta.append(("accuracy.int", f"{acc_int:.2f}"))
    size = fileformat.write(graph, out_path)
    check = fileformat.read(out_path)
    assert all(np.array_equal(a.weights, b.weights) for a, b in zip(check.ops, graph.ops)
               if a.weights is not None)
    times["total_s"] = round(time.time() - t_start, 1)
    log(f"wrote {out_path}: {size} bytes; total {times['total_s']} s")

    report = {
        "model": out_path,
        "file_size_bytes": size,
        "accuracy_top1_percent": {"fp32": round(acc_fp, 2), "fake_quant": round(acc_fq, 2),
                                  "fake_quant_float32": round(acc_fq32, 2),
                                  "fake_quant_before_finetune": round(acc_cal, 2),
                                  "calibration_only_integer": (
                                      round(state["acc_cal_int"], 2)
                                      if "acc_cal_int" in state else None),
                                  "integer_simulated": round(acc_int, 2),
                                  f"integer_simulated_jpeg_q{JPEG_QUALITY}": acc_jpeg},
        "fake_quant_vs_integer_agreement_percent": round(agree, 2),
        "test_images": n_test,
        "train_images": n_train,
        "fractional_lengths": fls,
        "pact_alpha": ({k: round(float(v.abs()), 4) for k, v in model.alpha.items()}
                       if pact else None),
        "history": history,
        "epochs": {"fp32": epochs_fp, "quantized": epochs_q},
        "seconds": times,
        "macs_per_image": model.macs(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "hyperparameters": {"batch": BATCH, "lr_fp32": LR_FP, "lr_quantized": LR_Q,
                            "weight_decay": WEIGHT_DECAY, "label_smoothing": LABEL_SMOOTHING,
                            "augmentation": "random crop (pad 2) + horizontal flip",
                            "jpeg_augmentation_quantized": jpeg_aug,
                            "calibration_batches": CALIB_BATCHES},
        "seed": seed,
        "widths": list(widths),
        "quick": quick,
        "created_by": created_by,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "threads": torch.get_num_threads(),
        "device": device,
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
    }
    if report_path:
        with open(report_path, "w") as f:
            json.dump(report, f, indent=2)
            f.write("\n")
        from . import report as report_plot
        png = report_plot.plot(report, os.path.splitext(report_path)[0] + ".png")
        if png:
            log(f"wrote {report_path} and {png}")
    return report


def main(args, created_by: str) -> int:
    quick = args.quick
    epochs_fp = args.epochs_fp if args.epochs_fp is not None else (1 if quick else EPOCHS_FP)
    epochs_q = args.epochs_q if args.epochs_q is not None else (1 if quick else EPOCHS_Q)
    widths = args.widths if getattr(args, "widths", None) else WIDTHS
    run(args.out, args.report, epochs_fp, epochs_q, quick, args.seed, args.data, created_by,
        widths=widths, checkpoint=getattr(args, "checkpoint", None),
        resume=getattr(args, "resume", False), calib_out=getattr(args, "calib_out", None),
        pact=getattr(args, "pact", False),
        jpeg_aug=args.jpeg_aug if getattr(args, "jpeg_aug", None) is not None else JPEG_AUG)
    return 0


def model_from_checkpoint(path: str) -> Tuple[FashionNet, Dict]:
    """The FashionNet of a `--checkpoint` file (widths and PACT read off its tensors), on the
    CPU, eval mode, and the checkpoint itself."""
    ck = torch.load(path, map_location="cpu")
    sd = ck["model"]
    widths = tuple(int(sd[f"c{i}.conv.weight"].shape[0]) for i in (1, 2, 3))
    model = FashionNet(widths, classes=int(sd["fc.weight"].shape[0]),
                       pact=any(k.startswith("alpha.") for k in sd))
    model.load_state_dict(sd)
    model.quantized = ck["quantized"]
    return model.eval(), ck


def export_checkpoint(path: str, out_path: str, data_root: str, created_by: str,
                      calibrate_fls: bool, seed: int = 1, log=print) -> Dict:
    """`quantize` (calibrate_fls: BN folded, activation FLs from 50 training batches, no
    fine-tuning: the calibration-only model) or `export` (a quantized-phase checkpoint as it is)
    → .f8 with its integer-simulated top-1 on the 10,000 test images in the metadata."""
    model, ck = model_from_checkpoint(path)
    ds = data.load_fashion(data_root)
    if calibrate_fls:
        model.quantized = False
        calibrate(model, torch.from_numpy(ds["train_x"].copy()),
                  torch.Generator().manual_seed(seed), CALIB_BATCHES)
        model.quantized = True
        if model.pact:
            model.init_pact()
    elif not model.quantized:
        raise ValueError(f"{path}: FP32 checkpoint (phase {ck['phase']}); use `quantize`")
    what = "calibration only (no fine-tuning)" if calibrate_fls else "quantization-aware trained"
    meta = [("name", "fashion"), ("labels", "\n".join(FASHION_LABELS)),
            ("description", f"Fashion-MNIST classifier, 28x28 grayscale, F8Net fixed-point "
                            f"8-bit, {what}, from {os.path.basename(path)}"),
            ("created_by", created_by)]
    acc_fp = ck["state"].get("acc_fp")
    if acc_fp is not None:
        meta.append(("accuracy.fp32", f"{acc_fp:.2f}"))
    graph, _ = export.to_graph(model, meta)
    y = ds["test_y"].astype(np.int64)
    pred = simulate.top1(simulate.run(graph, ds["test_x"].reshape(-1, 28, 28, 1)))
    acc = 100.0 * float(np.mean(pred == y))
    graph.meta.append(("accuracy.int", f"{acc:.2f}"))
    fileformat.write(graph, out_path + ".tmp")
    os.replace(out_path + ".tmp", out_path)
    log(f"wrote {out_path}: integer-simulated top-1 {acc:.2f}% on {len(y)} test images")
    return {"accuracy_int": round(acc, 2), "accuracy_fp32": acc_fp}

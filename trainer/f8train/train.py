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
from typing import Dict, Optional

import numpy as np
import torch
import torch.nn.functional as F

from . import data, export, fileformat, simulate
from .model import FashionNet
from .randmodel import FASHION_LABELS

# Defaults for the shipped model (docs/TRAINING.md). --quick overrides them for smoke tests.
WIDTHS = (16, 32, 56)  # channels at 28×28, 14×14, 7×7: 4.6 M MACs, 78 k weights
EPOCHS_FP = 20
EPOCHS_Q = 4
BATCH = 128
LR_FP = 0.1          # peak of the one-cycle schedule, SGD + Nesterov momentum 0.9
LR_Q = 0.01          # start of the cosine schedule for quantized fine-tuning
WEIGHT_DECAY = 5e-4  # on conv/dense weights only, not on BN or biases
LABEL_SMOOTHING = 0.1
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


def train_epochs(model: FashionNet, x: torch.Tensor, y: torch.Tensor, epochs: int, lr: float,
                 gen: torch.Generator, log, warmup: bool) -> None:
    """SGD over augmented batches. FP32: one-cycle (warm up then anneal); quantized: cosine
    from `lr` to 0, BN frozen because the fake-quant forward folds it with running stats."""
    if epochs <= 0:
        return
    opt = _optimizer(model, lr)
    steps_per_epoch = max(1, len(x) // BATCH)
    total = epochs * steps_per_epoch
    if warmup:
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total,
                                                    pct_start=0.2)
    else:
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
    for epoch in range(epochs):
        model.train()
        if model.quantized:
            model.freeze_bn()
        t0, loss_sum, correct, seen = time.time(), 0.0, 0, 0
        for idx in data.batches(len(x), BATCH, gen):
            xb = data.to_input(data.augment(x[idx], gen))
            out = model(xb)
            loss = F.cross_entropy(out, y[idx], label_smoothing=LABEL_SMOOTHING)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss) * len(idx)
            correct += int((out.argmax(1) == y[idx]).sum())
            seen += len(idx)
        log(f"  epoch {epoch + 1}/{epochs}: loss {loss_sum / max(seen, 1):.4f} "
            f"train acc {100 * correct / max(seen, 1):.2f}% ({time.time() - t0:.0f} s)")


def predict(model, x: torch.Tensor, dtype=torch.float32, batch: int = 1000) -> np.ndarray:
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out.append(model(data.to_input(x[i:i + batch], dtype)).argmax(1))
    return torch.cat(out).numpy()


def calibrate(model: FashionNet, x: torch.Tensor, gen: torch.Generator, batches: int) -> None:
    """Seeds each activation's FL EMA from the FP model with BN folded (eval-mode BN)."""
    model.eval()
    model.calibrating = True
    with torch.no_grad():
        for k, idx in enumerate(data.batches(len(x), BATCH, gen)):
            if k >= batches:
                break
            model(data.to_input(x[idx]))
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


def run(out_path: str, report_path: Optional[str], epochs_fp: int, epochs_q: int, quick: bool,
        seed: int, data_root: str, created_by: str, log=print, widths=WIDTHS) -> Dict:
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

    model = FashionNet(tuple(widths))
    model = model.to(memory_format=torch.channels_last)
    log(f"FashionNet: {model.macs() / 1e6:.2f} M MACs/image, "
        f"{sum(p.numel() for p in model.parameters())} parameters; "
        f"{n_train} train / {n_test} test images, {torch.get_num_threads()} threads")
    times = {}

    log(f"FP32 training, {epochs_fp} epochs")
    t = time.time()
    train_epochs(model, x_tr, y_tr, epochs_fp, LR_FP, gen, log, warmup=True)
    times["fp32_train_s"] = round(time.time() - t, 1)
    acc_fp = 100.0 * float(np.mean(predict(model, x_te) == y_te))
    log(f"FP32 top-1 {acc_fp:.2f}%")

    t = time.time()
    calibrate(model, x_tr, gen, 2 if quick else CALIB_BATCHES)
    model.quantized = True
    acc_cal = 100.0 * float(np.mean(predict(model, x_te) == y_te))
    log(f"BN folded, FLs {model.fls()}: fake-quant top-1 before fine-tuning {acc_cal:.2f}%")
    log(f"quantization-aware training, {epochs_q} epochs")
    train_epochs(model, x_tr, y_tr, epochs_q, LR_Q, gen, log, warmup=False)
    times["qat_train_s"] = round(time.time() - t, 1)
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
            ("accuracy.fp32", f"{acc_fp:.2f}")]
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
                                  "integer_simulated": round(acc_int, 2),
                                  f"integer_simulated_jpeg_q{JPEG_QUALITY}": acc_jpeg},
        "fake_quant_vs_integer_agreement_percent": round(agree, 2),
        "test_images": n_test,
        "train_images": n_train,
        "fractional_lengths": fls,
        "epochs": {"fp32": epochs_fp, "quantized": epochs_q},
        "seconds": times,
        "macs_per_image": model.macs(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "hyperparameters": {"batch": BATCH, "lr_fp32": LR_FP, "lr_quantized": LR_Q,
                            "weight_decay": WEIGHT_DECAY, "label_smoothing": LABEL_SMOOTHING,
                            "augmentation": "random crop (pad 2) + horizontal flip",
                            "calibration_batches": CALIB_BATCHES},
        "seed": seed,
        "widths": list(widths),
        "quick": quick,
        "created_by": created_by,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "threads": torch.get_num_threads(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
    }
    if report_path:
        with open(report_path, "w") as f:
            json.dump(report, f, indent=2)
            f.write("\n")
    return report


def main(args, created_by: str) -> int:
    quick = args.quick
    epochs_fp = args.epochs_fp if args.epochs_fp is not None else (1 if quick else EPOCHS_FP)
    epochs_q = args.epochs_q if args.epochs_q is not None else (1 if quick else EPOCHS_Q)
    widths = args.widths if getattr(args, "widths", None) else WIDTHS
    run(args.out, args.report, epochs_fp, epochs_q, quick, args.seed, args.data, created_by,
        widths=widths)
    return 0

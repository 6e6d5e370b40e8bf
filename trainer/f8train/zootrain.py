"""`f8train train`: a zoo architecture (ResNet-18/50, MobileNet-V1/V2) on a user's ImageFolder
data, the F8Net recipe end to end (docs/TRAINING.md, "Your own data"):

1. FP32: train the torchvision-layout model (from scratch, or continue from `--state-dict`)
   with SGD + Nesterov, cosine learning rate, random horizontal flips; skipped with
   `--epochs-fp 0` (a pretrained state_dict);
2. calibrate: BN folded, FL_w per channel and every activation FL by the std rule on a few
   hundred training images (`zoo.to_graph`, the same as `f8train calibrate`);
3. fine-tune with the quantizer in the loop on that graph (`graphqat.GraphQAT`: fixed-point
   fake quantization, straight-through estimator, cosine learning rate to 0);
4. export the integers and measure float, calibration-only and integer-simulated top-1 on
   `--val` (or the training images when no validation folder is given).

Images go through the daemon's preprocessing (`imagefolder.load_image`: DCT-scaled decode and
FORMAT.md §4's resize), so the model is trained on what f8d will feed it.
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from . import fileformat, graphqat, imagefolder, report as report_png, simulate, zoo

MOMENTUM = 0.9
WEIGHT_DECAY_FP = 1e-4


def _batches(n: int, batch: int, gen: torch.Generator):
    perm = torch.randperm(n, generator=gen)
    for i in range(0, n, batch):
        yield perm[i:i + batch]


def _flip(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flips (NCHW): keeps every pixel on its u8 grid."""
    flip = torch.rand(x.shape[0], generator=gen) < 0.5
    x = x.clone()
    x[flip] = x[flip].flip(3)
    return x


def _device(module: torch.nn.Module) -> torch.device:
    return next(module.parameters()).device


def _top1(fwd: torch.nn.Module, x: np.ndarray, y: np.ndarray, batch: int = 64) -> float:
    dev = _device(fwd)
    with torch.no_grad():
        pred = np.concatenate([fwd(zoo.images_to_float(x[i:i + batch]).to(dev)).argmax(1).cpu()
                               .numpy() for i in range(0, len(x), batch)])
    return 100.0 * float(np.mean(pred == y))


def _epochs(module: torch.nn.Module, fwd, x: np.ndarray, y: np.ndarray, epochs: int, lr: float,
            weight_decay: float, batch: int, gen: torch.Generator, phase: str, history: list,
            eval_fn, log) -> None:
    if epochs <= 0:
        return
    opt = torch.optim.SGD(module.parameters(), lr=lr, momentum=MOMENTUM, nesterov=True,
                          weight_decay=weight_decay)
    steps = max(1, math.ceil(len(x) / batch)) * epochs
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    xt, yt = zoo.images_to_float(x), torch.from_numpy(y)
    dev = _device(module)
    for epoch in range(epochs):
        module.train()
        t0, loss_sum, correct, seen = time.time(), 0.0, 0, 0
        for idx in _batches(len(x), batch, gen):
            xb, yb = _flip(xt[idx], gen).to(dev), yt[idx].to(dev)
            out = fwd(xb)
            loss = F.cross_entropy(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss) * len(idx)
            correct += int((out.argmax(1) == yb).sum())
            seen += len(idx)
        module.eval()
        acc = eval_fn()
        history.append({"phase": phase, "epoch": epoch + 1, "loss": loss_sum / seen,
                        "train_acc": 100.0 * correct / seen, "test_acc": acc})
        log(f"  {phase} epoch {epoch + 1}/{epochs}: loss {loss_sum / seen:.4f} train "
            f"{100.0 * correct / seen:.2f}% val {acc:.2f}% ({time.time() - t0:.0f} s)")


def run(arch: str, data: str, val: Optional[str], shape: Tuple[int, int, int], out: str,
        report_path: Optional[str], state_dict: Optional[str], epochs_fp: int, epochs_q: int,
        batch: int, lr_fp: float, lr_q: float, calib_images: int, seed: int, name: str,
        created_by: str, log=print) -> Dict:
    h, w, c = shape
    # CPU by default, CUDA when present (or F8TRAIN_DEVICE=cpu|cuda); calibration, export, the
    # float64 check and the simulator run on the CPU.
    device = os.environ.get("F8TRAIN_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    t_start = time.time()
    x, y, classes = imagefolder.load_folder(data, h, w, c)
    if val:
        xv, yv, vclasses = imagefolder.load_folder(val, h, w, c)
        if vclasses != classes:
            raise ValueError(f"{val}: classes {vclasses} differ from {data}'s {classes}")
    else:
        xv, yv = x, y
        log("no --val folder: accuracies are measured on the training images")
    log(f"{arch}: {len(x)} training / {len(xv)} validation images, {len(classes)} classes, "
        f"input {h}x{w}x{c}")

    model = zoo.build_float(arch, len(classes), c)
    if state_dict:
        model.load_state_dict(torch.load(state_dict, map_location="cpu"))
    history: List[dict] = []
    log(f"FP32 training, {epochs_fp} epochs, on {device}")
    model.to(device)
    _epochs(model, model, x, y, epochs_fp, lr_fp, WEIGHT_DECAY_FP, batch, gen, "fp32", history,
            lambda: _top1(model, xv, yv), log)
    model.cpu().eval()
    acc_fp = _top1(model, xv, yv)
    log(f"FP32 top-1 {acc_fp:.2f}%")

    pick = np.random.default_rng(seed).choice(len(x), min(calib_images, len(x)), replace=False)
    float_params: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}
    meta = [("name", name), ("labels", "\n".join(classes)),
            ("description", f"{arch} trained on {data} with f8train train (F8Net fixed point)"),
            ("created_by", created_by)]
    g = zoo.to_graph(arch, model, h, w, c, x[np.sort(pick)], meta, float_params=float_params)
    acc_cal = 100.0 * float(np.mean(simulate.top1(simulate.run(g, xv, batch=32)) == yv))
    log(f"calibration only ({len(pick)} images): integer top-1 {acc_cal:.2f}%")

    qat = graphqat.GraphQAT(g, float_params).float().to(device)
    log(f"quantization-aware training, {epochs_q} epochs")
    _epochs(qat, qat, x, y, epochs_q, lr_q, 0.0, batch, gen, "quantized", history,
            lambda: _top1(qat, xv, yv), log)

    qat.cpu().eval()
    ints = simulate.run(qat.export(), xv, batch=32)
    acc_int = 100.0 * float(np.mean(simulate.top1(ints) == yv))
    q64 = qat.double()
    with torch.no_grad():
        fq = np.concatenate([q64(zoo.images_to_float(xv[i:i + 32]).double()).numpy()
                             for i in range(0, len(xv), 32)])
    fl_out = g.values[g.output_value].fl
    exact = bool(np.array_equal(fq * 2.0 ** fl_out, ints.astype(np.float64)))
    log(f"integer-simulated top-1 {acc_int:.2f}% (FP32 {acc_fp:.2f}%, calibration only "
        f"{acc_cal:.2f}%); float64 fake-quant logits equal the integers: {exact}")

    g_out = q64.export(meta + [("accuracy.fp32", f"{acc_fp:.2f}"),
                               ("accuracy.int", f"{acc_int:.2f}"),
                               ("accuracy.calibration_only", f"{acc_cal:.2f}")])
    size = fileformat.write(g_out, out + ".tmp")
    os.replace(out + ".tmp", out)
    rep = {
        "model": out, "arch": arch, "file_size_bytes": size, "input": [h, w, c],
        "classes": classes, "train_images": len(x), "test_images": len(xv),
        "validation": val or "the training images",
        "accuracy_top1_percent": {"fp32": round(acc_fp, 2),
                                  "calibration_only_integer": round(acc_cal, 2),
                                  "integer_simulated": round(acc_int, 2)},
        "fake_quant_float64_equals_integers": exact,
        "epochs": {"fp32": epochs_fp, "quantized": epochs_q},
        "hyperparameters": {"batch": batch, "lr_fp32": lr_fp, "lr_quantized": lr_q,
                            "calibration_images": len(pick), "seed": seed},
        "history": history, "created_by": created_by,
        "seconds": round(time.time() - t_start, 1), "torch_version": torch.__version__,
    }
    if report_path:
        with open(report_path + ".tmp", "w") as f:
            json.dump(rep, f, indent=1)
        os.replace(report_path + ".tmp", report_path)
        png = report_png.plot(rep, os.path.splitext(report_path)[0] + ".png")
        log(f"wrote {report_path}" + (f" and {png}" if png else ""))
    log(f"wrote {out}: {len(g_out.ops)} ops, {size} bytes")
    return rep

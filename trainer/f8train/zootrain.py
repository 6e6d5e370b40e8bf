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

from . import fileformat, graphqat, imagefolder, report as report_png, simulate, zoo
from .train import _progress, sgd_step  # the same bar and step as `fashion`

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


class Checkpoint:
    """`--checkpoint FILE`: rewritten atomically after every epoch (and after calibration) with
    everything a resumed run needs: the phase and epoch, the float model, the calibrated graph
    and its float parameters, the quantized module, optimizer, schedule, random generator,
    history and the accuracies measured so far."""

    def __init__(self, path: Optional[str], resume: bool):
        self.path = path
        self.saved = None
        if path and resume:
            if not os.path.exists(path):
                raise FileNotFoundError(f"--resume: no checkpoint at {path}")
            self.saved = torch.load(path, map_location="cpu")

    def phase_is(self, phase: str) -> bool:
        return self.saved is not None and self.saved["phase"] == phase

    def save(self, **state) -> None:
        if not self.path:
            return
        torch.save(state, self.path + ".tmp")
        os.replace(self.path + ".tmp", self.path)


def _epochs(module: torch.nn.Module, fwd, x: np.ndarray, y: np.ndarray, epochs: int, lr: float,
            weight_decay: float, batch: int, gen: torch.Generator, phase: str, history: list,
            eval_fn, log, resume: Optional[dict] = None, save=None) -> None:
    """SGD + Nesterov, cosine learning rate to 0, random flips. `resume` (a checkpoint of this
    phase) restores the optimizer, schedule and generator and skips the finished epochs;
    `save(epoch, opt, sched)` runs after every epoch."""
    if epochs <= 0:
        return
    opt = torch.optim.SGD(module.parameters(), lr=lr, momentum=MOMENTUM, nesterov=True,
                          weight_decay=weight_decay)
    steps = max(1, math.ceil(len(x) / batch)) * epochs
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    start = 0
    if resume is not None:
        start = resume["epoch"]
        gen.set_state(resume["gen"])
        if start < epochs:
            opt.load_state_dict(resume["opt"])
            sched.load_state_dict(resume["sched"])
    xt, yt = zoo.images_to_float(x), torch.from_numpy(y)
    dev = _device(module)
    for epoch in range(start, epochs):
        module.train()
        t0, loss_sum, correct, seen = time.time(), 0.0, 0, 0
        bar = _progress(math.ceil(len(x) / batch), f"{phase} {epoch + 1}/{epochs}")
        for idx in _batches(len(x), batch, gen):
            xb, yb = _flip(xt[idx], gen).to(dev), yt[idx].to(dev)
            loss, right = sgd_step(fwd, opt, sched, xb, yb)
            loss_sum += loss * len(idx)
            correct += right
            seen += len(idx)
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        module.eval()
        acc = eval_fn()
        history.append({"phase": phase, "epoch": epoch + 1, "loss": loss_sum / seen,
                        "train_acc": 100.0 * correct / seen, "test_acc": acc})
        log(f"  {phase} epoch {epoch + 1}/{epochs}: loss {loss_sum / seen:.4f} train "
            f"{100.0 * correct / seen:.2f}% val {acc:.2f}% ({time.time() - t0:.0f} s)")
        if save is not None:
            save(epoch + 1, opt, sched)


def run(arch: str, data: str, val: Optional[str], shape: Tuple[int, int, int], out: str,
        report_path: Optional[str], state_dict: Optional[str], epochs_fp: int, epochs_q: int,
        batch: int, lr_fp: float, lr_q: float, calib_images: int, seed: int, name: str,
        created_by: str, log=print, checkpoint: Optional[str] = None,
        resume: bool = False) -> Dict:
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

    ck = Checkpoint(checkpoint, resume)
    saved = ck.saved
    model = zoo.build_float(arch, len(classes), c)
    if saved is not None:
        model.load_state_dict(saved["model"])
        log(f"resuming {checkpoint}: {saved['phase']} epoch {saved['epoch']} done")
    elif state_dict:
        model.load_state_dict(torch.load(state_dict, map_location="cpu"))
    history: List[dict] = list(saved["history"]) if saved is not None else []

    def save_fp(epoch, opt, sched):
        ck.save(phase="fp32", epoch=epoch, model=model.state_dict(), opt=opt.state_dict(),
                sched=sched.state_dict(), gen=gen.get_state(), history=history)

    log(f"FP32 training, {epochs_fp} epochs, on {device}")
    model.to(device)
    if saved is None or ck.phase_is("fp32"):
        _epochs(model, model, x, y, epochs_fp, lr_fp, WEIGHT_DECAY_FP, batch, gen, "fp32",
                history, lambda: _top1(model, xv, yv), log,
                resume=saved if ck.phase_is("fp32") else None, save=save_fp)
    model.cpu().eval()

    pick = np.random.default_rng(seed).choice(len(x), min(calib_images, len(x)), replace=False)
    meta = [("name", name), ("labels", "\n".join(classes)),
            ("description", f"{arch} trained on {data} with f8train train (F8Net fixed point)"),
            ("created_by", created_by)]
    if ck.phase_is("quantized"):          # calibrated before the checkpoint: reuse it
        g = fileformat.from_bytes(saved["graph"])
        g.meta = list(meta)
        float_params = saved["float_params"]
        acc_fp, acc_cal = saved["acc_fp"], saved["acc_cal"]
    else:
        acc_fp = _top1(model, xv, yv)
        log(f"FP32 top-1 {acc_fp:.2f}%")
        float_params = {}
        g = zoo.to_graph(arch, model, h, w, c, x[np.sort(pick)], meta,
                         float_params=float_params)
        acc_cal = 100.0 * float(np.mean(simulate.top1(simulate.run(g, xv, batch=32)) == yv))
    log(f"calibration only ({len(pick)} images): integer top-1 {acc_cal:.2f}%")
    graph_bytes = fileformat.to_bytes(g)

    qat = graphqat.GraphQAT(g, float_params).float()
    if ck.phase_is("quantized"):
        qat.load_state_dict(saved["qat"])
    qat.to(device)

    def save_q(epoch, opt, sched):
        ck.save(phase="quantized", epoch=epoch, model=model.state_dict(), graph=graph_bytes,
                float_params=float_params, qat=qat.state_dict(), opt=opt.state_dict(),
                sched=sched.state_dict(), gen=gen.get_state(), history=history,
                acc_fp=acc_fp, acc_cal=acc_cal)

    log(f"quantization-aware training, {epochs_q} epochs")
    _epochs(qat, qat, x, y, epochs_q, lr_q, 0.0, batch, gen, "quantized", history,
            lambda: _top1(qat, xv, yv), log,
            resume=saved if ck.phase_is("quantized") else None, save=save_q)

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

"""`python3 -m f8train ternarize`: FGQ ternary weights (groups of N, one 8-bit α each) and 8- or
4-bit activations for the Fashion network, from the FP32 checkpoints `f8train fashion` makes,
and for the zoo architectures (`--arch`), from the FP32 weights `f8train train` makes, both with
or without fine-tuning; and for any `.f8` (the zoo's), without it.

The network: c1 and fc keep 8-bit weights (FGQ keeps the first and last layer at full
precision: c1 sees the raw pixels through 9 weights per channel, fc decides the classes, and
the two hold 0.5% of the weights); c2..c5 are ternary (docs/FORMAT.md §2.5). With 4-bit
activations, a1..a4 (the inputs of the ternary layers, and the residual stream a3) are u8
values of 4 bits; the pool, the input of the 8-bit classifier, stays at 8 bits.

The fake-quant forward computes what the file computes: a ternary layer's weight is
t·α_q·2^-FL_w[o] exactly (`TernaryConvBN.quantized`), the bias is quantized at FL_w[o] + FL_x
per channel, activations are clamped to [0, 15] or [0, 255]. Fine-tuning keeps the ternary
quantizer in the loop with a straight-through estimator: the forward uses the ternary weight,
the gradient reaches the folded float weight as if the quantizer were the identity, and the
thresholds and α are searched again on every step.

The zoo architectures go through the same steps on their calibrated integer graph
(`zoo_run`): graphqat.GraphQAT with every CONV2D/DENSE but the first conv and the classifier
ternary (the same `ternary.ternary_parts` and STE), `narrow_fl` for the 4-bit FLs of the u8
inputs of the ternary ops (`calibrate_narrow_graph`), `correction` per ternary op
(`correct_graph`), and the zoo trainer's quantized loop (zootrain._epochs) for fine-tuning.
"""

from __future__ import annotations

import copy
import json
import os
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from . import data, fileformat, graphqat, quant, simulate, ternary, train
from .builder import GraphBuilder
from .fileformat import ADD, AVGPOOL, CONV2D, DENSE, MAXPOOL, S32, U8, Graph
from .model import ConvBN, FashionNet, POOL_SHIFT
from .randmodel import FASHION_LABELS

TERNARY_LAYERS = ("c2", "c3", "c4", "c5")  # c1 and fc keep 8-bit weights
NARROW_ACTS = ("a1", "a2", "a3", "a4")     # 4-bit with --act-bits 4 (the pool stays 8-bit)
FINETUNE_LR = 0.01                         # start of the cosine schedule, as F8's QAT
CALIB_IMAGES = 2000                        # training images that choose the 4-bit FLs
FL_SEARCH = range(-4, 11)                  # 4-bit activation FLs tried (real max 15·2^-FL)


@dataclass(frozen=True)
class Config:
    group: int = 4            # N; TWN ignores it for the threshold and α
    act_bits: int = 8         # 8 or 4
    method: str = "fgq"       # "fgq" (exact per-group search) or "twn" (per-layer baseline)
    correct: bool = False     # post-training output correction (`correct_outputs`); the CLI's
                              # default without fine-tuning

    def label(self) -> str:
        w = f"FGQ N={self.group}" if self.method == "fgq" else "TWN (per layer)"
        return f"{w}, {self.act_bits}-bit act" + (", output-corrected" if self.correct else "")


class TernaryConvBN(ConvBN):
    """A ConvBN whose quantized weight is ternary in groups (set by `make_ternary`)."""

    group: int
    method: str
    # set by `correct_outputs`: a per-channel factor on the α's (before they are quantized)
    # and a per-channel shift of the bias
    alpha_scale: Optional[np.ndarray] = None
    bias_shift: Optional[torch.Tensor] = None

    def ternary_parts(self, w_eff: torch.Tensor):
        """(codes int8 [Cout][kh][kw][Cin], α_q u8 [Cout][G], FL_w int64 [Cout], N) of W_eff."""
        cout = w_eff.shape[0]
        w = w_eff.detach().double().permute(0, 2, 3, 1).reshape(cout, -1).cpu().numpy()
        codes, aq, fl, n = ternary.ternary_parts(w, self.group, self.method, self.alpha_scale)
        shape = (cout,) + tuple(w_eff.shape[2:]) + (w_eff.shape[1],)
        return codes.reshape(shape), aq, fl, n

    def quantized(self, fl_x: int, s_in=None, s_out=None):
        """(W_q, b_q, FL_w per channel): W_q = t·α_q·2^-FL_w[o] in the forward, the identity
        for the gradient (STE); b_q at FL_w[o] + FL_x."""
        if s_in is not None:
            raise ValueError("FGQ does not support PACT models")
        w_eff, b_eff = self.folded()
        if self.bias_shift is not None:
            b_eff = b_eff + self.bias_shift.to(b_eff)
        with torch.no_grad():
            codes, aq, fl, n = self.ternary_parts(w_eff)
            w_int = fileformat.ternary_weights(codes, aq, n).astype(np.float64)
            w_t = torch.from_numpy(w_int * np.exp2(-fl.astype(np.float64))[:, None, None, None])
            w_t = w_t.permute(0, 3, 1, 2).to(w_eff)
        wq = quant.straight_through(w_eff, w_t)
        flw = torch.from_numpy(fl.astype(np.float64)).to(w_eff)
        bq = quant.fix_quant(b_eff, torch.exp2(flw + fl_x), quant.S32_RANGE)
        return wq, bq, flw


def make_ternary(model: FashionNet, cfg: Config) -> FashionNet:
    """A copy of a calibrated (quantized) FashionNet with c2..c5 ternary and, for 4-bit
    activations, a1..a4 clamped to [0, 15] (their FLs are chosen by `calibrate_narrow`)."""
    if model.pact:
        raise ValueError("FGQ does not support PACT models")
    m = copy.deepcopy(model)
    for name in TERNARY_LAYERS:
        layer = getattr(m, name)
        layer.__class__ = TernaryConvBN
        layer.group, layer.method = cfg.group, cfg.method
    if cfg.act_bits != 8:
        hi = 2 ** cfg.act_bits - 1
        m.act_range = {k: (0, hi) for k in NARROW_ACTS}
    m.freeze_act_fl = True
    m.quantized = True
    return m


def correct_outputs(m: FashionNet, x: torch.Tensor) -> Dict[str, Tuple[float, float]]:
    """Post-training output correction (forward passes only, like the FL calibration). The
    per-group search fits the weights, not what the layer computes: on real inputs the
    ternary layer's outputs come out smaller than the float layer's and shifted. Layer by layer
    (c2..c5, each fed by the corrected ternary layers before it), on the images of `x`:
    y = conv(a, W_eff) and y_t = conv(a, W_t) per output channel c, the least-squares factor
    s_c = <y − ȳ, y_t − ȳ_t> / ||y_t − ȳ_t||² multiplies the channel's α's (before they are
    quantized to 8 bits, so the file format is unchanged), then the bias moves by
    mean(y) − mean(y_t) with the rescaled W_t. Returns each layer's (min s_c, max s_c)."""
    xin = data.to_input(x)
    out = {}
    m.eval()

    def layer_input(layer):
        seen = []
        orig = layer.forward_quant

        def record(a, fl_x, s_in=None, s_out=None):
            seen.append((a.detach(), fl_x))
            return orig(a, fl_x, s_in, s_out)
        layer.forward_quant = record
        with torch.no_grad():
            m(xin)
        del layer.forward_quant                        # the class's method again
        return seen[0]

    for name in TERNARY_LAYERS:
        layer = getattr(m, name)
        a, fl_x = layer_input(layer)
        with torch.no_grad():
            w_eff, _ = layer.folded()
            y = F.conv2d(a, w_eff, None, layer.stride, 1)

            def ternary_out(scale):
                layer.alpha_scale = scale
                return F.conv2d(a, layer.quantized(fl_x)[0], None, layer.stride, 1)
            layer.alpha_scale, shift, sc = correction(y, ternary_out, layer.alpha_scale)
            layer.bias_shift = shift if layer.bias_shift is None else layer.bias_shift + shift
        out[name] = (round(float(sc.min()), 3), round(float(sc.max()), 3))
    return out


def correction(y: torch.Tensor, ternary_out, scale: Optional[np.ndarray]):
    """The output correction of one ternary layer (`correct_outputs`, `correct_graph`): y, the
    float layer's outputs (NCHW, no bias); `ternary_out(scale)`, the ternary layer's outputs
    (no bias) with per-channel α factors `scale`; `scale`, the factors it has now (None: 1).
    The least-squares factor per output channel c,
    s_c = <y − ȳ, y_t − ȳ_t> / ||y_t − ȳ_t||² (1 where y_t is constant), multiplies the
    factors; the bias shift is mean(y) − mean(y_t) with the new factors. Returns (the new
    factors, the bias shift to add, s)."""
    dims = (0, 2, 3)
    y_t = ternary_out(scale)
    yc = y - y.mean(dim=dims, keepdim=True)
    tc = y_t - y_t.mean(dim=dims, keepdim=True)
    norm = (tc * tc).sum(dim=dims)
    sc = (yc * tc).sum(dim=dims) / norm.clamp_min(1e-30)
    sc = torch.where(norm > 0, sc, torch.ones_like(sc))
    scale = (scale if scale is not None else 1.0) * sc.double().cpu().numpy()
    return scale, (y - ternary_out(scale)).mean(dim=dims), sc


def calibrate_narrow(m: FashionNet, x: torch.Tensor, bits: int) -> Dict[str, int]:
    """The FL of each narrow activation, in order a1..a4: the FL whose quantization of the
    layer's pre-activation accumulators (given the FLs chosen before it) has the smallest
    mean squared error on `x`, ReLU included (F8Net's tiny-fine-tuning RMSE rule, for 4 bits).
    """
    xin = data.to_input(x)
    chosen = {}
    m.eval()
    for k in NARROW_ACTS:
        seen = {}
        # forward_quant observes its accumulators when the network (the top module alone:
        # every BN stays in eval mode) is training and its FLs are not frozen
        m.training, m.freeze_act_fl = True, False
        m._observe = lambda name, t, seen=seen: seen.setdefault(name, t.detach())
        with torch.no_grad():
            m(xin)
        del m._observe                                  # the class's method again
        m.training, m.freeze_act_fl = False, True
        best = narrow_fl(seen[k], bits)
        m.act_fl[k].r.fill_(float(best))
        chosen[k] = best
    return chosen


def narrow_fl(acc: torch.Tensor, bits: int, search=FL_SEARCH) -> int:
    """The FL in `search` whose `bits`-bit unsigned quantization of the accumulators `acc`
    (reals) has the smallest mean squared error against ReLU(acc); the first on ties."""
    rng = (0, 2 ** bits - 1)
    acc = acc.detach().double()
    best, best_err = None, float("inf")
    for fl in search:
        err = float(((quant.fake_quant(acc, fl, rng) - F.relu(acc)) ** 2).mean())
        if err < best_err:
            best, best_err = fl, err
    return best


def to_graph(model: FashionNet, meta: List[Tuple[str, str]], act_bits: int) -> Graph:
    """The `.f8` graph of a (ternary) FashionNet, computed in float64 where every quantity is
    exact, like export.to_graph; ternary layers become weight_bits 2 ops whose expanded
    weights are the integers the forward used."""
    m = copy.deepcopy(model).cpu().double().eval()
    fls = m.fls()
    b = GraphBuilder(28, 28, 1, fl=8)
    x, fl_x, a3 = 0, 8, None
    bits = 0 if act_bits == 8 else act_bits
    with torch.no_grad():
        for name, layer in m.convs():
            wq, bq, flw = layer.quantized(fl_x)
            cout = wq.shape[0]
            flw_np = (np.full(cout, flw, np.int64) if not torch.is_tensor(flw)
                      else flw.numpy().astype(np.int64))
            w = (wq.permute(0, 2, 3, 1).numpy() * np.exp2(flw_np)[:, None, None, None])
            bias = bq.numpy() * np.exp2(flw_np + fl_x)
            assert np.all(w == np.rint(w)) and np.all(bias == np.rint(bias)), "off the grid"
            w, bias = w.astype(np.int8), bias.astype(np.int64).astype(np.int32)
            if name != "c5":
                fl_y = fls["a" + name[1]]
                x = b.conv(x, w, bias, flw_np.astype(np.int8), stride=layer.stride, pads=1,
                           relu=True, dtype=U8, fl=fl_y)
                b.values[x].bits = bits if "a" + name[1] in NARROW_ACTS else 0
            else:
                # s32 at the largest F_int: every channel's shift is a left shift (exact)
                fl_y = int(flw_np.max()) + fl_x
                x = b.conv(x, w, bias, flw_np.astype(np.int8), stride=1, pads=1, relu=False,
                           dtype=S32, fl=fl_y)
            if isinstance(layer, TernaryConvBN):
                codes, aq, _, n = layer.ternary_parts(layer.folded()[0])
                b.ops[-1].set_ternary(codes, aq, n)
                assert np.array_equal(b.ops[-1].weights, w), "ternary expansion differs"
            if name == "c3":
                a3 = x
            fl_x = fl_y
        fl_s = max(fl_x, fls["a3"])
        s = b.add(x, a3, relu=True, dtype=S32, fl=fl_s)
        p = b.avgpool(s, 7, 1, POOL_SHIFT, dtype=U8, fl=fls["pool"])
        flw = m.fc_weight_fl()
        wq = quant.quant_weight(m.fc_weight(), flw)
        bq = quant.quant_bias(m.fc.bias, flw + fls["pool"])
        w = (wq.numpy() * 2.0 ** flw).astype(np.int8)
        bias = (bq.numpy() * 2.0 ** (flw + fls["pool"])).astype(np.int64).astype(np.int32)
        logits = b.dense(p, w, bias, np.full(w.shape[0], flw, np.int8), dtype=S32,
                         fl=flw + fls["pool"])
    return b.build(logits, meta)


def ternarize_graph(g: Graph, group: int, method: str = "fgq",
                    float_params: Optional[Dict[int, Tuple[np.ndarray, np.ndarray]]] = None
                    ) -> Graph:
    """Any `.f8` (the zoo's): every CONV2D/DENSE but the first and the last ternarized from
    its 8-bit weights (real value w·2^-FL_w), FL_w per channel from the α's, the bias moved
    to the new FL. No calibration data, no fine-tuning: for speed and size measurements and
    for the bit-exact tests; activations keep their FLs and bits. With `float_params` (op
    index → the folded float weights and bias it was quantized from, zoo.to_graph), the
    ternarization starts from those FP32 weights instead and the bias is quantized afresh."""
    g = copy.deepcopy(g)
    weighted = [i for i, op in enumerate(g.ops) if op.type in (CONV2D, DENSE)]
    for i in weighted[1:-1]:
        op = g.ops[i]
        cout = op.weights.shape[0]
        if float_params is not None:
            w = np.asarray(float_params[i][0], np.float64).reshape(cout, -1)
            b_real = np.asarray(float_params[i][1], np.float64)
        else:
            w = op.weights.reshape(cout, -1).astype(np.float64) * \
                np.exp2(-op.flw.astype(np.float64))[:, None]
            b_real = op.bias.astype(np.float64) * \
                np.exp2(-(op.flw.astype(np.float64) + g.values[op.input0].fl))
        vin = g.values[op.input0]
        bounds = ternary.fl_bounds(vin.fl, g.values[op.output].fl)
        codes, aq, fl, n = ternary.ternary_parts(w, group, method, None, *bounds)
        bias = np.rint(b_real * np.exp2((fl + vin.fl).astype(np.float64)))
        op.bias = np.clip(bias, -(2**31 - 1), 2**31 - 1).astype(np.int32)
        op.flw = fl.astype(np.int8)
        op.set_ternary(codes.reshape(op.weights.shape), aq, n)
    fileformat.validate(g)
    return g


# ---- evaluation, one configuration, the table ----------------------------------------------

def _accuracy_int(g: Graph, x: np.ndarray, y: np.ndarray) -> float:
    return 100.0 * float(np.mean(simulate.top1(simulate.run(g, x.reshape(-1, 28, 28, 1))) == y))


def load_fp32(path: str) -> Tuple[FashionNet, Dict]:
    """The FP32 FashionNet of a `fashion --checkpoint` file (FP32 phase or its .fp32 copy)."""
    model, ck = train.model_from_checkpoint(path)
    model.quantized = False
    return model, ck


def run_one(fp32: FashionNet, cfg: Config, finetune: int, ds: Dict, seed: int = 1,
            log=print, quick: bool = False, jpeg_aug: float = train.JPEG_AUG
            ) -> Tuple[Graph, Dict, FashionNet]:
    """FP32 model → BN folded, activation FLs calibrated (F8Net's rule, 50 batches) →
    ternary (+ 4-bit FLs) → optional fine-tuning → graph; with its accuracies and times, and
    the fake-quant model the graph was exported from."""
    t0 = time.time()
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    n_train = train.QUICK_TRAIN if quick else len(ds["train_x"])
    n_test = train.QUICK_TEST if quick else len(ds["test_x"])
    x_tr = torch.from_numpy(ds["train_x"][:n_train].copy())
    y_tr = torch.from_numpy(ds["train_y"][:n_train].astype(np.int64))
    x_te, y_te = ds["test_x"][:n_test], ds["test_y"][:n_test].astype(np.int64)
    base = copy.deepcopy(fp32)
    base.quantized = False
    train.calibrate(base, x_tr, gen, 2 if quick else train.CALIB_BATCHES)
    base.quantized = True
    m = make_ternary(base, cfg)
    if cfg.act_bits != 8:
        fls = calibrate_narrow(m, x_tr[:200 if quick else CALIB_IMAGES], cfg.act_bits)
        log(f"  {cfg.act_bits}-bit activation FLs {fls}")
    if cfg.correct:
        scales = correct_outputs(m, x_tr[:200 if quick else CALIB_IMAGES])
        log(f"  outputs corrected (per-channel α factors, min and max: {scales})")
    t_conv = time.time() - t0
    rec = {"config": cfg.label(), "group": cfg.group if cfg.method == "fgq" else None,
           "act_bits": cfg.act_bits, "method": cfg.method, "finetune_epochs": finetune,
           "output_correction": cfg.correct}
    meta = [("name", "fashion-ternary"), ("labels", "\n".join(FASHION_LABELS))]
    g = to_graph(m, meta, cfg.act_bits)
    rec["accuracy_no_finetune"] = round(_accuracy_int(g, x_te, y_te), 2)
    rec["seconds_no_finetune"] = round(time.time() - t0, 1)
    log(f"  {cfg.label()}: no fine-tuning {rec['accuracy_no_finetune']:.2f}% "
        f"({t_conv:.1f} s to ternarize)")
    if finetune > 0:
        t1 = time.time()
        hist: List[Dict] = []
        train.train_epochs(m, x_tr, y_tr, finetune, FINETUNE_LR, gen, log, warmup=False,
                           phase="fgq", history=hist, jpeg_p=jpeg_aug)
        g = to_graph(m, meta, cfg.act_bits)
        rec["accuracy_finetuned"] = round(_accuracy_int(g, x_te, y_te), 2)
        rec["seconds_finetune"] = round(time.time() - t1, 1)
        rec["history"] = hist
        log(f"  {cfg.label()}: after {finetune} epochs {rec['accuracy_finetuned']:.2f}% "
            f"({rec['seconds_finetune']:.0f} s)")
    rec["file_size_bytes"] = len(fileformat.to_bytes(g))
    rec["alpha_fl"] = {op_name: sorted(set(int(f) for f in op.flw))
                       for op_name, op in zip(("c1", "c2", "c3", "c4", "c5"), g.ops[:5])}
    rec["activation_fl"] = m.fls()
    return g, rec, m


def reference_rows(fp32: FashionNet, ds: Dict, seed: int = 1, quick: bool = False) -> Dict:
    """FP32 and F8 (BN folded, FLs calibrated, 8-bit weights, no fine-tuning) of the same
    network, with the F8 file's size: the rows FGQ is compared to."""
    gen = torch.Generator().manual_seed(seed)
    n_test = train.QUICK_TEST if quick else len(ds["test_x"])
    x_te, y_te = ds["test_x"][:n_test], ds["test_y"][:n_test].astype(np.int64)
    acc_fp = 100.0 * float(np.mean(train.predict(fp32, torch.from_numpy(x_te.copy())) == y_te))
    base = copy.deepcopy(fp32)
    base.quantized = False
    n_train = train.QUICK_TRAIN if quick else len(ds["train_x"])
    train.calibrate(base, torch.from_numpy(ds["train_x"][:n_train].copy()), gen,
                    2 if quick else train.CALIB_BATCHES)
    base.quantized = True
    from . import export
    g, _ = export.to_graph(base, [("name", "fashion"), ("labels", "\n".join(FASHION_LABELS))])
    return {"fp32": round(acc_fp, 2), "f8_calibration_only": round(_accuracy_int(g, x_te, y_te), 2),
            "f8_file_size_bytes": len(fileformat.to_bytes(g))}


def write_model(g: Graph, rec: Dict, path: str, created_by: str, fp32_acc: Optional[float],
                jpeg_acc: Optional[float] = None) -> int:
    acc = rec.get("accuracy_finetuned", rec["accuracy_no_finetune"])
    what = (f"fine-tuned {rec['finetune_epochs']} epochs" if rec["finetune_epochs"]
            else "no retraining")
    g.meta += [("description", f"Fashion-MNIST classifier, 28x28 grayscale, {rec['config']} "
                               f"ternary weights (c1 and fc 8-bit), {what}"),
               ("created_by", created_by),
               ("quantization", f"fgq group={rec['group'] or 'layer'} "
                                f"act_bits={rec['act_bits']} method={rec['method']}")]
    if fp32_acc is not None:
        g.meta.append(("accuracy.fp32", f"{fp32_acc:.2f}"))
    g.meta.append(("accuracy.int", f"{acc:.2f}"))
    if jpeg_acc is not None:
        g.meta.append(("accuracy.int_jpeg_q90", f"{jpeg_acc:.2f}"))
    tmp = path + ".tmp"
    size = fileformat.write(g, tmp)
    os.replace(tmp, path)
    return size


# ---- zoo architectures (`ternarize CKPT --arch A --data DIR`) --------------------------------

def narrow_values(g: Graph, ternary_ops) -> List[int]:
    """The values 4-bit activations apply to in a zoo graph: the u8 inputs of the ternary ops
    (the image is no op's output and stays 8-bit) and, through a MAXPOOL, the u8 value it
    pools (ResNet's stem: a max of 4-bit values at one FL is 4-bit at that FL). s8 inputs —
    MobileNet-V2's linear bottlenecks and residual stream, signed — keep 8 bits: the 4-bit
    activations are unsigned (FGQ, F8Net)."""
    producer = {op.output: op for op in g.ops}
    out = set()
    for i in ternary_ops:
        v = g.ops[i].input0
        while v in producer and g.values[v].dtype == U8:
            out.add(v)
            if producer[v].type != MAXPOOL:
                break
            v = producer[v].input0
    return sorted(out)


def calibrate_narrow_graph(qat: graphqat.GraphQAT, x: np.ndarray, bits: int) -> Dict[int, int]:
    """`calibrate_narrow` for a zoo graph: one forward pass over the images x (u8 NHWC), each
    of `narrow_values` given `bits` bits and, in the order the ops write them, the FL by
    `narrow_fl` on the reals its op produces (ReLU included) given the FLs chosen before it,
    over the zoo's FL range (zoo.FL_MIN..FL_MAX: these networks' activations are not all
    the Fashion network's size); a MAXPOOL's output takes its input's FL. Returns value
    index → FL."""
    from . import zoo
    g = qat.graph
    narrow = set(narrow_values(g, qat.ternary_ops))
    chosen = {}

    def hook(i, vals, v):
        op = g.ops[i]
        if op.output in narrow:
            out = g.values[op.output]
            out.fl = (g.values[op.input0].fl if op.type == MAXPOOL else
                      narrow_fl(v, bits, range(zoo.FL_MIN, zoo.FL_MAX + 1)))
            out.bits = bits
            chosen[op.output] = out.fl
    qat.eval()
    with torch.no_grad():
        qat(zoo.images_to_float(x), hook)
    return chosen


def correct_graph(qat: graphqat.GraphQAT, x: np.ndarray) -> Dict[int, Tuple[float, float]]:
    """`correct_outputs` for a zoo graph: one forward pass over the images x (u8 NHWC); at each
    ternary op, fed by the corrected ternary ops before it, `correction` against the same op
    with its float weights, then the op's output recomputed corrected. Returns op index →
    (min s_c, max s_c)."""
    from . import zoo
    out = {}

    def hook(i, vals, v):
        if i not in qat.ternary_ops:
            return None
        op = qat.graph.ops[i]
        a = vals[op.input0]
        y = qat.linear(op, a, qat.weights[qat.slot[i]], None)

        def ternary_out(scale):
            qat.alpha_scale[i] = scale
            return qat.linear(op, a, qat.quantized_params(i)[0], None)
        scale, shift, sc = correction(y, ternary_out, qat.alpha_scale.pop(i, None))
        qat.alpha_scale[i] = scale
        qat.bias_shift[i] = shift + qat.bias_shift.get(i, 0.0)
        out[i] = (round(float(sc.min()), 3), round(float(sc.max()), 3))
        w, b, _ = qat.quantized_params(i)
        v = qat.linear(op, a, w, b)
        return torch.relu(v) if op.relu else v
    qat.eval()
    with torch.no_grad():
        qat(zoo.images_to_float(x), hook)
    return out


def _loss_top1(qat: graphqat.GraphQAT, x: np.ndarray, y: np.ndarray) -> Tuple[float, float]:
    """Mean cross-entropy and top-1 % of the fake-quant forward (what the file computes) on
    images x (u8 NHWC), labels y."""
    from . import zoo
    qat.eval()
    with torch.no_grad():
        out = torch.cat([qat(zoo.images_to_float(x[i:i + 32])) for i in range(0, len(x), 32)])
    yt = torch.from_numpy(np.asarray(y, np.int64))
    return (float(F.cross_entropy(out.double(), yt)),
            100.0 * float((out.argmax(1) == yt).double().mean()))


def zoo_run(args, created_by: str, log=print) -> Tuple[Graph, Dict]:
    """A zoo architecture's FP32 weights (an `f8train train --checkpoint` file, either phase,
    or a torchvision-style state_dict) → BN folded, activation FLs calibrated on
    `--calib-images` of the ImageFolder `--data` (zoo.to_graph, as `calibrate` does) →
    every CONV2D/DENSE but the first and the last ternary (graphqat.GraphQAT with
    `ternary_ops`: searched from the folded FP32 weights) → with `--act-bits 4`, the 4-bit
    FLs (`calibrate_narrow_graph`) → with `--correct`, the output correction
    (`correct_graph`), both on the calibration images → with `--finetune E`, E epochs of the
    zoo trainer's quantized loop (zootrain._epochs) with the ternary quantizer in it (STE) on
    every image of `--data` → the graph, and a report."""
    from . import imagefolder, zoo, zootrain
    t0 = time.time()
    if not args.data:
        raise ValueError(f"--arch {args.arch} needs --data, an ImageFolder of calibration images")
    h, w, c = args.input
    x, y, classes = imagefolder.load_folder(args.data, h, w, c, limit=args.calib_images,
                                            seed=args.seed)
    saved = torch.load(args.model, map_location="cpu")
    state = saved["model"] if isinstance(saved, dict) and "phase" in saved else saved
    model = zoo.build_float(args.arch, len(classes), c)
    model.load_state_dict(state)
    what = f"fine-tuned {args.finetune} epochs" if args.finetune else "no retraining"
    meta = [("name", f"{args.arch}-ternary"), ("labels", "\n".join(classes)),
            ("description", f"{args.arch}, FGQ ternary from FP32 weights, calibrated on "
                            f"{len(x)} images of {args.data}, {what}"),
            ("created_by", created_by),
            ("quantization", f"fgq group={args.group} act_bits={args.act_bits} "
                             f"method={args.method}")]
    fp: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}
    g8 = zoo.to_graph(args.arch, model, h, w, c, x, meta, float_params=fp)
    weighted = [i for i, op in enumerate(g8.ops) if op.type in (CONV2D, DENSE)]
    qat = graphqat.GraphQAT(g8, fp, weighted[1:-1], args.group, args.method)
    cfg = Config(args.group, args.act_bits, args.method, bool(args.correct))
    rec = {"arch": args.arch, "config": cfg.label(), "group": cfg.group,
           "act_bits": cfg.act_bits, "method": cfg.method, "finetune_epochs": args.finetune,
           "output_correction": cfg.correct, "calibration_images": len(x),
           "ternary_ops": weighted[1:-1], "eight_bit_ops": [weighted[0], weighted[-1]]}
    log(f"{args.arch}: {cfg.label()}, fine-tuning {args.finetune} epochs; ops "
        f"{weighted[0]} and {weighted[-1]} 8-bit, {len(weighted) - 2} ternary")
    if args.act_bits != 8:
        fls = calibrate_narrow_graph(qat, x, args.act_bits)
        rec["activation_fl_4bit"] = {str(k): v for k, v in fls.items()}
        log(f"  {args.act_bits}-bit activations: {len(fls)} values, FLs "
            f"{sorted(set(fls.values()))}")
    if cfg.correct:
        scales = correct_graph(qat, x)
        lo = min(s[0] for s in scales.values())
        hi = max(s[1] for s in scales.values())
        log(f"  outputs corrected: {len(scales)} ternary ops, per-channel α factors "
            f"{lo}..{hi}")

    def top1(graph):
        return round(100.0 * float(np.mean(simulate.top1(simulate.run(graph, x, batch=32))
                                           == y)), 2)
    g = qat.export(meta)
    rec["accuracy_f8_calibration"] = top1(g8)
    rec["accuracy_no_finetune"] = top1(g)
    rec["seconds_no_finetune"] = round(time.time() - t0, 1)
    log(f"integer top-1 on the {len(x)} calibration images: F8 {rec['accuracy_f8_calibration']:.2f}%, "
        f"ternary {rec['accuracy_no_finetune']:.2f}%")
    if args.finetune > 0:
        t1 = time.time()
        xf, yf, fclasses = imagefolder.load_folder(args.data, h, w, c)
        if fclasses != classes:
            raise ValueError(f"{args.data}: classes changed while it was read")
        loss0, _ = _loss_top1(qat, xf, yf)
        gen = torch.Generator().manual_seed(args.seed)
        torch.manual_seed(args.seed)
        hist: List[Dict] = []
        qat.float()
        zootrain._epochs(qat, qat, xf, yf, args.finetune, FINETUNE_LR, 0.0, args.batch, gen,
                         "fgq", hist, lambda: _loss_top1(qat, xf, yf)[1], log)
        qat.double()
        loss1, acc1 = _loss_top1(qat, xf, yf)
        g = qat.export(meta)
        rec.update(train_images=len(xf), train_loss_no_finetune=round(loss0, 6),
                   train_loss_finetuned=round(loss1, 6), train_accuracy_finetuned=round(acc1, 2),
                   accuracy_finetuned=top1(g), seconds_finetune=round(time.time() - t1, 1),
                   history=hist)
        log(f"  after {args.finetune} epochs: loss on the {len(xf)} training images "
            f"{loss0:.4f} -> {loss1:.4f}; integer top-1 on the calibration images "
            f"{rec['accuracy_finetuned']:.2f}%")
    # the float64 fake-quant forward predicts the integers of the file exactly
    ints = simulate.run(g, x, batch=32)
    with torch.no_grad():
        fq = np.concatenate([qat.double()(zoo.images_to_float(x[i:i + 32])).numpy()
                             for i in range(0, len(x), 32)])
    exact = bool(np.array_equal(fq * 2.0 ** g.values[g.output_value].fl, ints))
    rec["fake_quant_float64_equals_integers"] = exact
    log(f"float64 fake-quant logits equal the integers: {exact}")
    g.meta.append(("accuracy.int", f"{rec.get('accuracy_finetuned', rec['accuracy_no_finetune']):.2f}"))
    return g, rec


def main(args, created_by: str) -> int:
    torch.set_num_threads(os.cpu_count() or 1)
    from_f8 = args.model.endswith(".f8") and not args.arch
    # the output correction is the default of conversions without fine-tuning (and needs
    # training images, which a .f8 source does not come with)
    correct = args.correct if args.correct is not None else not (args.finetune or from_f8)
    if args.arch:
        t0 = time.time()
        args.correct = correct
        g, rec = zoo_run(args, created_by)
        fileformat.set_packing(g, fileformat.PACKINGS[args.packing])
        rec["packing"] = args.packing
        tmp = args.out + ".tmp"
        size = fileformat.write(g, tmp)
        os.replace(tmp, args.out)
        rec["file_size_bytes"] = size
        rec["seconds"] = round(time.time() - t0, 1)
        print(f"wrote {args.out}: {size} bytes ({rec['seconds']:.1f} s)")
        if args.report:
            with open(args.report, "w") as f:
                json.dump(rec, f, indent=2)
                f.write("\n")
        return 0
    cfg = Config(group=args.group, act_bits=args.act_bits, method=args.method, correct=correct)
    packing = fileformat.PACKINGS[args.packing]
    if from_f8:
        if args.finetune or args.act_bits != 8 or correct:
            raise ValueError("a .f8 source is ternarized as it is, with 8-bit activations "
                             "and no --finetune or --correct (it brings no training images): "
                             "start from a fashion checkpoint for those")
        t0 = time.time()
        g = ternarize_graph(fileformat.read(args.model), args.group, args.method)
        fileformat.set_packing(g, packing)
        g.meta = [(k, v) for k, v in g.meta if k not in ("created_by", "accuracy.int")]
        g.meta += [("created_by", created_by),
                   ("quantization", f"fgq group={args.group} act_bits=8 method={args.method}")]
        size = fileformat.write(g, args.out)
        print(f"wrote {args.out}: {size} bytes ({time.time() - t0:.1f} s)")
        return 0
    fp32, ck = load_fp32(args.model)
    ds = data.load_fashion(args.data)
    log = print
    log(f"{cfg.label()}, fine-tuning {args.finetune} epochs, from {args.model}")
    g, rec, _ = run_one(fp32, cfg, args.finetune, ds, seed=args.seed, quick=args.quick)
    fileformat.set_packing(g, packing)
    rec["packing"] = args.packing
    jpeg = None
    if not args.quick:
        imgs = train.jpeg_round_trip(ds["test_x"], train.JPEG_QUALITY)
        if imgs is not None:
            jpeg = round(_accuracy_int(g, imgs, ds["test_y"].astype(np.int64)), 2)
            rec["accuracy_jpeg_q90"] = jpeg
            log(f"  integer-simulated top-1 on JPEG (quality {train.JPEG_QUALITY}) {jpeg:.2f}%")
    size = write_model(g, rec, args.out, created_by, ck["state"].get("acc_fp"), jpeg)
    rec["file_size_bytes"] = size       # with its metadata
    log(f"wrote {args.out}: {size} bytes")
    if args.report:
        with open(args.report, "w") as f:
            json.dump(rec, f, indent=2)
            f.write("\n")
    return 0


# In the order they run (the report is rewritten after each row): the shipped configuration
# and the two issue targets first.
TABLE = [Config(4, 8), Config(64, 8), Config(4, 4), Config(16, 8), Config(16, 4), Config(64, 4),
         Config(4, 8, "twn"), Config(4, 4, "twn")]


def run_table(ckpt: str, out_dir: str, finetune: int, data_root: str, created_by: str,
              quick: bool = False, log=print, correct: bool = False) -> Dict:
    """Every row of docs/TRAINING.md's FGQ table from one FP32 checkpoint: FP32, F8, and each
    FGQ/TWN configuration without and with `finetune` epochs; each model written to
    out_dir/<name>.f8 and all of it to out_dir/fgq_report.json (+ .png)."""
    torch.set_num_threads(os.cpu_count() or 1)
    os.makedirs(out_dir, exist_ok=True)
    fp32, _ = load_fp32(ckpt)
    ds = data.load_fashion(data_root)
    t0 = time.time()
    report = {"checkpoint": ckpt, "reference": reference_rows(fp32, ds, quick=quick),
              "rows": [], "created_by": created_by, "cpu_model": train.cpu_model(),
              "cpu_count": os.cpu_count(), "threads": torch.get_num_threads(),
              "torch_version": torch.__version__, "quick": quick}
    log(f"FP32 {report['reference']['fp32']:.2f}%, F8 (calibration only) "
        f"{report['reference']['f8_calibration_only']:.2f}%")
    n_test = train.QUICK_TEST if quick else len(ds["test_x"])
    jpeg = train.jpeg_round_trip(ds["test_x"][:n_test], train.JPEG_QUALITY)
    y_te = ds["test_y"][:n_test].astype(np.int64)
    path = os.path.join(out_dir, "fgq_report" + ("_corrected" if correct else "") + ".json")
    for cfg in TABLE:
        cfg = Config(cfg.group, cfg.act_bits, cfg.method, correct)
        g, rec, _ = run_one(fp32, cfg, finetune, ds, quick=quick, log=log)
        if jpeg is not None:
            rec["accuracy_jpeg_q90"] = round(_accuracy_int(g, jpeg, y_te), 2)
        name = (f"fgq_n{cfg.group}" if cfg.method == "fgq" else "twn") + f"_a{cfg.act_bits}" + \
            ("_corrected" if correct else "")
        rec["model"] = os.path.join(out_dir, name + ".f8")
        write_model(g, rec, rec["model"], created_by, report["reference"]["fp32"],
                    rec.get("accuracy_jpeg_q90"))
        # sizes without metadata, like the F8 reference's (the weights are what differ)
        rec["size_vs_f8"] = round(rec["file_size_bytes"] /
                                  report["reference"]["f8_file_size_bytes"], 3)
        report["rows"].append(rec)
        report["seconds_total"] = round(time.time() - t0, 1)
        with open(path, "w") as f:          # rewritten after every row: a partial table stays
            json.dump(report, f, indent=2)
            f.write("\n")
    png = plot(report, path[:-len(".json")] + ".png")
    log(f"wrote {path}" + (f" and {png}" if png else ""))
    return report


def plot(report: Dict, png_path: str) -> Optional[str]:
    """Bars of top-1 per configuration, without and with fine-tuning, FP32 and F8 as lines."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    rows = report["rows"]
    names = [r["config"] for r in rows]
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(rows) + 1.5))
    ax.barh(y - 0.2, [r["accuracy_no_finetune"] for r in rows], 0.4, label="no retraining")
    ax.barh(y + 0.2, [r.get("accuracy_finetuned", np.nan) for r in rows], 0.4,
            label="fine-tuned")
    ref = report["reference"]
    ax.axvline(ref["fp32"], color="k", ls="--", label=f"FP32 {ref['fp32']:.2f}")
    ax.axvline(ref["f8_calibration_only"], color="gray", ls=":",
               label=f"F8 {ref['f8_calibration_only']:.2f}")
    ax.set_yticks(y)
    ax.set_yticklabels(names)
    lo = min(r["accuracy_no_finetune"] for r in rows) - 1
    ax.set_xlim(max(lo, 0), ref["fp32"] + 1)
    ax.set_xlabel("top-1 % (integer-simulated, Fashion-MNIST test)")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(png_path, dpi=80)
    plt.close(fig)
    return png_path

"""Random-weight models with valid shapes, for testing the engine and the daemon without training.

`small_cnn` is a Fashion-MNIST-shaped classifier (so the daemon can serve something before the
real model exists); `op_zoo` strings together every op and option FORMAT.md §3 defines, so that
the bit-exact test against the C engine covers all of them.
"""

from __future__ import annotations

import math

import numpy as np

from . import simulate
from .builder import GraphBuilder
from .fileformat import S8, S32, U8, Graph

FASHION_LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                  "Sneaker", "Bag", "Ankle boot"]


def default_labels(n: int):
    return FASHION_LABELS if n == len(FASHION_LABELS) else [f"class {i}" for i in range(n)]


class _Weights:
    """Random s8 weights whose real values follow He initialisation, so activations keep roughly
    the scale of the input from layer to layer and the chosen FLs neither saturate nor vanish."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def tensors(self, shape, fl_x: int, flw_jitter: bool = True, flw=None):
        rng = self.rng
        cout = shape[0]
        fan_in = int(np.prod(shape[1:]))
        w = np.clip(np.rint(rng.normal(0, 48, size=shape)), -127, 127).astype(np.int8)
        if flw is None:
            base = round(math.log2(48 * math.sqrt(fan_in / 2)))
            jitter = rng.integers(-1, 2, size=cout) if flw_jitter else np.zeros(cout, int)
            flw = base + jitter
        flw = np.asarray(flw, np.int8)
        b_real = rng.normal(0, 0.1, size=cout)
        bias = np.rint(b_real * 2.0 ** (flw.astype(np.int64) + fl_x)).astype(np.int32)
        return w, bias, flw


def small_cnn(h=28, w=28, c=1, classes=10, seed=0) -> Graph:
    """conv3x3+ReLU → maxpool2 → conv3x3/2+ReLU → global avgpool → dense."""
    rng = np.random.default_rng(seed)
    W = _Weights(rng)
    b = GraphBuilder(h, w, c, fl=8)
    x = 0
    a = b.conv(x, *W.tensors((8, 3, 3, c), 8), pads=1, relu=True, dtype=U8, fl=6)
    p = b.maxpool(a, 2, 2)
    cc = b.conv(p, *W.tensors((16, 3, 3, 8), 6), stride=2, pads=1, relu=True, dtype=U8, fl=6)
    v = b.value(cc)
    area = v.h * v.w
    shift = max(0, round(math.log2(area)))
    g = b.avgpool(cc, (v.h, v.w), 1, shift, dtype=U8, fl=6)
    wd, bd, fd = W.tensors((classes, 16), 6, flw_jitter=False)
    logits = b.dense(g, wd, bd, fd, dtype=S32, fl=int(fd[0]) + 6)
    g = b.build(logits, _meta("random", classes, seed, "small random-weight CNN"))
    return calibrate(g, calibration_images(h, w, c, seed))


def op_zoo(h=28, w=28, c=1, classes=10, seed=0) -> Graph:
    """Every op and option of FORMAT.md §3 at least once; see the comment on each line."""
    if h < 12 or w < 12:
        raise ValueError("the op zoo needs an input of at least 12x12")
    rng = np.random.default_rng(seed)
    W = _Weights(rng)
    b = GraphBuilder(h, w, c, fl=8)
    # 3x3 pad 1, RELU, u8 out; per-channel FL_w differing between channels (jitter).
    a = b.conv(0, *W.tensors((8, 3, 3, c), 8), pads=1, relu=True, dtype=U8, fl=6)
    # strided, asymmetric padding (top 0, left 1, bottom 1, right 2), RELU off, s8 out.
    s = b.conv(a, *W.tensors((8, 3, 3, 8), 6), stride=2, pads=(0, 1, 1, 2), dtype=S8, fl=5)
    # depthwise (groups = Cin = Cout) reading an s8 input.
    dw = b.conv(s, *W.tensors((8, 3, 3, 1), 5), pads=1, groups=8, relu=True, dtype=U8, fl=6)
    # grouped (groups = 2, not depthwise), s8 out.
    gr = b.conv(dw, *W.tensors((8, 3, 3, 4), 6), pads=1, groups=2, dtype=S8, fl=5)
    # 1x1 on s8 into s32; channel FL_w −1..7 (a negative FL too) span left shifts
    # (F_int < FL_out) and right shifts.
    flw = np.array([-1, 1, 2, 3, 4, 5, 6, 7])
    e = b.conv(gr, *W.tensors((8, 1, 1, 8), 5, flw=flw), dtype=S32, fl=9)
    # ADD mixed dtypes s32 + u8 with different FLs (9 vs 6), RELU on, u8 out.
    f = b.add(e, dw, relu=True, dtype=U8, fl=6)
    # ADD s8 + s32 without RELU into s32 at a higher FL than both: a left-shift epilogue.
    g = b.add(gr, e, dtype=S32, fl=10)
    # MAXPOOL with padding over signed values: padding must be skipped, not read as 0.
    mp = b.maxpool(gr, 3, 2, 1, dtype=S8, fl=5)
    # MAXPOOL with asymmetric padding, u8 in, s32 out at a higher FL (left shift), RELU flag on.
    mq = b.maxpool(f, 2, 2, (0, 0, 1, 1), relu=True, dtype=S32, fl=8)
    # AVGPOOL, power-of-two window 2x2 (avg_shift 2), RELU on.
    ap = b.avgpool(g, 2, 2, 2, relu=True, dtype=U8, fl=6)
    # AVGPOOL, non-power-of-two window 3x3 (area 9, avg_shift round(log2 9) = 3), s8 out.
    aq = b.avgpool(mp, 3, 1, 3, dtype=S8, fl=5)
    # global AVGPOOL over a non-square window, s32 in.
    vq = b.value(mq)
    ag = b.avgpool(mq, (vq.h, vq.w), 1, round(math.log2(vq.h * vq.w)), dtype=S8, fl=5)
    # DENSE from u8 (RELU on) and from s8 (RELU off), flattening NHWC.
    d1 = b.dense(ap, *W.tensors((16, b.value(ap).h * b.value(ap).w * 8), 6), relu=True,
                 dtype=U8, fl=5)
    d2 = b.dense(aq, *W.tensors((16, b.value(aq).h * b.value(aq).w * 8), 5), dtype=S8, fl=5)
    d3 = b.dense(ag, *W.tensors((16, 8), 5), dtype=S8, fl=5)
    s1 = b.add(d1, d2, dtype=S8, fl=4)
    s2 = b.add(s1, d3, dtype=S8, fl=4)
    # logits: s32 output with a right shift of 1 (F_int = FL_w + 4, FL_out one less).
    wl, bl, fl_l = W.tensors((classes, 16), 4, flw_jitter=False)
    logits = b.dense(s2, wl, bl, fl_l, dtype=S32, fl=int(fl_l[0]) + 4 - 1)
    g = b.build(logits, _meta("zoo", classes, seed, "op zoo: every op and option, random weights"))
    return calibrate(g, calibration_images(h, w, c, seed))


def calibration_images(h, w, c, seed, n=16) -> np.ndarray:
    """Half uniform noise, half smooth blobs (coarse noise blown up), as u8 images."""
    rng = np.random.default_rng(seed + 1000)
    noise = rng.integers(0, 256, size=(n // 2, h, w, c), dtype=np.uint8)
    coarse = rng.integers(0, 256, size=(n - n // 2, (h + 3) // 4, (w + 3) // 4, c))
    smooth = np.repeat(np.repeat(coarse, 4, axis=1), 4, axis=2)[:, :h, :w, :]
    return np.concatenate([noise, smooth.astype(np.uint8)])


def calibrate(g: Graph, images: np.ndarray) -> Graph:
    """Sets the FL of every u8/s8 value from the std of what reaches it on `images`, with the
    F8Net rule (C = 70 unsigned, 40 signed), so random models neither saturate nor round to
    zero. s32 values keep the requant shift their builder chose (FL_out − F_int): the op zoo
    picks those to force left shifts and mixed alignments. FLs may leave training's [0, 8]
    (FORMAT.md §1 allows [-32, 32]) and the zoo should exercise that too."""
    designed = {k: g.values[op.output].fl - int(np.min(simulate.f_int(g, op)))
                for k, op in enumerate(g.ops)}
    vals = {0: images.astype(np.int64)}
    for k, op in enumerate(g.ops):
        v, f_int = simulate.execute_op(g, op, vals)
        out = g.values[op.output]
        if out.dtype == S32:
            out.fl = int(np.min(f_int)) + designed[k]
        else:
            real = v.astype(np.float64) * np.exp2(-np.asarray(f_int, np.float64))
            if op.relu:
                real = np.maximum(real, 0)
            std = max(float(real.std()), 1e-6)
            out.fl = int(np.clip(math.floor(math.log2((70 if out.dtype == U8 else 40) / std)),
                                 -8, 16))
        vals[op.output] = simulate.epilogue(v, f_int, out.dtype, out.fl, op.relu)
    return g


def _meta(name, classes, seed, description):
    return [("name", name), ("labels", "\n".join(default_labels(classes))),
            ("description", f"{description} (seed {seed}); not trained, outputs are meaningless"),
            ("created_by", "f8train random-model")]

"""Integer simulator: executes a `.f8` graph with exactly the arithmetic of docs/FORMAT.md.

It is the reference the C engine is tested against bit for bit, so every step below names the
FORMAT.md section it implements. All values are held as int64 numpy arrays, NHWC, batch first.

Speed: convolutions and dense layers are im2col + float64 matmul. That is exact, not an
approximation: every product is an integer of at most 255·127 < 2^15 and a sum of fewer than
2^38 of them stays below 2^53, where float64 represents every integer; the result is converted
back to int64 before anything else touches it.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from .fileformat import ADD, AVGPOOL, CONV2D, DENSE, DTYPE_RANGE, MAXPOOL, Graph, Op

_I64_MIN = np.iinfo(np.int64).min


# ---------------------------------------------------------------------------------------------
# §1.1 Requantization
# ---------------------------------------------------------------------------------------------

def requant(v, n, dtype: int) -> np.ndarray:
    """requant(v, n, dtype) of FORMAT.md §1.1, elementwise; `n` broadcasts against `v`
    (a scalar, or one shift per output channel on the last axis)."""
    v = np.asarray(v, dtype=np.int64)
    n = np.broadcast_to(np.asarray(n, dtype=np.int64), v.shape)
    rshift = np.maximum(n, 0)
    # n > 0: q = floor(v / 2^n) (an arithmetic right shift floors), r = v − q·2^n, 0 ≤ r < 2^n
    q = np.right_shift(v, rshift)
    r = v - np.left_shift(q, rshift)
    # "if r > 2^(n-1), or r == 2^(n-1) and q is odd, then q = q + 1" (round half to even)
    half = np.where(n > 0, np.left_shift(np.int64(1), np.maximum(n - 1, 0)), 0)
    up = (n > 0) & ((r > half) | ((r == half) & ((q & 1) == 1)))
    q = q + up
    # n ≤ 0: q = v · 2^(−n), a left shift in 64 bits (numpy wraps at 64 bits like C on uint64)
    q = np.where(n > 0, q, np.left_shift(v, np.maximum(-n, 0)))
    # then clamp q to the range of dtype (§1 table)
    lo, hi = DTYPE_RANGE[dtype]
    return np.clip(q, lo, hi)


def wrap32(v: np.ndarray) -> np.ndarray:
    """§1.2: accumulators are s32 computed in 32-bit two's complement (wrapping)."""
    return ((v.astype(np.int64) + 2**31) & 0xFFFFFFFF) - 2**31


def epilogue(v: np.ndarray, f_int, out_dtype: int, out_fl: int, relu: bool) -> np.ndarray:
    """§3: "if RELU, v = max(v, 0); then out = requant(v, F_int − FL_out, dtype_out)"; an s32
    output is clamped to ±(2^31−1), which requant's clamp for dtype s32 already does."""
    if relu:
        v = np.maximum(v, 0)
    return requant(v, np.asarray(f_int, np.int64) - out_fl, out_dtype)


# ---------------------------------------------------------------------------------------------
# §3 Operations: each returns (v, F_int) before the epilogue
# ---------------------------------------------------------------------------------------------

def _windows(x: np.ndarray, op: Op, pad_value: int) -> np.ndarray:
    """Padded input viewed as windows: (N, Ho, Wo, kh, kw, C). Window (y, x) covers input rows
    y·stride_h + ky − pad_top and columns x·stride_w + kx − pad_left (§3 CONV2D)."""
    n, h, w, c = x.shape
    xp = np.full((n, h + op.pad_top + op.pad_bottom, w + op.pad_left + op.pad_right, c),
                 pad_value, dtype=x.dtype)
    xp[:, op.pad_top:op.pad_top + h, op.pad_left:op.pad_left + w, :] = x
    ho = (h + op.pad_top + op.pad_bottom - op.kernel_h) // op.stride_h + 1   # §3 shape rule
    wo = (w + op.pad_left + op.pad_right - op.kernel_w) // op.stride_w + 1
    sn, sh, sw, sc = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp, shape=(n, ho, wo, op.kernel_h, op.kernel_w, c),
        strides=(sn, sh * op.stride_h, sw * op.stride_w, sh, sw, sc), writeable=False)


def conv2d(x: np.ndarray, op: Op, fl_x: int) -> Tuple[np.ndarray, np.ndarray]:
    # §3 CONV2D: in(·) is 0 outside the image (padding is the real number 0)
    win = _windows(x, op, 0)
    n, ho, wo, kh, kw, cin = win.shape
    cout = op.weights.shape[0]
    groups = op.groups
    cin_g, cout_g = cin // groups, cout // groups
    acc = np.empty((n, ho, wo, cout), dtype=np.int64)
    for g in range(groups):
        # channels g·(Cin/G) + i of the input meet output channels o with o / (Cout/G) = g
        cols = win[..., g * cin_g:(g + 1) * cin_g].reshape(n * ho * wo, kh * kw * cin_g)
        wg = op.weights[g * cout_g:(g + 1) * cout_g].reshape(cout_g, kh * kw * cin_g)
        s = cols.astype(np.float64) @ wg.astype(np.float64).T       # exact, see module doc
        acc[..., g * cout_g:(g + 1) * cout_g] = s.astype(np.int64).reshape(n, ho, wo, cout_g)
    # v = bias[o] + Σ in·w, in s32 (§1.2); F_int[o] = FL_w[o] + FL_x
    v = wrap32(acc + op.bias.astype(np.int64))
    return v, op.flw.astype(np.int64) + fl_x


def dense(x: np.ndarray, op: Op, fl_x: int) -> Tuple[np.ndarray, np.ndarray]:
    # §3 DENSE: the input read as a vector of K = H·W·Cin in NHWC order
    n = x.shape[0]
    flat = x.reshape(n, -1).astype(np.float64)
    s = (flat @ op.weights.astype(np.float64).T).astype(np.int64)
    v = wrap32(s + op.bias.astype(np.int64))          # v[o] = bias[o] + Σ_k x[k]·w[o][k]
    return v.reshape(n, 1, 1, -1), op.flw.astype(np.int64) + fl_x


def add(a: np.ndarray, fa: int, b: np.ndarray, fb: int) -> Tuple[np.ndarray, int]:
    # §3 ADD: F_int = max(Fa, Fb); v = a·2^(F_int−Fa) + b·2^(F_int−Fb), exact in 64 bits
    f = max(fa, fb)
    return np.left_shift(a, f - fa) + np.left_shift(b, f - fb), f


def maxpool(x: np.ndarray, op: Op, fl_in: int) -> Tuple[np.ndarray, int]:
    # §3 MAXPOOL: the maximum over window positions inside the image; padding is skipped,
    # which padding with the smallest int64 (never the maximum of a non-empty set) achieves.
    if op.pad_top >= op.kernel_h or op.pad_bottom >= op.kernel_h or \
            op.pad_left >= op.kernel_w or op.pad_right >= op.kernel_w:
        # Such a window could lie wholly in the padding, where the maximum is undefined.
        raise ValueError("MAXPOOL padding must be smaller than the kernel")
    win = _windows(x, op, _I64_MIN)
    return win.max(axis=(3, 4)), fl_in


def avgpool(x: np.ndarray, op: Op, fl_in: int) -> Tuple[np.ndarray, int]:
    # §3 AVGPOOL: v = the sum over the window, F_int = FL_in + avg_shift (padding is 0)
    win = _windows(x, op, 0)
    return win.sum(axis=(3, 4), dtype=np.int64), fl_in + op.avg_shift


def f_int(g: Graph, op: Op):
    """F_int of an op's pre-epilogue integers (§3), without running it: one per output channel
    for CONV2D/DENSE, a scalar otherwise."""
    fa = g.values[op.input0].fl
    if op.type in (CONV2D, DENSE):
        return op.flw.astype(np.int64) + fa
    if op.type == ADD:
        return max(fa, g.values[op.input1].fl)
    return fa + (op.avg_shift if op.type == AVGPOOL else 0)


def execute_op(g: Graph, op: Op, vals: Dict[int, np.ndarray]):
    """Runs one op on the values computed so far; returns (v, F_int) before the epilogue."""
    a = vals[op.input0]
    fa = g.values[op.input0].fl
    if op.type == CONV2D:
        return conv2d(a, op, fa)
    if op.type == DENSE:
        return dense(a, op, fa)
    if op.type == ADD:
        return add(a, fa, vals[op.input1], g.values[op.input1].fl)
    if op.type == MAXPOOL:
        return maxpool(a, op, fa)
    if op.type == AVGPOOL:
        return avgpool(a, op, fa)
    raise ValueError(f"unknown op type {op.type}")


# ---------------------------------------------------------------------------------------------
# Whole graph
# ---------------------------------------------------------------------------------------------

def run_values(g: Graph, images: np.ndarray,
               observe: Optional[Callable[[int, np.ndarray, np.ndarray], None]] = None
               ) -> Dict[int, np.ndarray]:
    """Every value of the graph for one batch. `images`: (N, H, W, C) uint8, the input value as
    it is (§4 step 3). `observe(op_index, v, F_int)` sees each op's pre-epilogue integers."""
    v0 = g.values[0]
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.shape[1:] != (v0.h, v0.w, v0.c):
        raise ValueError(f"images must be uint8 (N, {v0.h}, {v0.w}, {v0.c})")
    vals = {0: images.astype(np.int64)}
    for k, op in enumerate(g.ops):          # §2.3: ops are executed in order
        v, f_int = execute_op(g, op, vals)
        if observe is not None:
            observe(k, v, f_int)
        out = g.values[op.output]
        vals[op.output] = epilogue(v, f_int, out.dtype, out.fl, op.relu)
    return vals


def run(g: Graph, images: np.ndarray, batch: int = 250) -> np.ndarray:
    """The s32 logits (N, num_classes) as int64, in chunks of `batch` images to bound memory."""
    images = np.asarray(images)
    out: List[np.ndarray] = []
    for i in range(0, len(images), batch):
        vals = run_values(g, images[i:i + batch])
        out.append(vals[g.output_value].reshape(len(images[i:i + batch]), -1))
    if not out:
        return np.zeros((0, g.num_classes), np.int64)
    return np.concatenate(out)


def top1(logits: np.ndarray) -> np.ndarray:
    """§5: ranking on the integers, ties broken by the lower class index (np.argmax does)."""
    return np.argmax(logits, axis=1)

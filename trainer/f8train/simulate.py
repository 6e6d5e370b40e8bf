"""Integer simulator: executes a `.f8` graph with exactly the arithmetic of docs/FORMAT.md.

It is the reference the C engine is tested against bit for bit, so every step below names the
FORMAT.md section it implements. All values are held as int64 numpy arrays, NHWC, batch first.

Speed without giving up exactness. The sums Σ in·w of CONV2D and DENSE are computed in floating
point, on integers: every product is an integer below 255·127 < 2^15, and a floating-point sum
of integers is exact, in any order, as long as every partial sum stays below 2^24 (float32) or
2^53 (float64). Every partial sum is bounded by B = max|in| · max_o Σ|w[o]|, known from the
weights and the input dtype before running. When B < 2^24 the sums go to torch's float32
convolution (direct algorithm, no Winograd or other transforms, so it only multiplies and adds);
otherwise to torch's float64 convolution (CPU float64 has no transformed algorithms either: im2col
and a matrix product; B < 2^53 always, FORMAT.md §1.2), or without torch (or with FAST_SUMS off)
to im2col + a float64 matmul in numpy. Either way the result is converted back to int64 before
anything else touches it, and the tests compare the routes.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from .fileformat import (ADD, AVGPOOL, CONV2D, DENSE, DTYPE_RANGE, MAXPOOL, Graph, Op,
                         value_range)

try:  # optional: only the fast route for sums needs it
    import torch
    import torch.nn.functional as _F
except ImportError:  # pragma: no cover
    torch = None

_I64_MIN = np.iinfo(np.int64).min
FLOAT32_EXACT = 2**24
FAST_SUMS = True  # tests switch this off to check the float64 route against the float32 one


# ---------------------------------------------------------------------------------------------
# §1.1 Requantization
# ---------------------------------------------------------------------------------------------

def requant(v, n, dtype: int, bits: int = 0) -> np.ndarray:
    """requant(v, n, dtype) of FORMAT.md §1.1, elementwise; `n` broadcasts against `v`
    (a scalar, or one shift per output channel on the last axis). `bits`: the output value's
    word length (§1, §2.2; 0 = the dtype's full width)."""
    v = np.asarray(v, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    q = None
    if np.any(n > 0):
        rshift = np.maximum(n, 0)
        # n > 0: q = floor(v / 2^n) (an arithmetic right shift floors),
        #        r = v − q·2^n, so 0 ≤ r < 2^n
        q = np.right_shift(v, rshift)
        r = v - np.left_shift(q, rshift)
        # "if r > 2^(n-1), or r == 2^(n-1) and q is odd, then q = q + 1" (round half to even);
        # where n ≤ 0 we set half = 2^62 so that r (= 0 there) never rounds up.
        half = np.where(n > 0, np.left_shift(np.int64(1), np.maximum(n - 1, 0)), np.int64(1) << 62)
        q += (r > half) | ((r == half) & ((q & 1) == 1))
    if np.any(n <= 0):
        # n ≤ 0: q = v · 2^(−n), a left shift in 64 bits (numpy wraps at 64 bits)
        left = np.left_shift(v, np.maximum(-n, 0))
        q = left if q is None else np.where(n > 0, q, left)
    # then clamp q to the range of dtype and word length (§1 table)
    lo, hi = value_range(dtype, bits)
    return np.clip(q, lo, hi)


def wrap32(v: np.ndarray) -> np.ndarray:
    """§1.2: accumulators are s32 computed in 32-bit two's complement (wrapping), which
    equals the exact sum whenever that fits; so only out-of-range sums are touched."""
    v = np.asarray(v, dtype=np.int64)
    if v.size and (v.max() > 2**31 - 1 or v.min() < -2**31):
        v = ((v + 2**31) & 0xFFFFFFFF) - 2**31
    return v


def epilogue(v: np.ndarray, f_int, out_dtype: int, out_fl: int, relu: bool,
             out_bits: int = 0) -> np.ndarray:
    """§3: "if RELU, v = max(v, 0); then out = requant(v, F_int − FL_out, dtype_out)"; an s32
    output is clamped to ±(2^31−1), which requant's clamp for dtype s32 already does; a u8/s8
    output with fewer bits (§2.2) to its narrower range."""
    if relu:
        v = np.maximum(v, 0)
    return requant(v, np.asarray(f_int, np.int64) - out_fl, out_dtype, out_bits)


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


def _sum_bound(op: Op, in_dtype: int) -> int:
    """B = max|in| · max_o Σ_k |w[o][k]|: no partial sum of any output can exceed it."""
    lo, hi = DTYPE_RANGE[in_dtype]
    per_out = np.abs(op.weights.astype(np.int64)).reshape(op.weights.shape[0], -1).sum(axis=1)
    return max(abs(lo), abs(hi)) * int(per_out.max())


def _use_float32(op: Op, in_dtype: int) -> bool:
    return FAST_SUMS and torch is not None and _sum_bound(op, in_dtype) < FLOAT32_EXACT


def _conv_sums_float32(x: np.ndarray, op: Op, dt=np.float32) -> np.ndarray:
    """Σ in·w through torch's float32 conv; exact because B < 2^24 (module docstring).
    With dt = float64, exact for every bound a valid file has (B < 2^53)."""
    t = torch.from_numpy(x.astype(dt)).permute(0, 3, 1, 2)                   # NHWC → NCHW view
    t = _F.pad(t, (op.pad_left, op.pad_right, op.pad_top, op.pad_bottom))     # zeros, §3
    w = torch.from_numpy(op.weights.astype(dt)).permute(0, 3, 1, 2)          # [o][i][ky][kx]
    with torch.no_grad():
        y = _F.conv2d(t, w, None, (op.stride_h, op.stride_w), 0, 1, op.groups)
    return y.permute(0, 2, 3, 1).numpy().astype(np.int64)


def _conv_sums_float64(x: np.ndarray, op: Op) -> np.ndarray:
    """Σ in·w by im2col and a float64 matmul, group by group."""
    # The input is turned into float64 once, before im2col, so the patch matrix is built once.
    win = _windows(x.astype(np.float64), op, 0)        # in(·) = 0 in the padding (§3)
    n, ho, wo, kh, kw, cin = win.shape
    cout = op.weights.shape[0]
    cin_g, cout_g = cin // op.groups, cout // op.groups
    acc = np.empty((n, ho, wo, cout), dtype=np.int64)
    for g in range(op.groups):
        # channels g·(Cin/G) + i of the input meet output channels o with o / (Cout/G) = g
        cols = win[..., g * cin_g:(g + 1) * cin_g].reshape(n * ho * wo, kh * kw * cin_g)
        wg = op.weights[g * cout_g:(g + 1) * cout_g].reshape(cout_g, kh * kw * cin_g)
        s = cols @ wg.astype(np.float64).T
        acc[..., g * cout_g:(g + 1) * cout_g] = s.reshape(n, ho, wo, cout_g)
    return acc


def conv2d(x: np.ndarray, op: Op, fl_x: int, in_dtype: int) -> Tuple[np.ndarray, np.ndarray]:
    # §3 CONV2D: v[y][x][o] = bias[o] + Σ_{ky,kx,i} in(y·stride_h + ky − pad_top,
    #            x·stride_w + kx − pad_left, g·(Cin/G) + i) · w[o][ky][kx][i], g = o / (Cout/G)
    if _use_float32(op, in_dtype):
        acc = _conv_sums_float32(x, op)
    elif FAST_SUMS and torch is not None:
        acc = _conv_sums_float32(x, op, np.float64)
    else:
        acc = _conv_sums_float64(x, op)
    acc += op.bias.astype(np.int64)
    # computed in s32 (§1.2); F_int[o] = FL_w[o] + FL_x
    return wrap32(acc), op.flw.astype(np.int64) + fl_x


def dense(x: np.ndarray, op: Op, fl_x: int, in_dtype: int) -> Tuple[np.ndarray, np.ndarray]:
    # §3 DENSE: the input read as a vector of K = H·W·Cin in NHWC order
    n = x.shape[0]
    if _use_float32(op, in_dtype):
        flat = torch.from_numpy(x.reshape(n, -1).astype(np.float32))
        s = (flat @ torch.from_numpy(op.weights.astype(np.float32)).T).numpy()
    else:
        s = x.reshape(n, -1).astype(np.float64) @ op.weights.astype(np.float64).T
    # v[o] = bias[o] + Σ_k x[k]·w[o][k], in s32 (§1.2)
    v = wrap32(s.astype(np.int64) + op.bias.astype(np.int64))
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
        return conv2d(a, op, fa, g.values[op.input0].dtype)
    if op.type == DENSE:
        return dense(a, op, fa, g.values[op.input0].dtype)
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
        vals[op.output] = epilogue(v, f_int, out.dtype, out.fl, op.relu, out.bits)
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

"""Fixed-point fake quantization (F8Net brief §1-§2), mirroring the integer path of
docs/FORMAT.md so that the trained forward and the exported file compute the same numbers.

A value q·2^-FL is represented in torch by the real number itself. Multiplying by 2^FL is exact
in floating point, `torch.round` rounds half to even exactly like requant (FORMAT.md §1.1), and
clamping to the dtype range is the §1.1 clamp. So `fake_quant(acc, FL_y, u8)` of a real
accumulator equals requant(acc_int, F_int − FL_y, u8) · 2^-FL_y whenever acc is exact (always in
float64; in float32 up to 2^24 units).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

U8_RANGE = (0, 255)
S8_RANGE = (-127, 127)
S32_RANGE = (-(2**31 - 1), 2**31 - 1)

# F8Net's std rule constants (brief §2: 38.05 and 69.02 rounded up).
C_SIGNED = 40.0
C_UNSIGNED = 70.0


class _FixQuant(torch.autograd.Function):
    """clamp(round(x·scale), lo, hi)/scale, scale = 2^FL (a number, or a tensor that broadcasts:
    one FL per channel), with a straight-through gradient that passes only where the rounded
    value lies strictly inside (lo, hi): values that round onto a bound get zero gradient, as in
    F8Net's `q_k` mask. For u8 that zero below 1 LSB is the ReLU gradient."""

    @staticmethod
    def forward(ctx, x, scale, lo: int, hi: int):
        q = torch.round(x * scale)
        ctx.save_for_backward((q > lo) & (q < hi))
        return torch.clamp(q, lo, hi) / scale

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return grad * mask, None, None, None


def fix_quant(x: torch.Tensor, scale, rng) -> torch.Tensor:
    """The fake quantization with scale 2^FL given as a number or a (per-channel) tensor."""
    return _FixQuant.apply(x, scale, int(rng[0]), int(rng[1]))


class _StraightThrough(torch.autograd.Function):
    """Forward: the quantized weight itself (exactly, unlike w + (w_q − w).detach(), which
    rounds); backward: the gradient to the float weight unchanged (STE)."""

    @staticmethod
    def forward(ctx, w, w_q):
        return w_q

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def straight_through(w: torch.Tensor, w_q: torch.Tensor) -> torch.Tensor:
    """w_q in the forward, the identity for the gradient: FGQ's ternary weights in the loop."""
    return _StraightThrough.apply(w, w_q)


def fake_quant(x: torch.Tensor, fl: int, rng) -> torch.Tensor:
    return fix_quant(x, 2.0 ** int(fl), rng)


def fl_from_std(std: float, signed: bool) -> int:
    """FL = clamp(floor(log2(C / std)), 0, 8 − signed), C = 40 signed, 70 unsigned."""
    c, hi = (C_SIGNED, 7) if signed else (C_UNSIGNED, 8)
    if not std > 0 or not math.isfinite(std):
        return hi
    return int(min(max(math.floor(math.log2(c / std)), 0), hi))


def weight_fl(w_eff: torch.Tensor) -> int:
    """Per-layer FL_w from the unbiased std of the effective (folded) weight, recomputed on
    every forward pass and never learned (brief §2)."""
    with torch.no_grad():
        return fl_from_std(float(w_eff.detach().std()), signed=True)


def quant_weight(w_eff: torch.Tensor, flw: int) -> torch.Tensor:
    return fake_quant(w_eff, flw, S8_RANGE)


def quant_bias(b_eff: torch.Tensor, fl: int) -> torch.Tensor:
    """Bias at FL_w + FL_x in s32 (FORMAT.md §1); the mask never bites at these magnitudes."""
    return fake_quant(b_eff, fl, S32_RANGE)


class ActFL(nn.Module):
    """Tracks one activation's FL the F8Net way: each training batch gives
    FL_batch = rule(std of the batch), and the buffer r follows r ← 0.9·r + 0.1·FL_batch.
    Unlike the reference, the forward always quantizes with round(r), in training too, so
    the network trained is exactly the network exported; r still moves with the statistics."""

    def __init__(self, signed: bool = False, momentum: float = 0.1):
        super().__init__()
        self.signed = signed
        self.momentum = momentum
        self.register_buffer("r", torch.tensor(-1.0, dtype=torch.float64))  # < 0: unset

    @property
    def fl(self) -> int:
        r = float(self.r)
        if r < 0:
            raise RuntimeError("ActFL used before calibration")
        return int(min(max(round(r), 0), 8 - int(self.signed)))

    def observe(self, x: torch.Tensor) -> None:
        fl_batch = fl_from_std(float(x.detach().std()), self.signed)
        if float(self.r) < 0:
            self.r.fill_(float(fl_batch))
        else:
            self.r.mul_(1 - self.momentum).add_(self.momentum * fl_batch)


def pact_scale(alpha: torch.Tensor, fl: int, signed: bool = False) -> torch.Tensor:
    """F8Net's PACT in fixed point (brief §3): s = 2^FL·|α| / (2^(8−signed) − 1). A layer that
    receives x/s and quantizes it at FL clips exactly at |α| with 255 (127) levels; s is a
    real number absorbed into the neighbouring layers' float weights before they are quantized,
    so the integer graph still has only power-of-two scales."""
    return 2.0 ** fl * alpha.abs() / (127.0 if signed else 255.0)


def pact_quant(x: torch.Tensor, alpha: torch.Tensor, fl: int, signed: bool = False):
    """s·Q(x/s, FL) = |α|/255 · clamp(round(x·255/|α|), 0, 255) (unsigned; ±127 signed), with
    the STE of `fake_quant`: α's gradient is 1 per clipped element (PACT's), plus the rounding
    residual (Q(x/s) − x/s)·ds/dα inside the range, 0 below zero (unsigned)."""
    s = pact_scale(alpha, fl, signed)
    return s * fake_quant(x / s, fl, S8_RANGE if signed else U8_RANGE)


def fl_grid_search(x: torch.Tensor, signed: bool, lo: int = 0, hi=None) -> int:
    """The FL of F8Net's tiny fine-tuning (`format_grid_search`): the FL in [lo, 8 − signed]
    whose fixed-point quantization of the whole tensor has the smallest RMSE (the lower FL on a
    tie). Costs one quantization per candidate; the std rule needs none."""
    hi = (7 if signed else 8) if hi is None else hi
    rng = S8_RANGE if signed else U8_RANGE
    x = x.detach().double()
    best, best_err = lo, math.inf
    for fl in range(lo, hi + 1):
        err = float(((fake_quant(x, fl, rng) - x) ** 2).mean())
        if err < best_err:
            best, best_err = fl, err
    return best

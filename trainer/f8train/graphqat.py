"""Quantization-aware fine-tuning of a calibrated integer graph: F8Net's fine-tuning step for
the zoo architectures (docs/TRAINING.md, "Your own data").

`zoo.to_graph` turns a float model into an integer graph and fixes every FL on calibration
images. `GraphQAT` then trains that graph itself: one float weight tensor and bias per CONV2D and
DENSE op, initialised from the folded float model (BN already folded, frozen), and a forward pass
that is the graph's integer arithmetic written with real numbers, as `model.FashionNet` does for
the Fashion network:

- weights `clamp(round(W·2^FL_w), ±127)·2^-FL_w` per output channel, the bias rounded at
  `FL_w + FL_x` (s32);
- every op's output `clamp(round(v·2^FL), dtype range)·2^-FL` (`torch.round` is FORMAT.md's
  round-half-to-even), after the ReLU when the op has one;
- ADD is the sum of the two real operands (the shifts of §3 align them exactly), AVGPOOL the
  window sum divided by 2^avg_shift, MAXPOOL the maximum over the positions inside the image;
- backward: the straight-through estimator with F8Net's mask (gradient 1 where the rounded value
  lies strictly inside the clamp range).

The FLs stay those calibration chose (weights per channel, activations per value): training
moves the weights under fixed formats, F8Net's fine-tuning with the std-rule FLs.

FGQ (`ternary_ops`, fgq.py's zoo route): those ops' weights are ternary in groups,
`t·α_q·2^-FL_w[o]` as the file stores them (ternary.ternary_parts, searched again from the float
weights on every forward, FL_w per channel from the α's), the gradient passing to the float
weights unchanged (quant.straight_through), and activations of fewer bits (a value's `bits`,
4-bit activations) clamp to their narrower range, as the engine does. In float64
every intermediate is exact, so the forward equals the integer simulator bit for bit, before and
after training (`export` writes the trained integers back into the graph; the tests check both).
"""

from __future__ import annotations

import copy
from typing import Dict, Iterable, List, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import fileformat, ternary
from .fileformat import ADD, AVGPOOL, CONV2D, DENSE, MAXPOOL, S8, S32, U8, Graph, value_range
from .quant import fix_quant, straight_through

RANGES = {U8: (0, 255), S8: (-127, 127), S32: (-(2**31 - 1), 2**31 - 1)}


class GraphQAT(nn.Module):
    """The integer graph `g` as a trainable fake-quantized torch module. `float_params` maps op
    index → (weights [Cout][kh][kw][Cin/G] or [Cout][K], bias [Cout]) as float64 numpy arrays:
    the folded float parameters `zoo.to_graph` quantized (its `float_params` argument); ops
    missing from it start from the graph's own integers."""

    def __init__(self, g: Graph, float_params: Dict[int, Tuple[np.ndarray, np.ndarray]],
                 ternary_ops: Iterable[int] = (), group: int = 4, method: str = "fgq"):
        super().__init__()
        self.graph = copy.deepcopy(g)
        # FGQ (fgq.py): these ops' weights are ternary in groups of `group` (`method` "fgq" or
        # "twn"), searched again from the float weights on every forward; the output
        # correction's per-channel α factors and bias shifts, when set (fgq.correct_graph)
        self.ternary_ops = set(ternary_ops)
        self.group, self.method = group, method
        self.alpha_scale: Dict[int, np.ndarray] = {}
        self.bias_shift: Dict[int, torch.Tensor] = {}
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.slot: Dict[int, int] = {}     # op index → index into weights/biases
        for i, op in enumerate(g.ops):
            if op.type not in (CONV2D, DENSE):
                continue
            flw = op.flw.astype(np.float64)
            fl_x = g.values[op.input0].fl
            if i in float_params:
                w, b = (np.asarray(a, np.float64) for a in float_params[i])
            else:
                w = op.weights.astype(np.float64) * np.exp2(-flw).reshape(-1, *[1] * (op.weights.ndim - 1))
                b = op.bias.astype(np.float64) * np.exp2(-(flw + fl_x))
            if op.type == CONV2D:
                w = w.transpose(0, 3, 1, 2)            # [Cout][kh][kw][Cin/G] → OIHW
            self.slot[i] = len(self.weights)
            self.weights.append(nn.Parameter(torch.from_numpy(np.ascontiguousarray(w))))
            self.biases.append(nn.Parameter(torch.from_numpy(b.copy())))

    def ternary_parts(self, i: int):
        """(codes int8 [Cout][kh][kw][Cin/G] or [Cout][K], α_q u8 [Cout][G], FL_w int64 [Cout],
        N) of ternary op i, from its float weights now (ternary.ternary_parts), FL_w within
        the op's shift bounds."""
        op, w = self.graph.ops[i], self.weights[self.slot[i]].detach()
        if op.type == CONV2D:
            w = w.permute(0, 2, 3, 1)                  # OIHW → [Cout][kh][kw][Cin/G]
        bounds = ternary.fl_bounds(self.graph.values[op.input0].fl, self.graph.values[op.output].fl)
        codes, aq, fl, n = ternary.ternary_parts(w.reshape(w.shape[0], -1).double().cpu().numpy(),
                                                 self.group, self.method,
                                                 self.alpha_scale.get(i), *bounds)
        return codes.reshape(w.shape), aq, fl, n

    def quantized_params(self, i: int) -> Tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        """(weights, bias) of op i as the real numbers the integers stand for, and FL_w.
        A ternary op's weights are t·α_q·2^-FL_w[o] in the forward and the identity for the
        gradient (the straight-through estimator, fgq.py); its bias moves by the output
        correction's shift."""
        op = self.graph.ops[i]
        w, b = self.weights[self.slot[i]], self.biases[self.slot[i]]
        if i in self.ternary_ops:
            codes, aq, fl, n = self.ternary_parts(i)
            w_t = fileformat.ternary_weights(codes, aq, n).astype(np.float64) * \
                np.exp2(-fl.astype(np.float64)).reshape(-1, *[1] * (codes.ndim - 1))
            w_t = torch.from_numpy(w_t)
            if op.type == CONV2D:
                w_t = w_t.permute(0, 3, 1, 2)
            wq = straight_through(w, w_t.to(w))
            if i in self.bias_shift:
                b = b + self.bias_shift[i].to(b)
        else:
            fl = op.flw.astype(np.int64)
            sw = torch.exp2(torch.from_numpy(fl.astype(np.float64)).to(w))
            wq = fix_quant(w, sw.reshape(-1, *[1] * (w.dim() - 1)), RANGES[S8])
        fl_b = torch.from_numpy((fl + self.graph.values[op.input0].fl).astype(np.float64))
        bq = fix_quant(b, torch.exp2(fl_b.to(b)), RANGES[S32])
        return wq, bq, fl

    @staticmethod
    def linear(op, a: torch.Tensor, w: torch.Tensor, b) -> torch.Tensor:
        """A CONV2D or DENSE op on input reals a (NCHW) with weights w (OIHW or [Cout][K]) and
        bias b (or None): NCHW reals, (N, Cout, 1, 1) for DENSE."""
        if op.type == CONV2D:
            a = F.pad(a, (op.pad_left, op.pad_right, op.pad_top, op.pad_bottom))
            return F.conv2d(a, w, b, (op.stride_h, op.stride_w), 0, 1, op.groups)
        flat = a.permute(0, 2, 3, 1).reshape(a.shape[0], -1)          # HWC order (§3)
        v = flat @ w.t()
        return (v if b is None else v + b).reshape(a.shape[0], -1, 1, 1)

    def forward(self, x: torch.Tensor, hook=None) -> torch.Tensor:
        """x: the input value as reals (u8 pixel / 256, NCHW, `zoo.images_to_float`); returns the
        logits as reals (N, classes): the integer logits times 2^-FL_out. `hook(i, vals, v)`,
        when given, sees each op's real result v before its output is quantized (vals: the
        values so far) and may return a replacement (fgq's calibration passes); values no
        later op reads are dropped as the pass goes when no gradient is recorded."""
        g = self.graph
        vals: Dict[int, torch.Tensor] = {0: x.to(self.weights[0].dtype)}
        last = {}
        for i, op in enumerate(g.ops):
            last[op.input0] = i
            if op.type == ADD:
                last[op.input1] = i
        for i, op in enumerate(g.ops):
            a = vals[op.input0]
            if op.type in (CONV2D, DENSE):
                w, b, _ = self.quantized_params(i)
                v = self.linear(op, a, w, b)
            elif op.type == ADD:
                v = a + vals[op.input1]
            elif op.type == MAXPOOL:
                a = F.pad(a, (op.pad_left, op.pad_right, op.pad_top, op.pad_bottom),
                          value=float("-inf"))                           # padding is skipped
                v = F.max_pool2d(a, (op.kernel_h, op.kernel_w), (op.stride_h, op.stride_w))
            elif op.type == AVGPOOL:
                s = F.avg_pool2d(a, (op.kernel_h, op.kernel_w), (op.stride_h, op.stride_w),
                                 divisor_override=1)                     # the window sum
                v = s / 2.0 ** op.avg_shift
            else:
                raise ValueError(f"unknown op type {op.type}")
            if op.relu:
                v = torch.relu(v)
            if hook is not None:
                r = hook(i, vals, v)
                v = v if r is None else r
            out = g.values[op.output]
            vals[op.output] = fix_quant(v, 2.0 ** out.fl, value_range(out.dtype, out.bits))
            if not torch.is_grad_enabled():
                for k in [k for k, j in last.items() if j == i and k != g.output_value]:
                    vals.pop(k, None)
        return vals[g.output_value].reshape(x.shape[0], -1)

    def export(self, meta: List[Tuple[str, str]] = None) -> Graph:
        """The graph with the trained integers written back (FLs unchanged)."""
        g = copy.deepcopy(self.graph)
        with torch.no_grad():
            for i, k in self.slot.items():
                op = g.ops[i]
                w, b = self.weights[k].double(), self.biases[k].double()
                if i in self.ternary_ops:
                    codes, aq, fl, n = self.ternary_parts(i)
                    op.set_ternary(codes, aq, n)
                    op.flw = fl.astype(np.int8)
                    if i in self.bias_shift:
                        b = b + self.bias_shift[i].double()
                else:
                    fl = op.flw.astype(np.int64)
                    sw = torch.from_numpy(np.exp2(fl.astype(np.float64)))
                    wq = torch.clamp(torch.round(w * sw.reshape(-1, *[1] * (w.dim() - 1))),
                                     -127, 127)
                    if op.type == CONV2D:
                        wq = wq.permute(0, 2, 3, 1)                      # OIHW → [o][kh][kw][i]
                    op.weights = wq.numpy().astype(np.int8)
                sb = torch.from_numpy(np.exp2((fl + g.values[op.input0].fl).astype(np.float64)))
                bq = torch.clamp(torch.round(b * sb), *RANGES[S32])
                op.bias = bq.numpy().astype(np.int32)
        if meta is not None:
            g.meta = list(meta)
        return g

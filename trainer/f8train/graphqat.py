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
moves the weights under fixed formats, F8Net's fine-tuning with the std-rule FLs. In float64
every intermediate is exact, so the forward equals the integer simulator bit for bit, before and
after training (`export` writes the trained integers back into the graph; the tests check both).
"""

from __future__ import annotations

import copy
from typing import Dict, List, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .fileformat import ADD, AVGPOOL, CONV2D, DENSE, MAXPOOL, S8, S32, U8, Graph
from .quant import fix_quant

RANGES = {U8: (0, 255), S8: (-127, 127), S32: (-(2**31 - 1), 2**31 - 1)}


class GraphQAT(nn.Module):
    """The integer graph `g` as a trainable fake-quantized torch module. `float_params` maps op
    index → (weights [Cout][kh][kw][Cin/G] or [Cout][K], bias [Cout]) as float64 numpy arrays:
    the folded float parameters `zoo.to_graph` quantized (its `float_params` argument); ops
    missing from it start from the graph's own integers."""

    def __init__(self, g: Graph, float_params: Dict[int, Tuple[np.ndarray, np.ndarray]]):
        super().__init__()
        self.graph = copy.deepcopy(g)
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

    def _scales(self, i: int, like: torch.Tensor):
        op = self.graph.ops[i]
        flw = torch.from_numpy(op.flw.astype(np.float64)).to(like)
        fl_x = self.graph.values[op.input0].fl
        return torch.exp2(flw), torch.exp2(flw + fl_x)

    def quantized_params(self, i: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """(weights, bias) of op i as the real numbers the integers stand for."""
        w, b = self.weights[self.slot[i]], self.biases[self.slot[i]]
        sw, sb = self._scales(i, w)
        wq = fix_quant(w, sw.reshape(-1, *[1] * (w.dim() - 1)), RANGES[S8])
        bq = fix_quant(b, sb, RANGES[S32])
        return wq, bq

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: the input value as reals (u8 pixel / 256, NCHW, `zoo.images_to_float`); returns the
        logits as reals (N, classes): the integer logits times 2^-FL_out."""
        g = self.graph
        vals: Dict[int, torch.Tensor] = {0: x.to(self.weights[0].dtype)}
        for i, op in enumerate(g.ops):
            a = vals[op.input0]
            if op.type == CONV2D:
                w, b = self.quantized_params(i)
                a = F.pad(a, (op.pad_left, op.pad_right, op.pad_top, op.pad_bottom))
                v = F.conv2d(a, w, b, (op.stride_h, op.stride_w), 0, 1, op.groups)
            elif op.type == DENSE:
                w, b = self.quantized_params(i)
                flat = a.permute(0, 2, 3, 1).reshape(a.shape[0], -1)      # HWC order (§3)
                v = (flat @ w.t() + b).reshape(a.shape[0], -1, 1, 1)
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
            out = g.values[op.output]
            vals[op.output] = fix_quant(v, 2.0 ** out.fl, RANGES[out.dtype])
        return vals[g.output_value].reshape(x.shape[0], -1)

    def export(self, meta: List[Tuple[str, str]] = None) -> Graph:
        """The graph with the trained integers written back (FLs unchanged)."""
        g = copy.deepcopy(self.graph)
        with torch.no_grad():
            for i, k in self.slot.items():
                op = g.ops[i]
                w, b = self.weights[k].double(), self.biases[k].double()
                sw, sb = self._scales(i, w)
                wq = torch.clamp(torch.round(w * sw.reshape(-1, *[1] * (w.dim() - 1))), -127, 127)
                bq = torch.clamp(torch.round(b * sb), *RANGES[S32])
                if op.type == CONV2D:
                    wq = wq.permute(0, 2, 3, 1)                          # OIHW → [o][kh][kw][i]
                op.weights = wq.numpy().astype(np.int8)
                op.bias = bq.numpy().astype(np.int32)
        if meta is not None:
            g.meta = list(meta)
        return g

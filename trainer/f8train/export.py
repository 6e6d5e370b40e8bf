"""FashionNet (fake-quantized) → `.f8` graph. The integers are taken from the very tensors the
fake-quant forward uses, computed in float64 where every one of them is exact: W_int =
W_q·2^FL_w, b_int = b_q·2^(FL_w+FL_x). So the file computes what `forward_quant` computes."""

from __future__ import annotations

import copy
from typing import Dict, List, Tuple

import numpy as np
import torch

from . import quant
from .builder import GraphBuilder
from .fileformat import ADD, AVGPOOL, CONV2D, DENSE, S32, U8, Graph
from .model import POOL_SHIFT, FashionNet


def float64_copy(model: FashionNet) -> FashionNet:
    """An eval-mode float64 copy: its fake-quant forward is exact, like the integer engine."""
    m = copy.deepcopy(model).cpu().double().eval()
    m.quantized = True
    return m


def _ints(t: torch.Tensor, fl: int, dtype) -> np.ndarray:
    v = (t.detach().double() * 2.0 ** fl).numpy()
    assert np.all(v == np.rint(v)), "quantized tensor off its integer grid"
    return v.astype(np.int64).astype(dtype)


def to_graph(model: FashionNet, meta: List[Tuple[str, str]]) -> Tuple[Graph, Dict]:
    """Returns the graph and a summary of the FLs chosen (for the report)."""
    m = float64_copy(model)
    fls = m.fls()
    b = GraphBuilder(28, 28, 1, fl=8)
    summary = {"input": 8, "weights": {}, "activations": dict(fls)}
    x, fl_x = 0, 8
    a3 = None
    sc = m.scales()
    s_in = torch.ones((), dtype=torch.float64) if m.pact else None
    with torch.no_grad():
        for name, layer in m.convs():
            s_out = sc.get("a3" if name == "c5" else "a" + name[1])
            wq, bq, flw = layer.quantized(fl_x, s_in, s_out)
            s_in = s_out
            summary["weights"][name] = flw
            w = _ints(wq, flw, np.int8).transpose(0, 2, 3, 1)   # torch OIHW → [Cout][kh][kw][Cin]
            bias = _ints(bq, flw + fl_x, np.int32)
            flws = np.full(w.shape[0], flw, np.int8)
            if name != "c5":
                fl_y = fls["a" + name[1]]
                x = b.conv(x, w, bias, flws, stride=layer.stride, pads=1, relu=True, dtype=U8,
                           fl=fl_y)
            else:
                # s32 at F_int: no rounding, the ADD sees the exact accumulator.
                fl_y = flw + fl_x
                x = b.conv(x, w, bias, flws, stride=1, pads=1, relu=False, dtype=S32, fl=fl_y)
            if name == "c3":
                a3 = x
            fl_x = fl_y
        fl_s = max(fl_x, fls["a3"])
        summary["activations"]["c5_s32"] = fl_x
        summary["activations"]["add_s32"] = fl_s
        s = b.add(x, a3, relu=True, dtype=S32, fl=fl_s)
        p = b.avgpool(s, 7, 1, POOL_SHIFT, dtype=U8, fl=fls["pool"])
        flw = m.fc_weight_fl()
        summary["weights"]["fc"] = flw
        wq = quant.quant_weight(m.fc_weight(), flw)
        bq = quant.quant_bias(m.fc.bias, flw + fls["pool"])
        logits = b.dense(p, _ints(wq, flw, np.int8), _ints(bq, flw + fls["pool"], np.int32),
                         np.full(wq.shape[0], flw, np.int8), dtype=S32, fl=flw + fls["pool"])
        summary["logits_fl"] = flw + fls["pool"]
    return b.build(logits, meta), summary


def from_graph(g: Graph) -> FashionNet:
    """The fake-quantized FashionNet that computes what file `g` computes: the inverse of
    `to_graph`. Weights come back on their integer grid (W = W_int·2^-FL_w), BN becomes the
    identity (gamma 1, mean 0, var 1, eps 0, beta = the bias), FL_w and the activation FLs are
    pinned to the file's. Returned in float64 (`.float()` for training precision). Used to test
    the fake-quant forward against the integer simulator."""
    kinds = [op.type for op in g.ops]
    if kinds != [CONV2D] * 5 + [ADD, AVGPOOL, DENSE]:
        raise ValueError("not a FashionNet graph")
    widths = tuple(g.values[g.ops[i].output].c for i in range(3))
    m = FashionNet(widths, classes=g.num_classes).double()   # float64: every value exact
    fl_x = g.values[0].fl
    with torch.no_grad():
        for (name, layer), op in zip(m.convs(), g.ops[:5]):
            flw = int(op.flw[0])
            if np.any(op.flw != flw):
                raise ValueError(f"{name}: per-channel FL_w; FashionNet uses one per layer")
            layer.fixed_flw = flw
            w = torch.from_numpy(op.weights.astype(np.float64).transpose(0, 3, 1, 2))
            layer.conv.weight.copy_(w * 2.0 ** -flw)
            layer.bn.eps = 0.0
            layer.bn.weight.fill_(1.0)
            layer.bn.running_mean.zero_()
            layer.bn.running_var.fill_(1.0)
            layer.bn.bias.copy_(torch.from_numpy(op.bias.astype(np.float64) * 2.0 ** -(flw + fl_x)))
            out = g.values[op.output]
            if name != "c5":
                m.act_fl["a" + name[1]].r.fill_(float(out.fl))
            elif out.fl != flw + fl_x or out.dtype != S32:
                raise ValueError("c5 must write s32 at its F_int")
            fl_x = out.fl
        pool = g.values[g.ops[6].output]
        m.act_fl["pool"].r.fill_(float(pool.fl))
        fc = g.ops[7]
        flw = int(fc.flw[0])
        m.fc_fixed_flw = flw
        m.fc.weight.copy_(torch.from_numpy(fc.weights.astype(np.float64) * 2.0 ** -flw))
        m.fc.bias.copy_(torch.from_numpy(fc.bias.astype(np.float64) * 2.0 ** -(flw + pool.fl)))
    m.quantized = True
    return m.eval()

"""A small helper that appends values and ops to a `Graph` and computes output shapes with the
FORMAT.md §3 rule, so the random models and the trained-model export cannot disagree on them."""

from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import numpy as np

from .fileformat import (ADD, AVGPOOL, CONV2D, DENSE, MAXPOOL, U8, Graph, Op, Value,
                         conv_out_size)

Pads = Union[int, Tuple[int, int, int, int]]


def _pads(p: Pads) -> Tuple[int, int, int, int]:
    """An int means the same padding on all four sides; a tuple is (top, left, bottom, right)."""
    return (p, p, p, p) if isinstance(p, int) else tuple(p)


class GraphBuilder:
    def __init__(self, h: int, w: int, c: int, fl: int = 8):
        self.values = [Value(h, w, c, U8, fl)]
        self.ops = []

    def value(self, vid: int) -> Value:
        return self.values[vid]

    def _new(self, h, w, c, dtype, fl) -> int:
        self.values.append(Value(h, w, c, dtype, fl))
        return len(self.values) - 1

    def _window_out(self, x, k, s, pads):
        v = self.values[x]
        kh, kw = (k, k) if isinstance(k, int) else k
        sh, sw = (s, s) if isinstance(s, int) else s
        pt, pl, pb, pr = _pads(pads)
        ho = conv_out_size(v.h, pt, pb, kh, sh)
        wo = conv_out_size(v.w, pl, pr, kw, sw)
        return dict(kernel_h=kh, kernel_w=kw, stride_h=sh, stride_w=sw, pad_top=pt, pad_left=pl,
                    pad_bottom=pb, pad_right=pr), ho, wo

    def conv(self, x: int, weights: np.ndarray, bias: np.ndarray, flw: Sequence[int], *,
             stride=1, pads: Pads = 0, groups: int = 1, relu: bool = False,
             dtype: int = U8, fl: int = 0) -> int:
        """weights: int8 [Cout][kh][kw][Cin/groups]."""
        cout, kh, kw, _ = weights.shape
        geom, ho, wo = self._window_out(x, (kh, kw), stride, pads)
        y = self._new(ho, wo, cout, dtype, fl)
        self.ops.append(Op(type=CONV2D, input0=x, output=y, relu=relu, groups=groups,
                           weights=np.asarray(weights, np.int8), bias=np.asarray(bias, np.int32),
                           flw=np.asarray(flw, np.int8), **geom))
        return y

    def dense(self, x: int, weights: np.ndarray, bias: np.ndarray, flw: Sequence[int], *,
              relu: bool = False, dtype: int = U8, fl: int = 0) -> int:
        """weights: int8 [Cout][K], K read in NHWC order."""
        y = self._new(1, 1, weights.shape[0], dtype, fl)
        self.ops.append(Op(type=DENSE, input0=x, output=y, relu=relu,
                           weights=np.asarray(weights, np.int8), bias=np.asarray(bias, np.int32),
                           flw=np.asarray(flw, np.int8)))
        return y

    def add(self, a: int, b: int, *, relu: bool = False, dtype: int = U8, fl: int = 0) -> int:
        va = self.values[a]
        y = self._new(va.h, va.w, va.c, dtype, fl)
        self.ops.append(Op(type=ADD, input0=a, input1=b, output=y, relu=relu))
        return y

    def maxpool(self, x: int, k, stride, pads: Pads = 0, *, relu: bool = False,
                dtype: Optional[int] = None, fl: Optional[int] = None) -> int:
        v = self.values[x]
        geom, ho, wo = self._window_out(x, k, stride, pads)
        y = self._new(ho, wo, v.c, v.dtype if dtype is None else dtype, v.fl if fl is None else fl)
        self.ops.append(Op(type=MAXPOOL, input0=x, output=y, relu=relu, **geom))
        return y

    def avgpool(self, x: int, k, stride, avg_shift: int, *, relu: bool = False,
                dtype: int = U8, fl: int = 0) -> int:
        v = self.values[x]
        geom, ho, wo = self._window_out(x, k, stride, 0)
        y = self._new(ho, wo, v.c, dtype, fl)
        self.ops.append(Op(type=AVGPOOL, input0=x, output=y, relu=relu, avg_shift=avg_shift,
                           **geom))
        return y

    def build(self, output: int, meta) -> Graph:
        return Graph(values=self.values, ops=self.ops, output_value=output, meta=list(meta))

"""The Fashion-MNIST network, in floating point and fake-quantized, built only from ops that
docs/FORMAT.md has (CONV2D, ADD, AVGPOOL, DENSE):

    input 28×28×1 u8, FL 8 (pixel/256); widths (w1, w2, w3), shipped (24, 48, 96)
    c1  conv 3×3/1  1→w1  + BN + ReLU   → a1 u8 28×28×w1
    c2  conv 3×3/2 w1→w2  + BN + ReLU   → a2 u8 14×14×w2
    c3  conv 3×3/2 w2→w3  + BN + ReLU   → a3 u8  7×7×w3      (residual block input)
    c4  conv 3×3/1 w3→w3  + BN + ReLU   → a4 u8  7×7×w3
    c5  conv 3×3/1 w3→w3  + BN          → r  s32 7×7×w3      (kept exact, no requant)
    add ReLU(r + a3)                    → s  s32 7×7×w3      (ADD aligns FLs, §3)
    pool sum over 7×7 / 64              → p  u8  1×1×w3      (AVGPOOL, avg_shift 6)
    fc  dense w3→10                     → logits s32

The pool is defined as sum/64 (not the mean, sum/49) in both the FP and the quantized model, so
the integer AVGPOOL with avg_shift = 6 computes exactly what was trained: nothing to correct.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import quant
from .fold import fold_bn

POOL_SHIFT = 6          # 7×7 window: round(log2(49)) = 6, FORMAT.md §3 AVGPOOL
ACTS = ("a1", "a2", "a3", "a4", "pool")  # the u8 activations whose FL is chosen from statistics
PACT_ACTS = ("a1", "a2", "a3", "a4")


class ConvBN(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.stride = stride
        self.conv = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.fixed_flw: Optional[int] = None  # set when loaded from a file (export.from_graph)

    def forward(self, x):
        return self.bn(self.conv(x))

    def folded(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """W_eff, b_eff with the BN running statistics (frozen BN during quantized training)."""
        return fold_bn(self.conv.weight, self.bn)

    def quantized(self, fl_x: int, s_in=None, s_out=None):
        """The integer-grid weight and bias actually used: (W_q, b_q, FL_w), real-valued.
        With PACT, the input arrives divided by s_in and the output leaves divided by s_out
        (F8Net brief §3-4): W_eff·s_in/s_out, b_eff/s_out, before FL_w is chosen."""
        w_eff, b_eff = self.folded()
        if s_in is not None:
            w_eff = w_eff * (s_in / s_out)
            b_eff = b_eff / s_out
        flw = quant.weight_fl(w_eff) if self.fixed_flw is None else self.fixed_flw
        return quant.quant_weight(w_eff, flw), quant.quant_bias(b_eff, flw + fl_x), flw

    def forward_quant(self, x, fl_x: int, s_in=None, s_out=None):
        """Accumulator acc = conv(x_q, W_q) + b_q, real-valued, at F_int = FL_w + FL_x."""
        wq, bq, flw = self.quantized(fl_x, s_in, s_out)
        return F.conv2d(x, wq, bq, self.stride, 1), flw


class FashionNet(nn.Module):
    def __init__(self, widths=(24, 48, 96), classes: int = 10, pact: bool = False,
                 in_ch: int = 1):
        super().__init__()
        w1, w2, w3 = widths
        self.c1 = ConvBN(in_ch, w1, 1)
        self.c2 = ConvBN(w1, w2, 2)
        self.c3 = ConvBN(w2, w3, 2)
        self.c4 = ConvBN(w3, w3, 1)
        self.c5 = ConvBN(w3, w3, 1)
        self.fc = nn.Linear(w3, classes)
        self.act_fl = nn.ModuleDict({k: quant.ActFL(signed=False) for k in ACTS})
        self.quantized = False   # False: FP32 training; True: fake-quant forward
        self.calibrating = False  # True: FP forward that records activation FLs
        self.last_flw: Dict[str, int] = {}
        self.fc_fixed_flw: Optional[int] = None
        # Range of each u8 activation's integers (FGQ's 4-bit activations narrow some to
        # [0, 15], docs/FORMAT.md §1), and whether training leaves the activation FLs as
        # they are (FGQ fine-tuning fixes them at calibration).
        self.act_range: Dict[str, Tuple[int, int]] = {}
        self.freeze_act_fl = False
        # PACT in fixed point: a learnable clip level per u8 activation that feeds a conv
        # (a1..a4; the pool has no weights of its own to absorb a scale, so its FL clips it).
        # Only created with pact=True, so checkpoints without PACT keep their keys.
        self.pact = pact
        if pact:
            self.alpha = nn.ParameterDict({k: nn.Parameter(torch.tensor(0.0))
                                           for k in PACT_ACTS})

    def convs(self) -> List[Tuple[str, ConvBN]]:
        return [(n, getattr(self, n)) for n in ("c1", "c2", "c3", "c4", "c5")]

    # -- floating point -----------------------------------------------------------------------
    def forward_fp(self, x):
        obs = self._observe if self.calibrating else (lambda name, t: None)
        pre = self.c1(x)
        obs("a1", pre)
        a = F.relu(pre)
        pre = self.c2(a)
        obs("a2", pre)
        a = F.relu(pre)
        pre = self.c3(a)
        obs("a3", pre)
        a3 = F.relu(pre)
        pre = self.c4(a3)
        obs("a4", pre)
        r = self.c5(F.relu(pre))
        s = F.relu(r + a3)
        p = s.sum(dim=(2, 3)) / 2 ** POOL_SHIFT
        obs("pool", p)
        return self.fc(p)

    # -- fake-quantized: the integer graph, step for step ------------------------------------
    def forward_quant(self, x):
        """x is the real input pixel/256, already exact at FL 8. Each u8 activation is the
        epilogue of FORMAT.md §3: ReLU, then requant to (u8, FL) = fake_quant with u8 range,
        whose clamp at 0 is the ReLU. Statistics for the FLs are the pre-ReLU values."""
        obs = self._observe if self.training and not self.freeze_act_fl else \
            (lambda name, t: None)
        flw = {}
        fl_x = 8
        a = x
        sc = self.scales()
        s_in = None if not self.pact else torch.ones((), dtype=x.dtype)   # first layer: s = 1
        for name in ("c1", "c2", "c3", "c4"):
            k = f"a{name[1]}"
            acc, flw[name] = getattr(self, name).forward_quant(a, fl_x, s_in, sc.get(k))
            obs(k, acc)
            fl_x = self.act_fl[k].fl
            a = quant.fake_quant(acc, fl_x, self.act_range.get(k, quant.U8_RANGE))
            s_in = sc.get(k)
            if name == "c3":
                a3 = a
        # c5 writes an s32 value at its own F_int (shift 0): only the ±(2^31−1) clamp applies,
        # which the trainer's magnitudes never reach. ADD is exact (§3), then ReLU; s32 again.
        # With PACT, c5's output leaves in a3's domain (divided by s_a3) so the ADD aligns.
        r, flw["c5"] = self.c5.forward_quant(a, fl_x, s_in, sc.get("a3"))
        s = F.relu(r + a3)
        # AVGPOOL: sum at F_int = FL_s + 6, then requant to u8 at the pool's FL.
        p = s.sum(dim=(2, 3)) / 2 ** POOL_SHIFT
        obs("pool", p)
        fl_p = self.act_fl["pool"].fl
        p = quant.fake_quant(p, fl_p, self.act_range.get("pool", quant.U8_RANGE))
        # DENSE: no BN; weight FL from the weight's own std; bias at FL_w + FL_p; s32 logits.
        wfc = self.fc_weight()
        flw["fc"] = self.fc_weight_fl()
        wq = quant.quant_weight(wfc, flw["fc"])
        bq = quant.quant_bias(self.fc.bias, flw["fc"] + fl_p)
        self.last_flw = flw
        return F.linear(p, wq, bq)

    def scales(self) -> Dict[str, torch.Tensor]:
        """PACT's s per activation, 2^FL·|α|/255 (empty without PACT: s = 1, not multiplied)."""
        if not self.pact:
            return {}
        return {k: quant.pact_scale(self.alpha[k], self.act_fl[k].fl) for k in PACT_ACTS}

    def init_pact(self) -> None:
        """α = 255·2^-FL: s = 1, so PACT starts from exactly the calibrated model."""
        with torch.no_grad():
            for k in PACT_ACTS:
                self.alpha[k].fill_(255.0 * 2.0 ** -self.act_fl[k].fl)

    def fc_weight(self) -> torch.Tensor:
        """The classifier reads the pool in a3's PACT domain: W·s_a3 (W itself without PACT)."""
        return self.fc.weight * self.scales()["a3"] if self.pact else self.fc.weight

    def fc_weight_fl(self) -> int:
        if self.fc_fixed_flw is not None:
            return self.fc_fixed_flw
        return quant.weight_fl(self.fc_weight())

    def _observe(self, name: str, t: torch.Tensor) -> None:
        self.act_fl[name].observe(t)

    def forward(self, x):
        return self.forward_quant(x) if self.quantized else self.forward_fp(x)

    def freeze_bn(self) -> None:
        """Quantized training folds BN with its running statistics: keep them fixed."""
        for _, m in self.convs():
            m.bn.eval()

    def fls(self) -> Dict[str, int]:
        return {k: self.act_fl[k].fl for k in ACTS}

    def macs(self, h: int = 28, w: int = 28) -> int:
        total = 0
        for _, m in self.convs():
            h, w = (h + 2 - 3) // m.stride + 1, (w + 2 - 3) // m.stride + 1
            c = m.conv
            total += h * w * c.out_channels * c.in_channels * 9
        return total + self.fc.in_features * self.fc.out_features

"""Folding batch normalisation into the preceding convolution (F8Net brief §4).

With frozen statistics, BN(conv(x, W)) = conv(x, W_eff) + b_eff per output channel o:
    sd      = sqrt(running_var[o] + eps)
    W_eff[o] = W[o] · gamma[o] / sd
    b_eff[o] = beta[o] − gamma[o] · running_mean[o] / sd  (+ conv bias · gamma / sd if any)
Written with differentiable torch ops so quantization-aware training can fold on every step and
let gradients reach W, gamma and beta.
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn as nn


def fold_bn(weight: torch.Tensor, bn: nn.BatchNorm2d,
            conv_bias: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    sd = torch.sqrt(bn.running_var + bn.eps)
    scale = bn.weight / sd
    w_eff = weight * scale.reshape(-1, *([1] * (weight.dim() - 1)))
    b_eff = bn.bias - scale * bn.running_mean
    if conv_bias is not None:
        b_eff = b_eff + scale * conv_bias
    return w_eff, b_eff

"""Folding BN into the convolution reproduces conv + BN in eval mode."""

import torch
import torch.nn as nn
import torch.nn.functional as F

from f8train.fold import fold_bn


def _random_bn(c, g):
    bn = nn.BatchNorm2d(c)
    bn.weight.data = torch.rand(c, generator=g) * 2 + 0.1
    bn.bias.data = torch.randn(c, generator=g)
    bn.running_mean = torch.randn(c, generator=g) * 0.5
    bn.running_var = torch.rand(c, generator=g) * 3 + 0.05
    return bn.eval()


def test_folded_conv_equals_conv_then_bn():
    g = torch.Generator().manual_seed(0)
    for groups, stride, bias in ((1, 1, False), (1, 2, True), (8, 1, False), (2, 1, True)):
        conv = nn.Conv2d(8, 16 if groups != 8 else 8, 3, stride, 1, groups=groups, bias=bias)
        bn = _random_bn(conv.out_channels, g)
        x = torch.randn(4, 8, 12, 12, generator=g)
        with torch.no_grad():
            want = bn(conv(x))
            w_eff, b_eff = fold_bn(conv.weight, bn, conv.bias)
            got = F.conv2d(x, w_eff, b_eff, stride, 1, 1, groups)
        assert torch.allclose(got, want, atol=1e-5, rtol=1e-5), (groups, stride, bias)
        assert (got - want).abs().max() < 1e-5


def test_fold_is_differentiable():
    g = torch.Generator().manual_seed(1)
    conv = nn.Conv2d(3, 4, 3, bias=False)
    bn = _random_bn(4, g)
    w_eff, b_eff = fold_bn(conv.weight, bn)
    (w_eff.sum() + b_eff.sum()).backward()
    assert conv.weight.grad is not None and bn.weight.grad is not None
    assert torch.all(bn.bias.grad == 1)

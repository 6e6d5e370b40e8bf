"""Straight-through estimator: gradient 1 inside the clamp range, 0 where clipped."""

import torch

from f8train import quant


def test_ste_unsigned_passes_inside_zero_outside():
    # FL 2: q = round(4x). Inside (0, 255): pass. q ≤ 0 (the ReLU side) or q ≥ 255: zero.
    x = torch.tensor([-1.0, -0.1, 0.1, 0.2, 1.0, 30.0, 63.5, 63.7, 64.0, 100.0],
                     requires_grad=True)
    y = quant.fake_quant(x, 2, quant.U8_RANGE)
    assert y.tolist() == [0.0, 0.0, 0.0, 0.25, 1.0, 30.0, 63.5, 63.75, 63.75, 63.75]
    y.backward(torch.arange(1.0, 11.0))
    #          q:  -4   0   0   1   4 120 254 255 256 400
    assert x.grad.tolist() == [0, 0, 0, 4, 5, 6, 7, 0, 0, 0]


def test_ste_signed_symmetric_clip():
    # FL 0, s8: q in [-127, 127]; gradient only where |q| < 127.
    x = torch.tensor([-200.0, -127.0, -126.6, -3.0, 0.0, 3.4, 126.4, 126.6, 500.0],
                     requires_grad=True)
    y = quant.fake_quant(x, 0, quant.S8_RANGE)
    assert y.tolist() == [-127, -127, -127, -3, 0, 3, 126, 127, 127]
    y.sum().backward()
    assert x.grad.tolist() == [0, 0, 0, 1, 1, 1, 1, 0, 0]


def test_quant_weight_grid_and_gradient():
    w = torch.tensor([0.3, -0.77, 1.5, -2.0], requires_grad=True)
    wq = quant.quant_weight(w, 7)      # grid 1/128, range ±127/128
    assert (wq * 128).tolist() == [38, -99, 127, -127]
    wq.sum().backward()
    assert w.grad.tolist() == [1, 1, 0, 0]

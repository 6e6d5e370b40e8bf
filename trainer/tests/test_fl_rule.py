"""F8Net's fractional-length rule, FL = clamp(floor(log2(C/std)), 0, 8 − signed)."""

import math

import pytest
import torch

from f8train import quant


@pytest.mark.parametrize("std,signed,want", [
    (0.1, True, 7),      # log2(40/0.1) = log2(400) = 8.64 → 8 → clamped to 7
    (0.1, False, 8),     # log2(700) = 9.45 → 9 → clamped to 8
    (1.0, True, 5),      # log2(40) = 5.32 → 5
    (1.0, False, 6),     # log2(70) = 6.13 → 6
    (0.5, True, 6),      # log2(80) = 6.32 → 6
    (2.0, False, 5),     # log2(35) = 5.13 → 5
    (3.0, True, 3),      # log2(13.3) = 3.74 → 3
    (0.3, False, 7),     # log2(233) = 7.87 → 7
    (40 / 16, True, 4),  # exactly log2(16) = 4 → 4
    (40 / 16 * 1.0001, True, 3),  # just above the threshold → 3
    (100.0, True, 0),    # log2(0.4) < 0 → clamped to 0
    (100.0, False, 0),
])
def test_fl_from_std_known(std, signed, want):
    assert quant.fl_from_std(std, signed) == want


def test_weight_fl_on_gaussian_tensors():
    g = torch.Generator().manual_seed(0)
    # std 0.02: log2(2000) = 10.97 → clamped to 7
    assert quant.weight_fl(torch.randn(64, 32, 3, 3, generator=g) * 0.02) == 7
    # std ≈ 0.5: log2(80) = 6.32 → 6 (far from the 6/7 threshold at std 0.3125)
    assert quant.weight_fl(torch.randn(64, 32, 3, 3, generator=g) * 0.5) == 6
    # std ≈ 1.7: log2(23.5) = 4.56 → 4
    w = torch.randn(100000, generator=g) * 1.7
    assert quant.weight_fl(w) == math.floor(math.log2(40 / float(w.std())))== 4


def test_activation_fl_ema():
    act = quant.ActFL(signed=False)
    g = torch.Generator().manual_seed(0)
    act.observe(torch.randn(10000, generator=g) * 1.0)    # first batch sets r = 6
    assert float(act.r) == 6 and act.fl == 6
    act.observe(torch.randn(10000, generator=g) * 0.1)    # FL_batch 8: r = 0.9·6 + 0.1·8
    assert float(act.r) == pytest.approx(6.2) and act.fl == 6
    for _ in range(20):
        act.observe(torch.randn(10000, generator=g) * 0.1)
    # r → 8 geometrically: 8 − 1.8·0.9^20 = 7.78 → round 8
    assert float(act.r) == pytest.approx(8 - 1.8 * 0.9 ** 20) and act.fl == 8


def test_fl_grid_search_known_cases():
    """Tiny fine-tuning's FL: the RMSE-optimal one. A uniform [0, 1) tensor fits u8 best at
    FL 8 (no clipping, finest grid); values up to 3.9 need FL 6 (255/64 = 3.98); a signed
    Gaussian of std 1 trades clipping against rounding at FL 5 (±3.97), where the std rule's
    C = 40 also lands (floor(log2 40) = 5)."""
    g = torch.Generator().manual_seed(0)
    assert quant.fl_grid_search(torch.rand(10000, generator=g), signed=False) == 8
    assert quant.fl_grid_search(torch.rand(10000, generator=g) * 3.9, signed=False) == 6
    x = torch.randn(100000, generator=g)
    assert quant.fl_grid_search(x, signed=True) == 5 == quant.fl_from_std(1.0, signed=True)

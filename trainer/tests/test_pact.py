"""PACT in fixed point (quant.pact_quant): the clip is |α| whatever the FL, 255 levels, and α
gets PACT's gradient through the STE."""

import torch

from f8train import quant


def test_pact_clips_at_alpha_with_255_levels():
    x = torch.tensor([-1.0, 0.0, 0.3, 1.0, 2.9, 3.0, 3.5, 100.0], dtype=torch.float64)
    alpha = torch.tensor(3.0, dtype=torch.float64)
    for fl in (0, 4, 8):                    # the FL moves the grid inside, not the clip level
        y = quant.pact_quant(x, alpha, fl)
        want = 3.0 / 255 * torch.clamp(torch.round(x * 255 / 3.0), 0, 255)
        assert torch.allclose(y, want, atol=1e-12)
    assert float(y.max()) == 3.0 and float(y[0]) == 0.0
    assert float(quant.pact_scale(alpha, 6)) == 64 * 3 / 255


def test_pact_signed_is_symmetric():
    x = torch.tensor([-9.0, -2.0, 2.0, 9.0], dtype=torch.float64)
    y = quant.pact_quant(x, torch.tensor(-4.0, dtype=torch.float64), 5, signed=True)   # |α|
    step = 4.0 / 127                        # |α| / 127 per level on each side
    assert torch.allclose(y, torch.tensor([-4.0, -64 * step, 64 * step, 4.0],
                                          dtype=torch.float64), atol=1e-12)


def test_pact_alpha_gradient():
    """Clipped elements give 1 each; below zero 0; inside, (Q(x/s) − x/s)·ds/dα."""
    fl = 5
    x = torch.tensor([-0.5, 0.5, 1.0, 2.5, 7.0], dtype=torch.float64)
    alpha = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    y = quant.pact_quant(x, alpha, fl)
    y.sum().backward()
    s = 2.0 ** fl * 2.0 / 255
    inside = [0.5, 1.0]
    resid = sum(round(v / s * 2 ** fl) / 2 ** fl - v / s for v in inside)
    want = 2 * 1.0 + resid * (2.0 ** fl / 255)       # x = 2.5 and 7.0 clip
    assert abs(float(alpha.grad) - want) < 1e-12
    assert abs(float(alpha.grad) - 2.0) < 0.01       # ≈ PACT's count of clipped elements

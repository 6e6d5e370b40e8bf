"""requant (FORMAT.md §1.1) on values worked out by hand."""

import numpy as np
import pytest

from f8train.fileformat import S8, S32, U8
from f8train.simulate import epilogue, requant, wrap32
import scalar_reference as ref


@pytest.mark.parametrize("v,n,want", [
    (5, 1, 2),     # 2.5 → 2 (tie, 2 is even)
    (7, 1, 4),     # 3.5 → 4 (tie, 4 is even)
    (-5, 1, -2),   # -2.5 → -2
    (-3, 1, -2),   # -1.5 → -2
    (6, 2, 2),     # 1.5 → 2
    (10, 2, 2),    # 2.5 → 2
    (-10, 2, -2),  # -2.5 → -2
    (11, 2, 3),    # 2.75 → 3
    (9, 2, 2),     # 2.25 → 2
    (-9, 2, -2),   # -2.25 → -2
    (-11, 2, -3),  # -2.75 → -3
    (1, 1, 0),     # 0.5 → 0
    (3, 1, 2),     # 1.5 → 2
    (-1, 1, 0),    # -0.5 → 0
    (0, 5, 0),
    (1000, 3, 125),
    (1004, 3, 126),      # 125.5 → 126
    (1012, 3, 126),      # 126.5 → 126
    (2**31 - 1, 31, 1),  # 0.99999... → 1
    (2**30, 31, 0),      # 0.5 → 0
    (3 * 2**30, 31, 2),  # 1.5 → 2
    (3, 0, 3),           # n = 0: unchanged
    (3, -2, 12),         # left shift by 2
    (-3, -3, -24),       # left shift of a negative value
    (1, -31, 2**31 - 1), # 2^31 clamps to s32 max
])
def test_requant_s32_known_values(v, n, want):
    assert int(requant(v, n, S32)) == want
    assert ref.requant(v, n, S32) == want


def test_requant_clamps_per_dtype():
    assert requant([300, -300, 255, 256, -1, 0], 0, U8).tolist() == [255, 0, 255, 255, 0, 0]
    assert requant([300, -300, 127, -127, -128, 128], 0, S8).tolist() == [127, -127, 127, -127,
                                                                           -127, 127]
    big = [2**31, -2**31, 2**40, -2**40, 2**31 - 1, -(2**31 - 1)]
    assert requant(big, 0, S32).tolist() == [2**31 - 1, -(2**31 - 1)] * 3
    # rounding happens before the clamp: 511/2 = 255.5 → 256 → clamped to 255
    assert int(requant(511, 1, U8)) == 255
    assert int(requant(509, 1, U8)) == 254          # 254.5 → 254
    assert int(requant(-255, 1, S8)) == -127        # -127.5 → -128 → clamped to -127
    assert int(requant(100, -1, S8)) == 127         # left shift then clamp


def test_requant_per_channel_shifts_broadcast():
    v = np.array([[5, 5, 5, -7], [6, 6, 6, 6]])
    n = np.array([1, 0, -1, 1])
    assert requant(v, n, S32).tolist() == [[2, 5, 10, -4], [3, 6, 12, 3]]


def test_requant_matches_scalar_reference_on_random_values():
    rng = np.random.default_rng(0)
    v = rng.integers(-2**33, 2**33, size=4000)
    v[:1000] = rng.integers(-300, 300, size=1000)
    for n in range(-4, 32):
        for dtype in (U8, S8, S32):
            got = requant(v, n, dtype)
            want = [ref.requant(int(a), n, dtype) for a in v[::7]]
            assert got[::7].tolist() == want, (n, dtype)


def test_requant_equals_torch_round_half_even():
    # F8Net's fake quantization uses torch.round, which rounds half to even: the same numbers.
    import torch
    v = np.arange(-4096, 4096)
    for n in (1, 2, 3, 7):
        want = torch.round(torch.from_numpy(v).double() / 2**n).long().numpy()
        assert np.array_equal(requant(v, n, S32), want)


def test_epilogue_relu_then_requant():
    v = np.array([-100, -1, 0, 1, 3, 5, 1000])
    assert epilogue(v, 1, U8, 0, relu=True).tolist() == [0, 0, 0, 0, 2, 2, 255]
    assert epilogue(v, 1, S8, 0, relu=False).tolist() == [-50, 0, 0, 0, 2, 2, 127]
    assert epilogue(v, 1, S8, 0, relu=True).tolist() == [0, 0, 0, 0, 2, 2, 127]
    # F_int − FL_out < 0: a left shift
    assert epilogue(v, 2, S32, 4, relu=False).tolist() == [-400, -4, 0, 4, 12, 20, 4000]


def test_accumulators_wrap_at_32_bits():
    assert wrap32(np.array([2**31, -2**31 - 1, 2**32 + 5, 7])).tolist() == [-2**31, 2**31 - 1,
                                                                            5, 7]

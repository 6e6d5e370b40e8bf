"""The vectorised simulator against the scalar reading of FORMAT.md, and hand-built cases."""

import numpy as np
import pytest

from f8train import fileformat as ff
from f8train import randmodel, simulate
from f8train.builder import GraphBuilder
import scalar_reference as ref


def _images(rng, n, v0):
    return rng.integers(0, 256, size=(n, v0.h, v0.w, v0.c), dtype=np.uint8)


@pytest.mark.parametrize("make,shape,classes,seed", [
    (randmodel.op_zoo, (12, 12, 3), 10, 1),
    (randmodel.op_zoo, (16, 13, 1), 7, 2),
    (randmodel.small_cnn, (28, 28, 1), 10, 0),
    (randmodel.small_cnn, (9, 11, 3), 3, 4),
])
def test_simulator_matches_scalar_reference(make, shape, classes, seed):
    g = make(*shape, classes=classes, seed=seed)
    imgs = _images(np.random.default_rng(seed), 2, g.input)
    got = simulate.run(g, imgs)
    want = np.array([ref.run_image(g, im) for im in imgs])
    assert np.array_equal(got, want)


def test_float32_and_float64_routes_agree(monkeypatch, shipped_model, fashion_test):
    x, _ = fashion_test
    for g, imgs in ((shipped_model, x[:300]),
                    (randmodel.op_zoo(seed=5), _images(np.random.default_rng(5), 50,
                                                        randmodel.op_zoo(seed=5).input))):
        fast = simulate.run(g, imgs)
        monkeypatch.setattr(simulate, "FAST_SUMS", False)
        slow = simulate.run(g, imgs)
        monkeypatch.setattr(simulate, "FAST_SUMS", True)
        assert np.array_equal(fast, slow)


def _one_op_graph(build, h=3, w=3, c=1, fl=0):
    b = GraphBuilder(h, w, c, fl=fl)
    out = build(b)
    return b, out


def test_maxpool_skips_padding_for_negative_values():
    # Input u8 → conv to s8 with weight −1 (all values negative), then MAXPOOL 3x3 pad 1.
    # Skipping padding keeps the negative max; reading padding as 0 would give 0.
    b = GraphBuilder(2, 2, 1, fl=0)
    neg = b.conv(0, np.full((1, 1, 1, 1), -1, np.int8), np.zeros(1, np.int32), [0],
                 dtype=ff.S8, fl=0)
    mp = b.maxpool(neg, 3, 1, 1, dtype=ff.S32, fl=0)
    d = b.dense(mp, np.eye(4, dtype=np.int8), np.zeros(4, np.int32), [0] * 4, dtype=ff.S32,
                fl=0)
    g = b.build(d, [("name", "t"), ("labels", "a\nb\nc\nd")])
    img = np.array([[[[10], [20]], [[30], [40]]]], np.uint8)
    # every 3x3 window covers the whole 2x2 image: max(-10, -20, -30, -40) = -10 everywhere
    assert simulate.run(g, img).tolist() == [[-10, -10, -10, -10]]


def test_avgpool_is_a_sum_with_shifted_fl():
    b = GraphBuilder(3, 3, 1, fl=0)
    ap = b.avgpool(0, 3, 1, 3, dtype=ff.S32, fl=0)   # area 9, avg_shift 3: sum/8
    d = b.dense(ap, np.ones((1, 1), np.int8), np.zeros(1, np.int32), [0], dtype=ff.S32, fl=0)
    g = b.build(d, [("name", "t"), ("labels", "a")])
    img = np.arange(1, 10, dtype=np.uint8).reshape(1, 3, 3, 1)      # sum 45
    assert simulate.run(g, img).tolist() == [[6]]                    # 45/8 = 5.625 → 6


def test_add_aligns_fractional_lengths():
    b = GraphBuilder(1, 1, 1, fl=2)                                  # input p at FL 2
    s = b.conv(0, np.ones((1, 1, 1, 1), np.int8), np.zeros(1, np.int32), [3], dtype=ff.S32,
               fl=5)                                                 # p again, at FL 5
    a = b.add(s, 0, dtype=ff.S32, fl=4)    # F_int = 5: v = p + p·2^3 = 9p, requant by 1
    g = b.build(a, [("name", "t"), ("labels", "a")])
    ff.to_bytes(g)                                                   # a valid file
    assert simulate.run(g, np.array([[[[3]]]], np.uint8)).tolist() == [[14]]  # 13.5 → 14
    assert simulate.run(g, np.array([[[[5]]]], np.uint8)).tolist() == [[22]]  # 22.5 → 22


def test_conv_asymmetric_padding_and_stride():
    b = GraphBuilder(4, 5, 1, fl=0)
    w = np.ones((1, 2, 2, 1), np.int8)
    cv = b.conv(0, w, np.array([100], np.int32), [0], stride=(2, 3), pads=(1, 0, 0, 2),
                dtype=ff.S32, fl=0)
    g = b.build(cv, [])
    assert (g.values[cv].h, g.values[cv].w) == (2, 2)  # (4+1−2)/2+1, (5+2−2)/3+1
    img = np.arange(20, dtype=np.uint8).reshape(1, 4, 5, 1)
    v, _ = simulate.conv2d(img.astype(np.int64), g.ops[0], 0, ff.U8)
    # window (0,0): rows −1..0, cols 0..1 → 0+1; (0,1): rows −1..0, cols 3..4 → 3+4
    # window (1,0): rows 1..2, cols 0..1 → 5+6+10+11; (1,1): cols 3..4 → 8+9+13+14
    assert v[0, :, :, 0].tolist() == [[101, 107], [132, 144]]


def test_simulator_rejects_wrong_image_shape():
    g = randmodel.small_cnn()
    with pytest.raises(ValueError):
        simulate.run(g, np.zeros((1, 28, 27, 1), np.uint8))

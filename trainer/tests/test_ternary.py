"""FGQ ternary weights (docs/FORMAT.md §2.5, f8train/ternary.py, f8train/fgq.py): the exact
per-group search against a brute force, the 2-bit layout byte for byte, the reader's checks of
every new field, the narrow (4-bit) clamp, and a quick fine-tuning run whose fake-quant
forward predicts exactly what the integer simulator of its exported file predicts."""

import itertools
import os
import struct

import numpy as np
import pytest
import torch

from f8train import fgq, fileformat as ff, randmodel, simulate, ternary

FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def brute_force(g: np.ndarray) -> float:
    """Smallest ||g − α·t||² over all 3^N codes t, α the least-squares scale for t."""
    best = float((g ** 2).sum())
    for t in itertools.product((-1, 0, 1), repeat=len(g)):
        t = np.array(t, np.float64)
        c = np.count_nonzero(t)
        if c:
            a = (t * g).sum() / c
            best = min(best, float(((g - a * t) ** 2).sum()))
    return best


def group_errors(w, codes, alpha, n):
    k = w.shape[1]
    a = np.repeat(alpha, n, axis=1)[:, :k]
    return ((w - codes * a) ** 2)


def test_search_is_exact_against_brute_force():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 11))          # N = 4: groups of 4, 4 and a partial one of 3
    w[0, :4] = [0.5, 0.5, -0.5, 0.0]      # ties and a zero
    codes, alpha = ternary.ternarize(w, 4)
    assert codes.shape == (4, 11) and alpha.shape == (4, 3)
    err = group_errors(w, codes, alpha, 4)
    for o in range(4):
        for gi, (a, b) in enumerate(((0, 4), (4, 8), (8, 11))):
            assert err[o, a:b].sum() == pytest.approx(brute_force(w[o, a:b]), abs=1e-12)
    # the tied group keeps all three ±0.5 at α 0.5 and the zero at 0
    assert codes[0, :4].tolist() == [1, 1, -1, 0] and alpha[0, 0] == pytest.approx(0.5)


@pytest.mark.parametrize("n", [2, 4, 16, 64])
def test_separate_thresholds_reduce_to_one(n):
    """FGQ's search over (Δp, Δn) with one α finds the same error as the search over the
    count of the largest magnitudes (ternary.py says why)."""
    rng = np.random.default_rng(n)
    g = rng.normal(size=(300, n)) * rng.uniform(0.1, 3, size=(300, 1))
    g[np.abs(g) < 0.2] = 0
    g[:20] = np.abs(g[:20])                # all-positive groups: kn = 0
    g[20:25] = 0                           # all-zero groups: α 0, no code kept
    c1, a1 = ternary.search(g)
    c2, a2 = ternary.search_pairs(g)
    e1 = ((g - a1[:, None] * c1) ** 2).sum(1)
    e2 = ((g - a2[:, None] * c2) ** 2).sum(1)
    np.testing.assert_allclose(e1, e2, rtol=1e-12, atol=1e-12)
    assert np.all(a1[20:25] == 0) and not c1[20:25].any()
    # kept weights have the sign of their weight, α is the mean magnitude of the kept ones
    kept = c1 != 0
    assert np.all(np.sign(g[kept]) == c1[kept])
    for i in [i for i in range(30, 60) if kept[i].any()][:10]:
        assert a1[i] == pytest.approx(np.abs(g[i][kept[i]]).mean())


def test_twn_one_threshold_and_alpha_per_layer():
    w = np.array([[1.0, -0.1, 0.4, -2.0], [0.05, 0.3, -0.6, 0.2]])
    codes, alpha = ternary.ternarize(w, 2, "twn")
    delta = 0.7 * np.abs(w).mean()        # 0.7 · 0.58125 = 0.406875
    assert codes.tolist() == [[1, 0, 0, -1], [0, 0, -1, 0]]
    assert np.all(alpha == pytest.approx(np.mean([1.0, 2.0, 0.6])))
    assert delta == pytest.approx(0.406875)


def test_alpha_fl_and_quantization():
    alpha = np.array([[0.5, 0.02, 0.0], [3.0, 2.9, 0.1], [0.0, 0.0, 0.0]])
    fl = ternary.alpha_fl(alpha)
    assert fl.tolist() == [7, 5, 7]       # 0.5·2^7 = 64, 3·2^5 = 96 ≤ 127 < 192
    aq = ternary.quantize_alpha(alpha, fl)
    assert aq.tolist() == [[64, 3, 0], [96, 93, 3], [0, 0, 0]]
    assert aq.dtype == np.uint8


def test_code_packing_layout():
    codes = np.array([1, -1, 0, 1, -1], np.int8)
    raw = ff.pack_codes(codes)
    # weight j in bits 2(j mod 4): 01, 11, 00, 01 → 0b01_00_11_01; then 11 and zero padding
    assert raw == bytes([0b01001101, 0b00000011])
    assert ff.unpack_codes(raw, 5, "x").tolist() == codes.tolist()
    with pytest.raises(ff.FormatError, match="code 0b10 at weight 2"):
        ff.unpack_codes(bytes([0b00100000 | 0b1101, 3]), 5, "x")
    with pytest.raises(ff.FormatError, match="unused bits"):
        ff.unpack_codes(bytes([0b01001101, 0b00010011]), 5, "x")


def test_dense_packing_layout():
    """FORMAT.md §2.5, packing 1: five codes per byte in base 3 (digit 1 = +1, 2 = −1), the
    α's at 7 bits, bit-packed from the lowest bit."""
    codes = np.array([1, -1, 0, 1, -1, -1, 1], np.int8)
    raw = ff.pack_dense(codes)
    assert raw == bytes([1 + 3 * 2 + 27 * 1 + 81 * 2, 2 + 3 * 1])   # 196, 5
    assert ff.unpack_dense(raw, 7, "x").tolist() == codes.tolist()
    with pytest.raises(ff.FormatError, match="dense code byte 0 is 243, not below 243"):
        ff.unpack_dense(bytes([243, 5]), 7, "x")
    with pytest.raises(ff.FormatError, match="unused digits"):
        ff.unpack_dense(bytes([196, 5 + 9]), 7, "x")
    alpha = np.array([127, 1, 64], np.uint8)
    raw = ff.pack_alpha7(alpha)
    # bits 0-6: 127; bits 7-13: 1 (bit 7); bits 14-20: 64 (bit 20); 21 bits → 3 bytes
    assert raw == bytes([0xFF, 0x00, 0x10])
    assert ff.unpack_alpha7(raw, 3, "x").tolist() == alpha.tolist()
    with pytest.raises(ff.FormatError, match="unused bits of the last alpha byte"):
        ff.unpack_alpha7(bytes([0xFF, 0x00, 0x30]), 3, "x")
    with pytest.raises(ff.FormatError, match="above 127"):
        ff.pack_alpha7(np.array([128], np.uint8))
    assert ff.packed_sizes(18, 6, ff.PACKING_DENSE) == (4, 6)
    assert ff.packed_sizes(18, 6, ff.PACKING_2BIT) == (5, 6)


def ternary_graph(n=4, bits=4, packing=ff.PACKING_DENSE) -> ff.Graph:
    g = fgq.ternarize_graph(randmodel.small_cnn(12, 12, 1, classes=3, seed=5), n)
    ff.set_packing(g, packing)
    for op in g.ops:
        if op.codes is not None and g.values[op.input0].dtype == ff.U8 and op.input0:
            g.values[op.input0].bits = bits
    return g


@pytest.mark.parametrize("packing", [ff.PACKING_2BIT, ff.PACKING_DENSE])
def test_round_trip_and_op_record(packing):
    g = ternary_graph(packing=packing)
    tern = [i for i, op in enumerate(g.ops) if op.codes is not None]
    assert tern, "small_cnn has no middle layer to ternarize"
    data = ff.to_bytes(g)
    # the lowest version that holds the file: 2 only for the dense packing (§2.1)
    assert struct.unpack_from("<I", data, 8)[0] == (2 if packing == ff.PACKING_DENSE else 1)
    back = ff.from_bytes(data)
    for a, b in zip(g.ops, back.ops):
        assert a.weight_bits == b.weight_bits and a.group_size == b.group_size
        assert a.packing == b.packing
        if a.codes is not None:
            assert np.array_equal(a.codes, b.codes) and np.array_equal(a.alpha, b.alpha)
        if a.weights is not None:
            assert np.array_equal(a.weights, b.weights)
    assert [v.bits for v in g.values] == [v.bits for v in back.values]
    # the op record: weight_bits 2, group_size, alpha size and offset (FORMAT.md §2.3)
    ops_offset = struct.unpack_from("<Q", data, 80)[0]
    i = tern[0]
    rec = data[ops_offset + 128 * i: ops_offset + 128 * (i + 1)]
    op = g.ops[i]
    k = op.weights.size // op.weights.shape[0]
    wbits, pk, reserved = struct.unpack_from("<BBH", rec, 56)
    wsize, = struct.unpack_from("<Q", rec, 72)
    gsize, asize, aoff = struct.unpack_from("<IIQ", rec, 112)
    assert (wbits, pk, reserved, gsize) == (2, packing, 0, 4)
    n_alpha = op.weights.shape[0] * -(-k // 4)
    if packing == ff.PACKING_DENSE:
        assert wsize == (op.weights.size + 4) // 5
        assert asize == (7 * n_alpha + 7) // 8 and aoff % 64 == 0
        assert data[aoff:aoff + asize] == ff.pack_alpha7(op.alpha)
    else:
        assert wsize == (op.weights.size + 3) // 4
        assert asize == n_alpha and aoff % 64 == 0
        assert data[aoff:aoff + asize] == op.alpha.tobytes()


def _patch(data: bytes, off: int, fmt: str, value) -> bytes:
    """Rewrites a field and both CRCs (FORMAT.md §2) so the field's own check fires."""
    import zlib
    b = bytearray(data)
    struct.pack_into(fmt, b, off, value)
    po = struct.unpack_from("<Q", b, 32)[0]
    struct.pack_into("<I", b, 16, zlib.crc32(bytes(b[po:])))
    struct.pack_into("<I", b, 12, 0)
    struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[:po])))
    return bytes(b)


@pytest.mark.parametrize("packing", [ff.PACKING_2BIT, ff.PACKING_DENSE])
def test_reader_refuses_each_malformed_field(packing):
    g = ternary_graph(packing=packing)
    data = ff.to_bytes(g)
    ops_offset = struct.unpack_from("<Q", data, 80)[0]
    values_offset = struct.unpack_from("<Q", data, 72)[0]
    i = next(i for i, op in enumerate(g.ops) if op.codes is not None)
    rec = ops_offset + 128 * i
    name = f"op {i} (CONV2D)"
    woff = struct.unpack_from("<Q", data, rec + 64)[0]
    aoff = struct.unpack_from("<Q", data, rec + 120)[0]
    k = g.ops[i].weights.size // g.ops[i].weights.shape[0]
    asize = struct.unpack_from("<I", data, rec + 116)[0]
    cases = [
        (rec + 112, "<I", 0, f"{name}: group_size 0 outside"),
        (rec + 112, "<I", k + 1, f"{name}: group_size {k + 1} outside"),
        (rec + 116, "<I", 1, f"{name} alpha: size 1"),
        (rec + 72, "<Q", 3, f"{name} codes: size 3"),
        (rec + 120, "<Q", aoff + 1, "not 64-byte aligned"),
        (rec + 56, "<I", 8, f"{name}: packing and group_size/alpha fields must be 0 "
                            "(not ternary)"),
        (rec + 57, "<B", 2, f"{name}: packing 2 unknown"),
        (rec + 58, "<H", 1, f"{name}: reserved bytes 58-59 must be 0"),
        (8, "<I", 3, "unsupported version 3"),
        (values_offset + 16 * 1 + 14, "<B", 9, "value 1: bits 9"),
        (values_offset + 14, "<B", 4, "value 0 (input) must be u8 with bits 0"),
    ]
    if packing == ff.PACKING_DENSE:
        cases += [
            (woff, "<B", 243, f"{name} codes: dense code byte 0 is 243, not below 243"),
            (8, "<I", 1, f"{name}: packing 1 (dense) in a version 1 file"),
        ]
        if g.ops[i].alpha.size % 8:   # else 7 bits each fill the last byte (layout test above)
            cases.append((aoff + asize - 1, "<B", 0xFF,
                          f"{name} alpha: unused bits of the last alpha byte"))
    else:
        cases += [
            (aoff, "<B", 128, f"{name}: alpha above 127"),
            (woff, "<B", 0b10, f"{name} codes: code 0b10 at weight 0"),
        ]
    for off, fmt, value, msg in cases:
        with pytest.raises(ff.FormatError, match=msg.replace("(", r"\(").replace(")", r"\)")):
            ff.from_bytes(_patch(data, off, fmt, value))
    # an 8-bit op with a group size
    j = next(j for j, op in enumerate(g.ops) if op.weights is not None and op.codes is None)
    with pytest.raises(ff.FormatError, match="group_size/alpha fields must be 0"):
        ff.from_bytes(_patch(data, ops_offset + 128 * j + 112, "<I", 4))
    with pytest.raises(ff.FormatError, match="weight_bits 4, only 8 and 2"):
        ff.from_bytes(_patch(data, ops_offset + 128 * j + 56, "<I", 4))


def test_narrow_values_clamp():
    """A u8 value of 4 bits holds [0, 15]; s8 of 4 bits [−7, 7] (FORMAT.md §1)."""
    assert ff.value_range(ff.U8, 4) == (0, 15) and ff.value_range(ff.S8, 4) == (-7, 7)
    assert ff.value_range(ff.U8, 0) == (0, 255) and ff.value_range(ff.S32, 0)[1] == 2**31 - 1
    v = np.array([-300, -8, 3, 15, 16, 4000])
    assert simulate.requant(v, 0, ff.U8, 4).tolist() == [0, 0, 3, 15, 15, 15]
    assert simulate.requant(v, 0, ff.S8, 4).tolist() == [-7, -7, 3, 7, 7, 7]
    assert simulate.requant(v * 4, 2, ff.U8, 4).tolist() == [0, 0, 3, 15, 15, 15]


def test_ternarize_graph_keeps_first_and_last_layers():
    g0 = randmodel.op_zoo(20, 17, 3, classes=4, seed=3)
    g = fgq.ternarize_graph(g0, 4)
    weighted = [i for i, op in enumerate(g.ops) if op.weights is not None]
    assert g.ops[weighted[0]].codes is None and g.ops[weighted[-1]].codes is None
    assert all(g.ops[i].codes is not None for i in weighted[1:-1])
    for i in weighted[1:-1]:
        op = g.ops[i]
        assert op.weight_bits == 2 and op.group_size == min(4, op.weights[0].size)
        assert np.all(np.isin(op.weights // np.maximum(np.repeat(
            op.alpha.astype(np.int64), op.group_size, axis=1)[:, :op.weights[0].size].reshape(
            op.weights.shape), 1), (-1, 0, 1)))
        # every channel's largest α in [64, 127] unless the channel's shift bounds forbid it
        assert op.alpha.max() <= 127


@pytest.mark.skipif(not os.path.isdir(FASHION_DIR), reason="no Fashion-MNIST")
@pytest.mark.parametrize("act_bits,group,method,correct", [(8, 4, "fgq", False),
                                                                (4, 64, "fgq", False),
                                                                (8, 4, "twn", False),
                                                                (8, 16, "fgq", True)])
def test_finetune_quick_fake_quant_equals_file(tmp_path, act_bits, group, method, correct):
    """A tiny FashionNet: FP32 steps, then ternary (+4-bit) with one fine-tuning epoch on a
    few hundred images; the float64 fake-quant forward predicts exactly what the integer
    simulator of the exported file predicts, and the file is ternary where it should be."""
    from f8train import data, train
    from f8train.model import FashionNet
    torch.manual_seed(0)
    ds = data.load_fashion(FASHION_DIR)
    ds = {"train_x": ds["train_x"][:600], "train_y": ds["train_y"][:600],
          "test_x": ds["test_x"][:300], "test_y": ds["test_y"][:300]}
    fp = FashionNet((8, 16, 16))
    gen = torch.Generator().manual_seed(0)
    train.train_epochs(fp, torch.from_numpy(ds["train_x"].copy()),
                       torch.from_numpy(ds["train_y"].astype(np.int64)), 1, 0.05, gen,
                       lambda *a: None, warmup=True)
    cfg = fgq.Config(group, act_bits, method, correct)
    g, rec, m = fgq.run_one(fp, cfg, 1, ds, quick=True, log=lambda *a: None, jpeg_aug=0.0)
    assert rec["file_size_bytes"] == len(ff.to_bytes(g))
    kinds = [(op.type, op.weight_bits) for op in g.ops if op.weights is not None]
    assert kinds == [(ff.CONV2D, 8)] + [(ff.CONV2D, 2)] * 4 + [(ff.DENSE, 8)]
    assert all(op.group_size == (group if method == "fgq" else op.weights[0].size)
               for op in g.ops[1:5])
    narrow = [g.values[op.output].bits for op in g.ops[:4]]
    assert narrow == ([4] * 4 if act_bits == 4 else [0] * 4)
    # the fake-quant forward of the model the file came from, in float64, against the file
    from f8train import export
    x = ds["test_x"][:300]
    sim = simulate.top1(simulate.run(g, x.reshape(-1, 28, 28, 1)))
    fq = train.predict(export.float64_copy(m), torch.from_numpy(x.copy()), torch.float64)
    assert np.array_equal(sim, fq)
    assert rec["accuracy_finetuned"] == pytest.approx(
        100.0 * float(np.mean(sim == ds["test_y"][:300])), abs=1e-9)
    assert "accuracy_no_finetune" in rec and rec["finetune_epochs"] == 1
    if correct:   # every ternary layer got its α factors and bias shifts
        for n in fgq.TERNARY_LAYERS:
            layer = getattr(m, n)
            assert layer.alpha_scale.shape == (layer.conv.out_channels,)
            assert np.all(layer.alpha_scale > 0) and np.any(layer.alpha_scale != 1)
            assert float(layer.bias_shift.abs().sum()) > 0
    assert rec["output_correction"] == correct


@pytest.mark.skipif(not os.path.isdir(FASHION_DIR), reason="no Fashion-MNIST")
def test_cli_ternarize_checkpoint_and_f8(tmp_path):
    """`ternarize` from a `fashion --checkpoint` FP32 copy (4-bit, N = 16, one quick epoch of
    fine-tuning; and N = 4 without it, output-corrected by default) and from a .f8 as it is
    (--packing 2bit); --finetune or --correct on a .f8 is refused in one line."""
    import json
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), ".."))

    def run(*args):
        return subprocess.run([sys.executable, "-m", "f8train", *args], capture_output=True,
                              text=True, env=env, timeout=300)

    ck = str(tmp_path / "q.ckpt")
    p = run("fashion", "--quick", "--epochs-q", "0", "--widths", "8", "16", "16", "--out",
            str(tmp_path / "q.f8"), "--checkpoint", ck)
    assert p.returncode == 0, p.stderr
    out, rep = str(tmp_path / "t.f8"), str(tmp_path / "t.json")
    p = run("ternarize", ck + ".fp32", "--out", out, "--group", "16", "--act-bits", "4",
            "--finetune", "1", "--quick", "--report", rep)
    assert p.returncode == 0, p.stderr
    g = ff.read(out)
    assert [op.group_size for op in g.ops if op.codes is not None] == [16] * 4
    assert {g.values[op.output].bits for op in g.ops[:4]} == {4}
    md = g.meta_dict()
    assert md["quantization"] == "fgq group=16 act_bits=4 method=fgq"
    r = json.load(open(rep))
    assert md["accuracy.int"] == f"{r['accuracy_finetuned']:.2f}"
    assert r["finetune_epochs"] == 1 and r["file_size_bytes"] == os.path.getsize(out)
    assert r["output_correction"] is False          # not the default with --finetune
    assert r["packing"] == "dense" and {op.packing for op in g.ops if op.codes is not None} \
        == {ff.PACKING_DENSE}

    # without fine-tuning the output correction is the default; --no-correct turns it off
    out3, rep3 = str(tmp_path / "t3.f8"), str(tmp_path / "t3.json")
    p = run("ternarize", ck + ".fp32", "--out", out3, "--group", "4", "--quick", "--report",
            rep3)
    assert p.returncode == 0, p.stderr
    assert json.load(open(rep3))["output_correction"] is True and "outputs corrected" in p.stdout
    from f8train.__main__ import build_parser
    assert build_parser().parse_args(["ternarize", "m", "--out", "o", "--no-correct"]).correct \
        is False

    out2 = str(tmp_path / "t2.f8")
    p = run("ternarize", str(tmp_path / "q.f8"), "--out", out2, "--group", "4", "--packing",
            "2bit")
    assert p.returncode == 0, p.stderr
    g2 = ff.read(out2)
    assert [op.weight_bits for op in g2.ops if op.weights is not None] == [8, 2, 2, 2, 2, 8]
    assert {op.packing for op in g2.ops} == {ff.PACKING_2BIT}
    assert open(out2, "rb").read()[8] == 1          # format version 1: no dense op
    # repack: the same model in the dense packing, smaller
    out4 = str(tmp_path / "t4.f8")
    p = run("repack", out2, "--out", out4)
    assert p.returncode == 0, p.stderr
    g4 = ff.read(out4)
    assert all(np.array_equal(a.weights, b.weights) for a, b in zip(g2.ops, g4.ops)
               if a.weights is not None)
    assert os.path.getsize(out4) < os.path.getsize(out2)
    for bad in (["--finetune", "1"], ["--correct"]):
        p = run("ternarize", str(tmp_path / "q.f8"), "--out", out2, *bad)
        assert p.returncode == 2 and "no --finetune or --correct" in p.stderr


def _f8train(*args):
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), ".."))
    return subprocess.run([sys.executable, "-m", "f8train", *args], capture_output=True,
                          text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def zoo_data(tmp_path_factory):
    """An ImageFolder of 24 JPEGs (two classes of 12) and, per architecture, the FP32
    checkpoint `train --checkpoint` makes of it at 32x32x1 (2 epochs): (folder, arch → path)."""
    from f8train import data
    from test_imagefolder import make_folder
    if not os.path.isdir(FASHION_DIR):
        pytest.skip("no Fashion-MNIST")
    tmp = tmp_path_factory.mktemp("zoo")
    x = data.load_idx(os.path.join(FASHION_DIR, data.FILES["test_x"])).reshape(-1, 28, 28, 1)
    root = str(tmp / "data")
    make_folder(root, x, per_class=12)
    ckpts = {}

    def checkpoint(arch):
        if arch not in ckpts:
            ck = str(tmp / f"{arch}.ckpt")
            p = _f8train("train", "--arch", arch, "--data", root, "--input", "32x32x1",
                         "--epochs-fp", "2", "--lr-fp", "0.005", "--epochs-q", "0", "--batch",
                         "4", "--calib-images", "8", "--checkpoint", ck, "--out", ck + ".f8")
            assert p.returncode == 0, p.stderr
            ckpts[arch] = ck
        return ckpts[arch]
    return root, checkpoint


def _zoo_args(ck, arch, root, out, *extra):
    from f8train.__main__ import build_parser
    return build_parser().parse_args(["ternarize", ck, "--arch", arch, "--data", root,
                                      "--input", "32x32x1", "--calib-images", "8", "--out",
                                      out, *extra])


def _bit_exact_every_isa(path, g):
    """The engine (F8_BIN, when set) against the simulator on every ISA path this CPU has."""
    if os.environ.get("F8_BIN"):
        from test_bitexact import ISAS, _isa_supported, check_isa, extreme_images
        for isa in filter(_isa_supported, ISAS):
            check_isa(path, extreme_images(g.input, 6, 2), isa)


@pytest.mark.parametrize("arch", ["resnet18", "mobilenet_v2"])
def test_cli_ternarize_zoo_checkpoint(arch, zoo_data, tmp_path):
    """`ternarize CKPT --arch A`: the FP32 checkpoint `train --checkpoint` makes for a zoo
    architecture (reduced: 32x32x1, two classes of 12 JPEGs, two epochs), calibrated on the
    ImageFolder and ternarized from its float weights, output-corrected (the default without
    --finetune); first and last layer 8-bit, the rest ternary in the dense packing, and the
    engine bit-exact with the simulator on it."""
    import json
    root, checkpoint = zoo_data
    ck = checkpoint(arch)
    out, rep = str(tmp_path / "zt.f8"), str(tmp_path / "zt.json")
    p = _f8train("ternarize", ck, "--arch", arch, "--data", root, "--input", "32x32x1",
                 "--calib-images", "8", "--group", "4", "--out", out, "--report", rep)
    assert p.returncode == 0, p.stderr
    assert "integer top-1 on the 8 calibration images: F8" in p.stdout
    assert "outputs corrected" in p.stdout
    g = ff.read(out)
    bits = [op.weight_bits for op in g.ops if op.weights is not None]
    assert bits[0] == 8 and bits[-1] == 8 and set(bits[1:-1]) == {2} and len(bits) > 10
    assert {op.packing for op in g.ops if op.codes is not None} == {ff.PACKING_DENSE}
    assert g.labels() == ["boots", "shirts"] and (g.input.h, g.input.w, g.input.c) == (32, 32, 1)
    assert g.meta_dict()["quantization"] == "fgq group=4 act_bits=8 method=fgq"
    r = json.load(open(rep))
    assert r["output_correction"] is True and r["fake_quant_float64_equals_integers"] is True
    assert r["file_size_bytes"] == os.path.getsize(out) and r["finetune_epochs"] == 0
    _bit_exact_every_isa(out, g)


def test_zoo_without_correction_is_ternarize_graph(zoo_data, tmp_path):
    """`--no-correct`, 8-bit activations: the ternary GraphQAT the zoo path goes through
    exports exactly what `ternarize_graph` makes of the calibrated F8 graph's float weights."""
    from f8train import imagefolder, zoo
    root, checkpoint = zoo_data
    ck = checkpoint("resnet18")
    args = _zoo_args(ck, "resnet18", root, str(tmp_path / "o.f8"), "--no-correct")
    g, rec = fgq.zoo_run(args, "test", log=lambda *a: None)
    assert rec["output_correction"] is False and rec["fake_quant_float64_equals_integers"]
    x, _, classes = imagefolder.load_folder(root, 32, 32, 1, limit=8, seed=args.seed)
    model = zoo.build_float("resnet18", len(classes), 1)
    model.load_state_dict(torch.load(ck, map_location="cpu")["model"])
    fp = {}
    g8 = zoo.to_graph("resnet18", model, 32, 32, 1, x, g.meta, float_params=fp)
    want = fgq.ternarize_graph(g8, 4, "fgq", fp)
    assert ff.to_bytes(g) == ff.to_bytes(want)


def test_cli_ternarize_zoo_finetune_4bit(zoo_data, tmp_path):
    """`--arch resnet18 --act-bits 4 --finetune 1` (3 batches of 8): every ternary layer's
    input a u8 value of 4 bits that never leaves [0, 15] on real images, the fine-tuning
    lowers the ternary model's loss on its training images, the float64 fake-quant forward
    equals the file's integers, and the engine is bit-exact on every ISA path."""
    import json
    from f8train import imagefolder
    root, checkpoint = zoo_data
    out, rep = str(tmp_path / "ft.f8"), str(tmp_path / "ft.json")
    p = _f8train("ternarize", checkpoint("resnet18"), "--arch", "resnet18", "--data", root,
                 "--input", "32x32x1", "--calib-images", "8", "--group", "4", "--act-bits", "4",
                 "--finetune", "1", "--batch", "8", "--out", out, "--report", rep)
    assert p.returncode == 0, p.stderr
    assert "4-bit activations" in p.stdout and "fgq epoch 1/1" in p.stdout
    r = json.load(open(rep))
    assert r["output_correction"] is False            # not the default with --finetune
    assert r["train_images"] == 24 and len(r["history"]) == 1
    assert r["train_loss_finetuned"] < r["train_loss_no_finetune"] - 0.01
    assert r["fake_quant_float64_equals_integers"] is True
    g = ff.read(out)
    assert g.meta_dict()["quantization"] == "fgq group=4 act_bits=4 method=fgq"
    tern = [op for op in g.ops if op.codes is not None]
    assert len(tern) == 19 and {g.values[op.input0].bits for op in tern} == {4}
    assert {g.values[op.input0].dtype for op in tern} == {ff.U8}
    # the 8-bit first layer reads the image, the classifier the 8-bit pool
    first, last = [op for op in g.ops if op.weights is not None and op.codes is None]
    assert g.values[first.input0].bits == 0 and g.values[last.input0].bits == 0
    x, _, _ = imagefolder.load_folder(root, 32, 32, 1)
    vals = simulate.run_values(g, x)
    ins = np.concatenate([vals[op.input0].ravel() for op in tern])
    assert ins.min() == 0 and ins.max() <= 15 and np.mean(ins > 0) > 0.05
    _bit_exact_every_isa(out, g)


def test_zoo_correct_and_4bit_mobilenet_v2(zoo_data, tmp_path):
    """`--arch mobilenet_v2 --act-bits 4 --correct`: the output correction runs for a zoo
    graph (a factor per channel on the α's, a bias shift, on every ternary op) and changes the
    file; the u8 inputs of the ternary layers are 4-bit, the s8 ones (the linear bottlenecks)
    stay 8-bit; float64 fake-quant equals the integers; the engine bit-exact."""
    root, checkpoint = zoo_data
    ck = checkpoint("mobilenet_v2")
    out = str(tmp_path / "c.f8")
    args = _zoo_args(ck, "mobilenet_v2", root, out, "--act-bits", "4", "--correct")
    logs = []
    g, rec = fgq.zoo_run(args, "test", log=logs.append)
    assert rec["output_correction"] is True and rec["fake_quant_float64_equals_integers"]
    assert any("outputs corrected: 51 ternary ops" in line for line in logs)
    tern = [op for op in g.ops if op.codes is not None]
    kinds = {(g.values[op.input0].dtype, g.values[op.input0].bits) for op in tern}
    assert kinds == {(ff.U8, 4), (ff.S8, 0)}
    plain, _ = fgq.zoo_run(_zoo_args(ck, "mobilenet_v2", root, out, "--act-bits", "4",
                                     "--no-correct"), "test", log=lambda *a: None)
    assert [v.fl for v in plain.values] == [v.fl for v in g.values]   # same 4-bit FLs
    changed = [i for i, (a, b) in enumerate(zip(plain.ops, g.ops)) if a.codes is not None
               and (not np.array_equal(a.alpha, b.alpha) or not np.array_equal(a.bias, b.bias))]
    assert len(changed) == len(tern)
    ff.write(g, out)
    _bit_exact_every_isa(out, g)

"""Bit-exactness: the C engine (`$F8_BIN logits MODEL RAWFILE`) and the simulator must print the
same integer logits, on the shipped model and on random models that exercise every op.

`make test-trainer` sets F8_BIN. Unset (running pytest by hand), these tests skip; set to a path
that does not exist, they fail: a missing engine must never pass silently."""

import os
import shutil
import subprocess

import numpy as np
import pytest

from f8train import fileformat, randmodel, simulate

F8_BIN = os.environ.get("F8_BIN")
_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIPPED_F8 = os.path.join(_REPO, "models", "fashion.f8")
SHIPPED_TERNARY = os.path.join(_REPO, "models", "fashion-ternary.f8")


def engine_logits(model_path: str, images: np.ndarray) -> np.ndarray:
    if not F8_BIN:
        pytest.skip("F8_BIN is not set (make test-trainer sets it to the C CLI)")
    if not os.path.isfile(F8_BIN) or not os.access(F8_BIN, os.X_OK):
        pytest.fail(f"F8_BIN={F8_BIN} is not an executable file: build it with `make build/f8`")
    raw = model_path + ".raw"
    np.ascontiguousarray(images, dtype=np.uint8).tofile(raw)
    proc = subprocess.run([F8_BIN, "logits", model_path, raw], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, f"{F8_BIN} logits failed ({proc.returncode}): {proc.stderr}"
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    assert len(lines) == len(images), f"expected {len(images)} lines, got {len(lines)}"
    return np.array([[int(t) for t in ln.split()] for ln in lines], dtype=np.int64)


def extreme_images(v0, n_random: int, seed: int) -> np.ndarray:
    """All-0, all-255, a checkerboard, stripes and uniform noise: saturation and sign edges."""
    rng = np.random.default_rng(seed)
    shape = (v0.h, v0.w, v0.c)
    yy, xx = np.mgrid[:v0.h, :v0.w]
    checker = np.repeat((((yy + xx) % 2) * 255)[:, :, None], v0.c, axis=2)
    stripes = np.repeat(((xx % 3 == 0) * 255)[:, :, None], v0.c, axis=2)
    fixed = [np.zeros(shape), np.full(shape, 255), checker, stripes, 255 - checker]
    noise = rng.integers(0, 256, size=(n_random,) + shape)
    return np.concatenate([np.array(fixed), noise]).astype(np.uint8)


def check(model_path: str, images: np.ndarray):
    g = fileformat.read(model_path)
    want = simulate.run(g, images)
    got = engine_logits(model_path, images)
    assert got.shape == want.shape
    bad = np.argwhere(np.any(got != want, axis=1)).ravel()
    assert bad.size == 0, (f"{bad.size}/{len(images)} images differ; first, image {bad[0]}: "
                           f"engine {got[bad[0]].tolist()} simulator {want[bad[0]].tolist()}")


def test_shipped_model_bit_exact(shipped_model, fashion_test, tmp_path):
    x, _ = fashion_test
    path = str(tmp_path / "fashion.f8")
    fileformat.write(shipped_model, path)
    images = np.concatenate([x[:300], extreme_images(shipped_model.input, 20, 0)])
    check(path, images)


@pytest.mark.parametrize("shape,classes,seed", [((28, 28, 1), 10, 0), ((20, 17, 3), 4, 3),
                                                ((12, 12, 1), 2, 7)])
def test_op_zoo_bit_exact(shape, classes, seed, fashion_test, tmp_path):
    g = randmodel.op_zoo(*shape, classes=classes, seed=seed)
    path = str(tmp_path / "zoo.f8")
    fileformat.write(g, path)
    images = extreme_images(g.input, 60, seed)
    if shape == (28, 28, 1):
        images = np.concatenate([images, fashion_test[0][:60]])
    check(path, images)


@pytest.mark.parametrize("shape,classes,seed", [((28, 28, 1), 10, 1), ((28, 28, 1), 10, 2),
                                                ((32, 24, 3), 5, 3)])
def test_random_models_bit_exact(shape, classes, seed, fashion_test, tmp_path):
    g = randmodel.small_cnn(*shape, classes=classes, seed=seed)
    path = str(tmp_path / "random.f8")
    fileformat.write(g, path)
    images = extreme_images(g.input, 40, seed)
    if shape == (28, 28, 1):
        images = np.concatenate([images, fashion_test[0][1000:1100]])
    check(path, images)


# ---- FGQ: ternary weights and narrow (4-bit) values, on every dispatch path ---------------

def _cpu_flags() -> set:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


ISAS = ["scalar", "avx2", "avx512vnni"]


def _isa_supported(isa: str) -> bool:
    flags = _cpu_flags()
    if isa == "avx2":
        return "avx2" in flags
    if isa == "avx512vnni":
        return {"avx512f", "avx512bw", "avx512vl", "avx512_vnni"} <= flags
    return True


def check_isa(model_path: str, images: np.ndarray, isa: str):
    """check() with the engine forced onto one path (the F8_ISA variable, docs/ENGINE.md)."""
    if not _isa_supported(isa):
        pytest.skip(f"this CPU has no {isa}")
    old = os.environ.get("F8_ISA")
    os.environ["F8_ISA"] = isa
    try:
        check(model_path, images)
    finally:
        if old is None:
            del os.environ["F8_ISA"]
        else:
            os.environ["F8_ISA"] = old


def narrow_every_other(g, bits: int = 4):
    """bits on every other u8/s8 value but the input: narrow values before and after every
    op type (ADD, pools and convolutions write them, convolutions read them)."""
    narrow = [i for i, v in enumerate(g.values) if i and v.dtype != fileformat.S32][::2]
    for i in narrow:
        g.values[i].bits = bits
    return narrow


PACKINGS = sorted(fileformat.PACKINGS)   # 2bit, dense (FORMAT.md §2.5)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("packing", PACKINGS)
@pytest.mark.parametrize("shape,classes,seed,group", [((28, 28, 1), 10, 0, 4),
                                                      ((20, 17, 3), 4, 3, 16),
                                                      ((12, 12, 1), 2, 7, 64)])
def test_ternary_op_zoo_bit_exact(isa, packing, shape, classes, seed, group, fashion_test,
                                  tmp_path):
    from f8train import fgq
    g = fgq.ternarize_graph(randmodel.op_zoo(*shape, classes=classes, seed=seed), group)
    assert fileformat.set_packing(g, fileformat.PACKINGS[packing]) >= 3
    assert narrow_every_other(g)
    path = str(tmp_path / "tzoo.f8")
    fileformat.write(g, path)
    images = extreme_images(g.input, 40, seed)
    if shape == (28, 28, 1):
        images = np.concatenate([images, fashion_test[0][:60]])
    check_isa(path, images, isa)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("packing", PACKINGS)
def test_ternary_fashion_model_bit_exact(isa, packing, fashion_test, tmp_path):
    """The shipped ternary model (real weights, 4-bit paths where it has them; shipped dense,
    and rewritten in the 2-bit packing), and the F8 model ternarized with N = 4 and every
    other value at 4 bits (the SIMD kernels' layers of real width: 24, 48, 96 channels)."""
    from f8train import fgq
    x, _ = fashion_test
    images = np.concatenate([x[:200], extreme_images(fileformat.Value(28, 28, 1, 1, 8), 10, 1)])
    if os.path.exists(SHIPPED_TERNARY):   # a copy: engine_logits writes its images beside it
        ship = str(tmp_path / "fashion-ternary.f8")
        if packing == "dense":        # as shipped
            shutil.copy(SHIPPED_TERNARY, ship)
            assert {op.packing for op in fileformat.read(ship).ops if op.codes is not None} \
                == {fileformat.PACKING_DENSE}
        else:
            shipped = fileformat.read(SHIPPED_TERNARY)
            assert fileformat.set_packing(shipped, fileformat.PACKING_2BIT) == 4
            fileformat.write(shipped, ship)
        check_isa(ship, images, isa)
    g = fgq.ternarize_graph(fileformat.read(SHIPPED_F8), 4)
    fileformat.set_packing(g, fileformat.PACKINGS[packing])
    narrow_every_other(g)
    path = str(tmp_path / "t.f8")
    fileformat.write(g, path)
    check_isa(path, images, isa)

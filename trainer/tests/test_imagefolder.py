"""ImageFolder data (f8train/imagefolder.py): the §4 resize against a scalar transcription of
docs/FORMAT.md, and `f8train calibrate` end to end on a tiny folder of JPEGs."""

import io
import os
import subprocess
import sys

import numpy as np
from PIL import Image

from f8train import fileformat, imagefolder

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def scalar_resize(img, oh, ow):
    """FORMAT.md §4 word for word, one pixel at a time."""
    def axis(n_in, n_out):
        step = (n_in << 16) // n_out
        out = []
        for o in range(n_out):
            s = max((((2 * o + 1) * step) >> 1) - 32768, 0)
            i0, f = s >> 16, s & 0xFFFF
            i1 = min(i0 + 1, n_in - 1)
            if i0 >= n_in - 1:
                i0 = i1 = n_in - 1
                f = 0
            out.append((i0, i1, f))
        return out
    p = img.astype(np.int64)
    out = np.zeros((oh, ow, img.shape[2]), np.int64)
    for oy, (y0, y1, fy) in enumerate(axis(img.shape[0], oh)):
        for ox, (x0, x1, fx) in enumerate(axis(img.shape[1], ow)):
            top = p[y0, x0] * (65536 - fx) + p[y0, x1] * fx
            bot = p[y1, x0] * (65536 - fx) + p[y1, x1] * fx
            out[oy, ox] = (top * (65536 - fy) + bot * fy + (1 << 31)) >> 32
    return out.astype(np.uint8)


def test_resize_matches_format_text():
    rng = np.random.default_rng(0)
    for (h, w, c), (oh, ow) in [((28, 28, 1), (13, 40)), ((17, 9, 3), (32, 32)),
                                ((5, 64, 3), (5, 7)), ((1, 1, 1), (3, 2))]:
        img = rng.integers(0, 256, size=(h, w, c), dtype=np.uint8)
        assert np.array_equal(imagefolder.resize(img, oh, ow), scalar_resize(img, oh, ow))
    img = rng.integers(0, 256, size=(6, 6, 1), dtype=np.uint8)
    assert imagefolder.resize(img, 6, 6) is img          # same size: untouched


def make_folder(root, fashion_x, per_class=6):
    for k, name in enumerate(["boots", "shirts"]):
        os.makedirs(os.path.join(root, name, "sub"))
        for i in range(per_class):
            im = Image.fromarray(fashion_x[k * 100 + i, :, :, 0], "L").resize((40, 36))
            where = "sub" if i % 2 else ""
            im.save(os.path.join(root, name, where, f"{i}.jpg"), quality=90)
    open(os.path.join(root, "boots", "notes.txt"), "w").write("not an image")


def test_scan_and_load(fashion_test, tmp_path):
    make_folder(str(tmp_path), fashion_test[0])
    x, y, classes = imagefolder.load_folder(str(tmp_path), 28, 28, 1)
    assert classes == ["boots", "shirts"] and x.shape == (12, 28, 28, 1)
    assert y.tolist() == [0] * 6 + [1] * 6
    x3, _, _ = imagefolder.load_folder(str(tmp_path), 20, 24, 3, limit=5, seed=1)
    assert x3.shape == (5, 20, 24, 3)


def test_calibrate_cli(fashion_test, tmp_path):
    root = str(tmp_path / "data")
    make_folder(root, fashion_test[0])
    out = str(tmp_path / "m.f8")
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "trainer"))
    proc = subprocess.run([sys.executable, "-m", "f8train", "calibrate", "--arch", "mobilenet_v2",
                           "--data", root, "--eval-data", root, "--images", "8",
                           "--input", "32x32x1", "--out", out],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    g = fileformat.read(out)
    md = g.meta_dict()
    assert g.labels() == ["boots", "shirts"] and "accuracy.int" in md and "accuracy.fp32" in md
    assert md["created_by"].startswith("python3 -m f8train calibrate --arch mobilenet_v2")
    ev = subprocess.run([sys.executable, "-m", "f8train", "eval", out, "--data", root],
                        capture_output=True, text=True, env=env, timeout=120)
    assert ev.returncode == 0, ev.stderr
    assert f"top-1 {md['accuracy.int']}% on 12 images" in ev.stdout

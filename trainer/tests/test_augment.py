"""Training augmentation (f8train/data.py): crops and flips stay on the u8 grid; the JPEG round
trip gives the pixels a JPEG decode gives (what f8d receives), only to the images drawn."""

import io
import os
import subprocess
import sys

import numpy as np
import torch
from PIL import Image

from f8train import data


def test_crop_flip_keeps_pixels(fashion_test):
    x = torch.from_numpy(fashion_test[0][:64, :, :, 0].copy())
    a = data.augment(x, torch.Generator().manual_seed(0))
    assert a.dtype == torch.uint8 and a.shape == x.shape
    # every augmented image is a shifted (zero-padded by 2) and maybe mirrored copy
    for i in range(8):
        img, out = x[i].numpy(), a[i].numpy()
        pad = np.pad(img, 2)
        crops = [pad[dy:dy + 28, dx:dx + 28] for dy in range(5) for dx in range(5)]
        hits = [c for c in crops if np.array_equal(out, c) or np.array_equal(out, c[:, ::-1])]
        assert hits, i


def test_jpeg_roundtrip(fashion_test):
    x = torch.from_numpy(fashion_test[0][:40, :, :, 0].copy())
    assert torch.equal(data.jpeg_roundtrip(x, torch.Generator().manual_seed(1), 0.0), x)
    g = torch.Generator().manual_seed(1)
    y = data.jpeg_roundtrip(x, g, 1.0, quality=(90, 90))
    assert y.dtype == torch.uint8 and y.shape == x.shape
    for i in range(5):
        buf = io.BytesIO()
        Image.fromarray(x[i].numpy(), "L").save(buf, format="JPEG", quality=90)
        want = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))
        assert np.array_equal(y[i].numpy(), want)
    assert not torch.equal(y, x)
    # p = 0.5: about half the images change, the others are untouched
    z = data.jpeg_roundtrip(x, torch.Generator().manual_seed(2), 0.5)
    changed = sum(not torch.equal(z[i], x[i]) for i in range(len(x)))
    assert 8 <= changed <= 32


def test_jpeg_aug_must_be_a_probability():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=os.path.join(repo, "trainer"))
    for bad in ("3", "-0.1", "half"):
        p = subprocess.run([sys.executable, "-m", "f8train", "fashion", "--out", "/dev/null",
                            "--quick", "--jpeg-aug", bad], capture_output=True, text=True,
                           env=env, timeout=60)
        assert p.returncode == 2 and "expected a number from 0 to 1" in p.stderr, p.stderr

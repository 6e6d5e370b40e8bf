"""User data: an ImageFolder directory of JPEGs (one sub-folder per class, sorted names = class
indices, like torchvision's ImageFolder), decoded and resized exactly as the daemon does
(docs/FORMAT.md §4), so a model is trained and calibrated on the very pixels it will be served.

Decode: Pillow (libjpeg) with `draft()` (libjpeg's DCT-domain 1/2, 1/4, 1/8 scaling, as the
daemon's f8img), converted to "L" (libjpeg luminance) or "RGB"; then, when the size differs,
the §4 bilinear resize in 16.16 fixed point, vectorised below.
"""

from __future__ import annotations

import os
from typing import List, Tuple

import numpy as np

EXTENSIONS = (".jpg", ".jpeg", ".JPG", ".JPEG")


def _axis(n_in: int, n_out: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FORMAT.md §4, one axis: (i0, i1, f) for every output pixel, all unsigned 64-bit."""
    step = (n_in << 16) // n_out                       # step = (in << 16) / out
    o = np.arange(n_out, dtype=np.int64)
    s = ((2 * o + 1) * step) >> 1                      # centre of output pixel o, 16.16
    s = np.maximum(s - 32768, 0)                       # s − 32768, or 0 if negative
    i0, f = s >> 16, s & 0xFFFF
    i1 = np.minimum(i0 + 1, n_in - 1)
    edge = i0 >= n_in - 1                              # if i0 ≥ in − 1: i0 = i1 = in − 1, f = 0
    i0 = np.where(edge, n_in - 1, i0)
    i1 = np.where(edge, n_in - 1, i1)
    f = np.where(edge, 0, f)
    return i0, i1, f


def resize(img: np.ndarray, oh: int, ow: int) -> np.ndarray:
    """FORMAT.md §4 bilinear resize of an (h, w, c) u8 array, each channel on its own."""
    h, w, _ = img.shape
    if (h, w) == (oh, ow):
        return img
    p = img.astype(np.int64)
    y0, y1, fy = _axis(h, oh)
    x0, x1, fx = _axis(w, ow)
    fx = fx[None, :, None]
    fy = fy[:, None, None]
    top = p[y0][:, x0] * (65536 - fx) + p[y0][:, x1] * fx
    bot = p[y1][:, x0] * (65536 - fx) + p[y1][:, x1] * fx
    return ((top * (65536 - fy) + bot * fy + (1 << 31)) >> 32).astype(np.uint8)


def load_image(path_or_file, h: int, w: int, c: int) -> np.ndarray:
    """One JPEG → (h, w, c) u8, the daemon's pixels."""
    from PIL import Image
    im = Image.open(path_or_file)
    mode = "L" if c == 1 else "RGB"
    im.draft(mode, (w, h))
    if im.mode == "CMYK":
        im = im.convert("RGB")
    im = im.convert(mode)
    a = np.asarray(im, dtype=np.uint8).reshape(im.size[1], im.size[0], c)
    return resize(a, h, w)


def scan(root: str) -> Tuple[List[str], List[Tuple[str, int]]]:
    """(class names, [(path, class index)]) of an ImageFolder directory."""
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    if not classes:
        raise ValueError(f"{root}: no class folders")
    items = []
    for k, name in enumerate(classes):
        for dirpath, _, files in sorted(os.walk(os.path.join(root, name))):
            items += [(os.path.join(dirpath, f), k) for f in sorted(files)
                      if f.endswith(EXTENSIONS)]
    if not items:
        raise ValueError(f"{root}: no JPEG files")
    return classes, items


def load_folder(root: str, h: int, w: int, c: int, limit: int = 0,
                seed: int = 0) -> Tuple[np.ndarray, np.ndarray, List[str]]:
    """(images (N, h, w, c) u8, labels (N,), class names); `limit` > 0 draws that many images
    at random (seeded), e.g. a few hundred for calibration."""
    classes, items = scan(root)
    if limit and limit < len(items):
        pick = np.random.default_rng(seed).choice(len(items), limit, replace=False)
        items = [items[i] for i in sorted(pick)]
    x = np.stack([load_image(p, h, w, c) for p, _ in items])
    y = np.array([k for _, k in items], np.int64)
    return x, y, classes

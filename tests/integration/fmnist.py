"""Real test images for the daemon: the Fashion-MNIST test set (Debian's
dataset-fashion-mnist, idx format) encoded as JPEG with PIL, quality 90."""

import gzip
import io
import os
import struct

import numpy as np
from PIL import Image

DATA_DIR = os.environ.get("F8_FASHION_DIR", "/usr/share/datasets/fashion-mnist")

LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def load_idx(path):
    """An idx file (gzipped): magic 0x0000 08 <ndim>, big-endian dims, then u8 data."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack_from(">HBB", data, 0)
    if zero != 0 or dtype != 0x08:
        raise ValueError("%s: not an unsigned-byte idx file" % path)
    dims = struct.unpack_from(">%dI" % ndim, data, 4)
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_test_set():
    """(images (10000, 28, 28) u8, labels (10000,) u8)."""
    x = load_idx(os.path.join(DATA_DIR, "t10k-images-idx3-ubyte.gz"))
    y = load_idx(os.path.join(DATA_DIR, "t10k-labels-idx1-ubyte.gz"))
    return x, y


def to_jpeg(pixels, quality=90):
    """A grayscale u8 array as JPEG bytes."""
    buf = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def to_png(pixels):
    buf = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buf, format="PNG")
    return buf.getvalue()


def to_gif(pixels):
    buf = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buf, format="GIF")
    return buf.getvalue()


def jpeg_test_set(count=None):
    """[(jpeg bytes, label index)] for the first `count` test images (all when None)."""
    x, y = load_test_set()
    n = len(x) if count is None else count
    return [(to_jpeg(x[i]), int(y[i])) for i in range(n)]

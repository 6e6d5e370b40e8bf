#!/usr/bin/python3
"""Makes the sample JPEGs in samples/ from the Fashion-MNIST test set (Debian's
dataset-fashion-mnist): for each class named below, its first image in the test set, scaled
up 4x (112x112, so a person can see it; f8d scales it back down as it decodes) and saved as a
grayscale JPEG. Like every Fashion-MNIST image, each is a light garment on a dark background:
what the shipped model expects.

    scripts/make-samples.py [--data /usr/share/datasets/fashion-mnist] [--out samples]

The images are committed; this only remakes them (the same bytes, from the same data)."""

import argparse
import gzip
import os
import struct

from PIL import Image

LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
# file name -> class index
SAMPLES = {"ankle-boot.jpg": 9, "trouser.jpg": 1, "bag.jpg": 8}
SCALE = 4
QUALITY = 92


def load_idx(path):
    """An idx file (gzipped): magic 0x0000 08 <ndim>, big-endian dims, then u8 data.
    Returns (dims, bytes)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack_from(">HBB", data, 0)
    if zero != 0 or dtype != 0x08:
        raise ValueError("%s: not an unsigned-byte idx file" % path)
    dims = struct.unpack_from(">%dI" % ndim, data, 4)
    return dims, data[4 + 4 * ndim:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "samples"))
    args = ap.parse_args()
    (n, h, w), pixels = load_idx(os.path.join(args.data, "t10k-images-idx3-ubyte.gz"))
    _, labels = load_idx(os.path.join(args.data, "t10k-labels-idx1-ubyte.gz"))
    os.makedirs(args.out, exist_ok=True)
    for name, cls in SAMPLES.items():
        i = labels.index(bytes([cls]))
        img = Image.frombytes("L", (w, h), pixels[i * h * w:(i + 1) * h * w])
        img = img.resize((w * SCALE, h * SCALE), Image.BICUBIC)
        path = os.path.join(args.out, name)
        img.save(path, format="JPEG", quality=QUALITY, optimize=True)
        print("%s: test image %d, %s, %d bytes" % (os.path.normpath(path), i, LABELS[cls],
                                                   os.path.getsize(path)))


if __name__ == "__main__":
    main()

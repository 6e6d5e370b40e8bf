"""A model whose logits are its input pixels: one DENSE op with identity weights (weight 1,
FL 0, output s32 with the input's FL), so the daemon's infer "logits" output shows exactly
the tensor its JPEG path produced, pixel for pixel."""

import numpy as np

from f8train import fileformat
from f8train.builder import GraphBuilder


def write_pixel_model(path, h, w, c):
    k = h * w * c
    b = GraphBuilder(h, w, c, fl=8)
    y = b.dense(0, np.eye(k, dtype=np.int8), np.zeros(k, np.int32), [0] * k,
                dtype=fileformat.S32, fl=8)
    g = b.build(y, [("name", "pixels"), ("labels", "\n".join("p%d" % i for i in range(k))),
                    ("description", "identity: logits = input pixels (tests)")])
    fileformat.write(g, path)

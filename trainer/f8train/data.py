"""Fashion-MNIST from the idx files (no downloads), batches and light augmentation.

Images stay uint8 until the last moment: the model's input convention is the u8 pixel itself
at FL 8 (real value pixel/256, docs/FORMAT.md §4), so `to_input` divides by 256, never 255,
and subtracts no mean.
"""

from __future__ import annotations

import gzip
import os
import struct
from typing import Dict

import numpy as np
import torch

FILES = {
    "train_x": "train-images-idx3-ubyte.gz",
    "train_y": "train-labels-idx1-ubyte.gz",
    "test_x": "t10k-images-idx3-ubyte.gz",
    "test_y": "t10k-labels-idx1-ubyte.gz",
}


def load_idx(path: str) -> np.ndarray:
    """One idx file (optionally gzipped): big-endian magic 0x0000 08 <ndim>, then dims."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack_from(">HBB", data, 0)
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte idx file")
    dims = struct.unpack_from(f">{ndim}I", data, 4)
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: size does not match dims {dims}")
    return arr.reshape(dims)


def load_fashion(root: str) -> Dict[str, np.ndarray]:
    """train_x (60000, 28, 28) u8, train_y (60000,) u8, test_x, test_y."""
    return {k: load_idx(os.path.join(root, f)) for k, f in FILES.items()}


def to_input(x_u8: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
    """(N, 28, 28) uint8 → (N, 1, 28, 28) real input pixel/256, channels-last (faster on CPU)."""
    x = x_u8.to(dtype).unsqueeze(1) / 256.0
    return x.contiguous(memory_format=torch.channels_last)


def augment(x_u8: torch.Tensor, gen: torch.Generator, pad: int = 2) -> torch.Tensor:
    """Random crop after zero padding by `pad` pixels and a random horizontal flip, per image.
    Both keep the image on the u8 grid, so the quantized input stays exact."""
    n, h, w = x_u8.shape
    xp = torch.nn.functional.pad(x_u8, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    flip = torch.rand(n, generator=gen) < 0.5
    cols = torch.arange(w).expand(n, w)
    cols = torch.where(flip[:, None], w - 1 - cols, cols) + dx[:, None]
    rows = torch.arange(h)[None, :] + dy[:, None]
    return xp[torch.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def jpeg_roundtrip(x_u8: torch.Tensor, gen: torch.Generator, p: float,
                   quality=(70, 95)) -> torch.Tensor:
    """Each image, with probability p, encoded as a grayscale JPEG at a random quality in
    [quality] and decoded again (PIL: libjpeg-turbo, the decoder f8d uses): the artifacts the
    daemon's inputs carry. The result is still u8."""
    import io

    from PIL import Image
    n = x_u8.shape[0]
    pick = torch.rand(n, generator=gen) < p
    qs = torch.randint(quality[0], quality[1] + 1, (n,), generator=gen)
    if not bool(pick.any()):
        return x_u8
    out = x_u8.clone()
    for i in torch.nonzero(pick).flatten().tolist():
        buf = io.BytesIO()
        Image.fromarray(x_u8[i].numpy(), "L").save(buf, format="JPEG", quality=int(qs[i]))
        buf.seek(0)
        out[i] = torch.from_numpy(np.asarray(Image.open(buf).convert("L"), np.uint8).copy())
    return out


def batches(n: int, batch: int, gen: torch.Generator, shuffle: bool = True):
    """Index tensors of one epoch; the last partial batch is dropped when shuffling (BN wants
    full batches), kept otherwise (evaluation must see every image)."""
    order = torch.randperm(n, generator=gen) if shuffle else torch.arange(n)
    stop = n - n % batch if shuffle and n >= batch else n
    for i in range(0, stop, batch):
        yield order[i:i + batch]

"""The daemon's JPEG path gives the same pixels as the trainer's pipeline (Pillow: open,
draft() for libjpeg's DCT-domain scaling, convert, then docs/FORMAT.md §4's bilinear resize,
written here in numpy): baseline, progressive, grayscale, CMYK JPEGs, down- and upscaled.

The models are "pixel models" (pixel_model.py): their logits are their input pixels, so the
infer answer shows exactly the tensor the decode workers made."""

import base64
import io
import json
import os
import shutil
import tempfile

import numpy as np
import pytest
from PIL import Image

from f8d_process import Daemon
from pixel_model import write_pixel_model

H, W = 16, 12


def axis(n_in, n_out):
    """FORMAT.md §4, one axis: (i0, i1, f) per output pixel, 16.16 fixed point."""
    step = (n_in << 16) // n_out
    out = []
    for o in range(n_out):
        s = ((2 * o + 1) * step) >> 1
        s = max(s - 32768, 0)
        i0, f = s >> 16, s & 0xFFFF
        i1 = min(i0 + 1, n_in - 1)
        if i0 >= n_in - 1:
            i0 = i1 = n_in - 1
            f = 0
        out.append((i0, i1, f))
    return out


def resize(img, oh, ow):
    """FORMAT.md §4 bilinear resize of an (h, w, c) u8 array, exactly."""
    h, w, _ = img.shape
    p = img.astype(np.int64)
    out = np.zeros((oh, ow, img.shape[2]), np.int64)
    xs = axis(w, ow)
    for oy, (y0, y1, fy) in enumerate(axis(h, oh)):
        for ox, (x0, x1, fx) in enumerate(xs):
            top = p[y0, x0] * (65536 - fx) + p[y0, x1] * fx
            bot = p[y1, x0] * (65536 - fx) + p[y1, x1] * fx
            out[oy, ox] = (top * (65536 - fy) + bot * fy + (1 << 31)) >> 32
    return out.astype(np.uint8)


def trainer_pixels(jpeg, oh, ow, oc):
    """The trainer's preprocessing (PIL) of one JPEG to an (oh, ow, oc) u8 array."""
    im = Image.open(io.BytesIO(jpeg))
    mode = "L" if oc == 1 else "RGB"
    im.draft(mode, (ow, oh))  # libjpeg DCT scaling by 1/8, 1/4 or 1/2, as f8img
    if im.mode == "CMYK":
        im = im.convert("RGB")
    im = im.convert(mode)
    a = np.asarray(im, dtype=np.uint8).reshape(im.size[1], im.size[0], oc)
    if a.shape[:2] != (oh, ow):
        a = resize(a, oh, ow)
    return a


def pattern(w, h, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([(x * 255 // max(w - 1, 1)), (y * 255 // max(h - 1, 1)),
                     ((x + y) * 7) % 256], axis=-1)
    noise = rng.integers(-20, 20, size=(h, w, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def jpeg_of(img, **kw):
    buf = io.BytesIO()
    img.save(buf, format="JPEG", **kw)
    return buf.getvalue()


CASES = {
    "rgb_640x480_420": lambda: jpeg_of(Image.fromarray(pattern(640, 480, 1)), quality=90),
    "rgb_progressive_200x150": lambda: jpeg_of(Image.fromarray(pattern(200, 150, 2)),
                                               quality=85, progressive=True),
    "rgb_444_97x131": lambda: jpeg_of(Image.fromarray(pattern(97, 131, 3)), quality=95,
                                      subsampling=0),
    "gray_100x90": lambda: jpeg_of(Image.fromarray(pattern(100, 90, 4)[:, :, 0], mode="L"),
                                   quality=90),
    "gray_progressive_300x300": lambda: jpeg_of(
        Image.fromarray(pattern(300, 300, 5)[:, :, 1], mode="L"), progressive=True),
    "cmyk_64x80": lambda: jpeg_of(Image.fromarray(pattern(64, 80, 6)).convert("CMYK"),
                                  quality=92),
    "exact_size": lambda: jpeg_of(Image.fromarray(pattern(W, H, 7)), quality=90),
    "upscale_6x8": lambda: jpeg_of(Image.fromarray(pattern(6, 8, 8)), quality=90),
}


@pytest.fixture(scope="module")
def pixel_daemon():
    d = tempfile.mkdtemp(prefix="f8d-pixels-")
    write_pixel_model(os.path.join(d, "rgb.f8"), H, W, 3)
    write_pixel_model(os.path.join(d, "gray.f8"), H, W, 1)
    daemon = Daemon(d)
    try:
        daemon.wait_ready()
        yield daemon
    finally:
        rc = daemon.stop()
        shutil.rmtree(d, ignore_errors=True)
        daemon.assert_clean_exit(rc)


def daemon_pixels(daemon, model, jpegs, c):
    body = json.dumps({"inputs": [{"name": "image_bytes", "datatype": "BYTES",
                                   "shape": [len(jpegs)],
                                   "data": [base64.b64encode(j).decode() for j in jpegs]}],
                       "outputs": [{"name": "logits"}]})
    status, _, out = daemon.request("POST", "/v2/models/%s/infer" % model, body=body)
    assert status == 200, out
    data = np.array(out["outputs"][0]["data"])
    assert data.min() >= 0 and data.max() <= 255
    return data.reshape(len(jpegs), H, W, c).astype(np.uint8)


@pytest.mark.parametrize("channels", [3, 1])
def test_daemon_pixels_equal_trainer_pipeline(pixel_daemon, channels):
    names = sorted(CASES)
    jpegs = [CASES[n]() for n in names]
    got = daemon_pixels(pixel_daemon, "rgb" if channels == 3 else "gray", jpegs, channels)
    for name, jpeg, g in zip(names, jpegs, got):
        want = trainer_pixels(jpeg, H, W, channels)
        diff = np.abs(g.astype(int) - want.astype(int))
        assert diff.max() == 0, "%s: %d pixels differ, max %d" % (name, (diff > 0).sum(),
                                                                  diff.max())


def test_raw_pixels_round_trip(pixel_daemon):
    """UINT8 input: the pixels come back as the logits, untouched."""
    px = pattern(W, H, 9)
    body = json.dumps({"inputs": [{"name": "image", "datatype": "UINT8", "shape": [1, H, W, 3],
                                   "data": px.reshape(-1).tolist()}],
                       "outputs": [{"name": "logits"}]})
    status, _, out = pixel_daemon.request("POST", "/v2/models/rgb/infer", body=body)
    assert status == 200, out
    assert out["outputs"][0]["data"] == px.reshape(-1).tolist()

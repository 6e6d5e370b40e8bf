"""Synthetic ImageNet-size models for benchmarking libf8 until (and besides) `make zoo`:
ResNet-18/50, MobileNet-V1/V2 in torchvision's layouts (224x224x3 in, 1000 classes), random
He-scaled s8 weights, fixed fractional lengths (no calibration: the speed of the integer
kernels does not depend on the values). Written with the trainer's .f8 writer (read-only use).

    PYTHONPATH=trainer /usr/bin/python3 bench/synth_models.py OUTDIR [NAME...]
"""
import math
import os
import sys

import numpy as np

from f8train.builder import GraphBuilder
from f8train.fileformat import S8, S32, U8, write

FL_ACT = 4  # every u8/s8 activation: real = q / 16


class W:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def t(self, shape, fl_x=FL_ACT, fl_out=FL_ACT):
        cout = shape[0]
        fan_in = int(np.prod(shape[1:]))
        w = np.clip(np.rint(self.rng.normal(0, 48, size=shape)), -127, 127).astype(np.int8)
        flw = np.full(cout, round(math.log2(48 * math.sqrt(fan_in / 2))), np.int8)
        bias = np.rint(self.rng.normal(0, 0.1, size=cout) * 2.0 ** (flw.astype(np.int64) + fl_x))
        return w, bias.astype(np.int32), flw


def conv(b, w, x, cout, k, stride=1, groups=1, relu=True, dtype=U8):
    cin = b.value(x).c
    return b.conv(x, *w.t((cout, k, k, cin // groups)), stride=stride, pads=k // 2,
                  groups=groups, relu=relu, dtype=dtype, fl=FL_ACT)


def head(b, w, x, classes=1000):
    v = b.value(x)
    g = b.avgpool(x, (v.h, v.w), 1, round(math.log2(v.h * v.w)), dtype=U8, fl=FL_ACT)
    wd, bd, fd = w.t((classes, b.value(g).c))
    logits = b.dense(g, wd, bd, fd, dtype=S32, fl=int(fd[0]) + FL_ACT)
    return logits


def meta(name):
    return [("name", name), ("labels", "\n".join(f"class {i}" for i in range(1000))),
            ("description", f"synthetic {name}: random weights, for benchmarks only"),
            ("created_by", "bench/synth_models.py")]


def stem(b, w, ch=64):
    x = conv(b, w, 0, ch, 7, 2)
    return b.maxpool(x, 3, 2, 1)


def resnet18():
    b, w = GraphBuilder(224, 224, 3, fl=8), W(18)
    x = stem(b, w)
    cin = 64
    for i, ch in enumerate([64, 128, 256, 512]):
        for j in range(2):
            s = 2 if (i > 0 and j == 0) else 1
            y = conv(b, w, x, ch, 3, s)
            y = conv(b, w, y, ch, 3, 1, relu=False, dtype=S8)
            sc = conv(b, w, x, ch, 1, s, relu=False, dtype=S8) if (s != 1 or cin != ch) else x
            x = b.add(y, sc, relu=True, dtype=U8, fl=FL_ACT)
            cin = ch
    return b.build(head(b, w, x), meta("resnet18"))


def resnet50():
    b, w = GraphBuilder(224, 224, 3, fl=8), W(50)
    x = stem(b, w)
    cin = 64
    for i, (ch, n) in enumerate(zip([64, 128, 256, 512], [3, 4, 6, 3])):
        for j in range(n):
            s = 2 if (i > 0 and j == 0) else 1
            y = conv(b, w, x, ch, 1)
            y = conv(b, w, y, ch, 3, s)
            y = conv(b, w, y, ch * 4, 1, relu=False, dtype=S8)
            sc = conv(b, w, x, ch * 4, 1, s, relu=False, dtype=S8) if j == 0 else x
            x = b.add(y, sc, relu=True, dtype=U8, fl=FL_ACT)
            cin = ch * 4
    return b.build(head(b, w, x), meta("resnet50"))


def mobilenet_v1():
    b, w = GraphBuilder(224, 224, 3, fl=8), W(1)
    x = conv(b, w, 0, 32, 3, 2)
    for ch, s in [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + \
            [(1024, 2), (1024, 1)]:
        c = b.value(x).c
        x = conv(b, w, x, c, 3, s, groups=c)
        x = conv(b, w, x, ch, 1)
    return b.build(head(b, w, x), meta("mobilenet_v1"))


def mobilenet_v2():
    b, w = GraphBuilder(224, 224, 3, fl=8), W(2)
    x = conv(b, w, 0, 32, 3, 2)
    first = True
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                       (6, 160, 3, 2), (6, 320, 1, 1)]:
        for j in range(n):
            stride = s if j == 0 else 1
            cin = b.value(x).c
            y = x
            if t != 1:
                y = conv(b, w, y, cin * t, 1)
            hid = b.value(y).c
            y = conv(b, w, y, hid, 3, stride, groups=hid)
            y = conv(b, w, y, c, 1, relu=False, dtype=S8)
            if stride == 1 and cin == c:
                y = b.add(y, x, relu=False, dtype=S8, fl=FL_ACT)
            x = y
            first = False
    x = conv(b, w, x, 1280, 1)
    return b.build(head(b, w, x), meta("mobilenet_v2"))


MODELS = {"resnet18": resnet18, "resnet50": resnet50, "mobilenet_v1": mobilenet_v1,
          "mobilenet_v2": mobilenet_v2}

if __name__ == "__main__":
    out = sys.argv[1]
    names = sys.argv[2:] or list(MODELS)
    os.makedirs(out, exist_ok=True)
    for n in names:
        path = os.path.join(out, n + ".f8")
        write(MODELS[n](), path)
        print(path)

"""The model zoo: ResNet-18, ResNet-50, MobileNet-V1 and MobileNet-V2 in torchvision's layouts
(any class count, input size and 1 or 3 input channels), and their conversion to `.f8`.

A float model (random initialisation or a torchvision-style `state_dict`) becomes an integer
graph in one pass, op by op, with the integer simulator running a few calibration images
alongside (docs/TRAINING.md, "Post-training conversion"):

- BN is folded into the conv before it (`fold.fold_bn`);
- FL_w per output channel from the std of that channel's folded weights (F8Net rule, C = 40);
- the bias at FL_w + FL_x, FL_x the input's FL, already chosen;
- each op's output FL from the std of the real values that op produces on the calibration
  images *in the integer graph built so far* (C = 70 for u8 after ReLU, 40 for s8), so errors
  of earlier layers are seen by later ones;
- residual additions are ADD ops (operands aligned by shifts, FORMAT.md §3);
- global average pooling is a sum and a shift by round(log2(area)); the classifier's weights
  are multiplied by 2^shift / area so that the float classifier sees the mean it was trained on;
- ReLU6 (MobileNet-V2) becomes ReLU: the u8 clamp at 255·2^-FL is the clip (PACT-like), not 6.

Random models get their BN running statistics from a float forward over the calibration
images, so every pre-activation is normalised and the FLs neither saturate nor vanish.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from . import simulate
from .builder import GraphBuilder
from .fileformat import S8, S32, U8, Graph
from .fold import fold_bn

ARCHS = ("resnet18", "resnet50", "mobilenet_v1", "mobilenet_v2")
# The small ResNet for 28×28 grayscale (the shipped Fashion model's network, model.FashionNet):
# for `train` and `calibrate`, not part of `make zoo`'s ImageNet-size benchmark set.
SMALL_ARCHS = ("fashionnet",)
ALL_ARCHS = ARCHS + SMALL_ARCHS
C_SIGNED, C_UNSIGNED = 40.0, 70.0
FL_MIN, FL_MAX = -8, 20     # inside FORMAT.md §1's [-32, 32], shifts stay far below 31


# ---------------------------------------------------------------------------------------------
# Float architectures
# ---------------------------------------------------------------------------------------------

class MobileNetV1(nn.Module):
    """MobileNet-V1 (Howard et al. 2017, width 1.0). torchvision has none; the layout follows
    torchvision's MobileNet-V2 naming: `features.N` = Sequential(conv, bn, relu) for the stem,
    Sequential(dw conv, bn, relu, 1x1 conv, bn, relu) for each separable block; `classifier`
    = Linear(1024, classes)."""

    CFG = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + \
          [(1024, 2), (1024, 1)]

    def __init__(self, num_classes: int = 1000, in_ch: int = 3):
        super().__init__()
        layers: List[nn.Module] = [nn.Sequential(nn.Conv2d(in_ch, 32, 3, 2, 1, bias=False),
                                                 nn.BatchNorm2d(32), nn.ReLU(inplace=True))]
        c = 32
        for cout, s in self.CFG:
            layers.append(nn.Sequential(
                nn.Conv2d(c, c, 3, s, 1, groups=c, bias=False), nn.BatchNorm2d(c),
                nn.ReLU(inplace=True),
                nn.Conv2d(c, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True)))
            c = cout
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.features(x)
        return self.classifier(x.mean(dim=(2, 3)))


def build_float(arch: str, num_classes: int = 1000, in_ch: int = 3) -> nn.Module:
    """A freshly initialised float model (torchvision's own initialisation)."""
    import torchvision.models as tvm
    if arch == "mobilenet_v1":
        return MobileNetV1(num_classes, in_ch)
    if arch == "fashionnet":
        from .model import FashionNet
        return FashionNet(classes=num_classes, in_ch=in_ch)
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r} (known: {', '.join(ALL_ARCHS)})")
    m = getattr(tvm, arch)(weights=None, num_classes=num_classes)
    if in_ch != 3:
        if arch.startswith("resnet"):
            m.conv1 = nn.Conv2d(in_ch, 64, 7, 2, 3, bias=False)
            nn.init.kaiming_normal_(m.conv1.weight, mode="fan_out", nonlinearity="relu")
        else:
            conv = m.features[0][0]
            m.features[0][0] = nn.Conv2d(in_ch, conv.out_channels, 3, 2, 1, bias=False)
            nn.init.kaiming_normal_(m.features[0][0].weight, mode="fan_out")
    return m


def images_to_float(images: np.ndarray) -> torch.Tensor:
    """u8 NHWC → the real input pixel/256 (FORMAT.md §4 step 3: FL 8, no mean or std), NCHW."""
    return torch.from_numpy(np.asarray(images, np.float32) / 256.0).permute(0, 3, 1, 2)


def set_bn_statistics(model: nn.Module, images: np.ndarray) -> None:
    """BN running statistics = the exact mean/var over `images` (cumulative, momentum None), so
    a randomly initialised model normalises its pre-activations like a trained one."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    model.train()
    with torch.no_grad():
        model(images_to_float(images))
    model.eval()


# ---------------------------------------------------------------------------------------------
# Conversion: float model → integer graph, calibrating as it goes
# ---------------------------------------------------------------------------------------------

def fl_rule(std: float, signed: bool, lo: int = FL_MIN, hi: int = FL_MAX) -> int:
    """F8Net: FL = floor(log2(C / std)), C = 40 signed, 70 unsigned, clamped to [lo, hi]."""
    if not std > 0 or not math.isfinite(std):
        return hi
    return int(min(max(math.floor(math.log2((C_SIGNED if signed else C_UNSIGNED) / std)), lo), hi))


def weight_fls(w: np.ndarray) -> np.ndarray:
    """FL_w per output channel (axis 0) from that channel's std, signed rule."""
    flat = w.reshape(w.shape[0], -1).astype(np.float64)
    std = flat.std(axis=1, ddof=1) if flat.shape[1] > 1 else np.abs(flat[:, 0])
    return np.array([fl_rule(float(s), True) for s in std], np.int64)


def quantize_weights(w: np.ndarray, b: np.ndarray, fl_x: int):
    """(s8 weights, s32 bias, FL_w) for float weights [Cout][...] and bias [Cout]."""
    flw = weight_fls(w)
    scale = np.exp2(flw.astype(np.float64)).reshape(-1, *([1] * (w.ndim - 1)))
    wq = np.clip(np.rint(w * scale), -127, 127).astype(np.int8)
    bq = np.clip(np.rint(b * np.exp2((flw + fl_x).astype(np.float64))), -(2**31 - 1), 2**31 - 1)
    return wq, bq.astype(np.int32), flw.astype(np.int8)


class Converter:
    """Appends ops to a GraphBuilder and runs each one at once on the calibration images with
    the simulator, to choose its output FL from what it actually produces."""

    def __init__(self, h: int, w: int, c: int, images: np.ndarray, fl_rule: str = "std"):
        if fl_rule not in ("std", "rmse"):
            raise ValueError("fl_rule must be 'std' or 'rmse'")
        self.rule = fl_rule
        self.b = GraphBuilder(h, w, c, fl=8)
        self.vals: Dict[int, np.ndarray] = {0: np.asarray(images).astype(np.int64)}
        self.fls: List[Tuple[int, str, int]] = []   # (value id, dtype name, FL) for the report
        # op index → the folded float (weights, bias) it quantized, for graphqat.GraphQAT
        self.float_params: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}

    def _finish(self, y: int) -> int:
        g = Graph(self.b.values, self.b.ops, y, [])
        op = self.b.ops[-1]
        v, f_int = simulate.execute_op(g, op, self.vals)
        out = self.b.values[y]
        if out.dtype != S32:
            real = v.astype(np.float64) * np.exp2(-np.asarray(f_int, np.float64))
            if op.relu:
                real = np.maximum(real, 0)
            signed = out.dtype == S8
            out.fl = fl_rule(float(real.std()), signed=signed)
            if self.rule == "rmse":     # tiny fine-tuning's grid search, around the std rule
                from . import quant
                out.fl = quant.fl_grid_search(torch.from_numpy(real), signed,
                                              max(out.fl - 2, FL_MIN), min(out.fl + 2, FL_MAX))
        else:
            out.fl = int(np.min(f_int))     # s32: exact, at the smallest channel's F_int
        self.vals[y] = simulate.epilogue(v, f_int, out.dtype, out.fl, op.relu)
        return y

    def conv_bn(self, x: int, conv: nn.Conv2d, bn: Optional[nn.BatchNorm2d], relu: bool,
                dtype: int = U8) -> int:
        with torch.no_grad():
            if bn is not None:
                w, bias = fold_bn(conv.weight, bn, conv.bias)
            else:
                w = conv.weight
                bias = conv.bias if conv.bias is not None else torch.zeros(w.shape[0])
        w = w.double().numpy().transpose(0, 2, 3, 1)           # OIHW → [Cout][kh][kw][Cin/G]
        wq, bq, flw = quantize_weights(w, bias.double().numpy(), self.b.values[x].fl)
        ph, pw = conv.padding
        y = self.b.conv(x, wq, bq, flw, stride=conv.stride, pads=(ph, pw, ph, pw),
                        groups=conv.groups, relu=relu, dtype=dtype, fl=0)
        self.float_params[len(self.b.ops) - 1] = (w, bias.double().numpy())
        return self._finish(y)

    def add(self, a: int, b: int, relu: bool, dtype: int) -> int:
        return self._finish(self.b.add(a, b, relu=relu, dtype=dtype, fl=0))

    def maxpool(self, x: int, mp: nn.MaxPool2d) -> int:
        k, s, p = mp.kernel_size, mp.stride, mp.padding
        y = self.b.maxpool(x, k, s, p)      # same dtype and FL: a max changes neither
        g = Graph(self.b.values, self.b.ops, y, [])
        v, f_int = simulate.execute_op(g, self.b.ops[-1], self.vals)
        self.vals[y] = simulate.epilogue(v, f_int, self.b.values[y].dtype, self.b.values[y].fl,
                                         False)
        return y

    def global_pool_dense(self, x: int, fc: nn.Linear,
                          shift: Optional[int] = None) -> Tuple[int, int]:
        """AVGPOOL over the whole map (sum, shift round(log2 area)) into u8, then DENSE into s32
        logits; the classifier is scaled by 2^shift/area (module docstring). With `shift`
        given, the float model itself pools as sum/2^shift (FashionNet): no scaling."""
        v = self.b.values[x]
        area = v.h * v.w
        exact = shift is not None
        shift = shift if exact else max(0, round(math.log2(area)))
        p = self._finish(self.b.avgpool(x, (v.h, v.w), 1, shift, dtype=U8, fl=0))
        with torch.no_grad():
            w = fc.weight.double().numpy() * (1.0 if exact else 2.0 ** shift / area)
            bias = fc.bias.double().numpy()
        wq, bq, flw = quantize_weights(w, bias, self.b.values[p].fl)
        y = self.b.dense(p, wq, bq, flw, dtype=S32, fl=0)
        self.float_params[len(self.b.ops) - 1] = (w, bias)
        return self._finish(y), shift


def _resnet(cv: Converter, m: nn.Module) -> int:
    x = cv.conv_bn(0, m.conv1, m.bn1, relu=True)
    x = cv.maxpool(x, m.maxpool)
    for layer in (m.layer1, m.layer2, m.layer3, m.layer4):
        for blk in layer:
            if hasattr(blk, "conv3"):       # Bottleneck (stride on the 3x3, torchvision v1.5)
                y = cv.conv_bn(x, blk.conv1, blk.bn1, relu=True)
                y = cv.conv_bn(y, blk.conv2, blk.bn2, relu=True)
                y = cv.conv_bn(y, blk.conv3, blk.bn3, relu=False, dtype=S8)
            else:                           # BasicBlock
                y = cv.conv_bn(x, blk.conv1, blk.bn1, relu=True)
                y = cv.conv_bn(y, blk.conv2, blk.bn2, relu=False, dtype=S8)
            sc = x
            if blk.downsample is not None:
                sc = cv.conv_bn(x, blk.downsample[0], blk.downsample[1], relu=False, dtype=S8)
            x = cv.add(y, sc, relu=True, dtype=U8)
    return cv.global_pool_dense(x, m.fc)[0]


def _cna(cv: Converter, x: int, seq: nn.Sequential) -> int:
    """torchvision's Conv2dNormActivation (conv, BN, ReLU/ReLU6) → one u8 CONV2D with ReLU."""
    return cv.conv_bn(x, seq[0], seq[1], relu=True)


def _mobilenet_v2(cv: Converter, m: nn.Module) -> int:
    feats = list(m.features)
    x = _cna(cv, 0, feats[0])
    for blk in feats[1:-1]:
        parts = list(blk.conv)
        y = x
        for cna in parts[:-2]:              # [expand 1x1,] depthwise 3x3: conv + BN + ReLU6
            y = _cna(cv, y, cna)
        y = cv.conv_bn(y, parts[-2], parts[-1], relu=False, dtype=S8)   # linear projection
        if blk.use_res_connect:
            y = cv.add(y, x, relu=False, dtype=S8)
        x = y
    x = _cna(cv, x, feats[-1])
    return cv.global_pool_dense(x, m.classifier[-1])[0]


def _mobilenet_v1(cv: Converter, m: MobileNetV1) -> int:
    feats = list(m.features)
    x = _cna(cv, 0, feats[0])
    for blk in feats[1:]:
        x = cv.conv_bn(x, blk[0], blk[1], relu=True)
        x = cv.conv_bn(x, blk[3], blk[4], relu=True)
    return cv.global_pool_dense(x, m.classifier)[0]


def _fashionnet(cv: Converter, m: nn.Module) -> int:
    """c1..c4 (conv, BN, ReLU), c5 (conv, BN) into s8, ReLU(c5 + c3) into u8, sum/64, dense."""
    from .model import POOL_SHIFT
    x = cv.conv_bn(0, m.c1.conv, m.c1.bn, relu=True)
    x = cv.conv_bn(x, m.c2.conv, m.c2.bn, relu=True)
    a3 = cv.conv_bn(x, m.c3.conv, m.c3.bn, relu=True)
    y = cv.conv_bn(a3, m.c4.conv, m.c4.bn, relu=True)
    y = cv.conv_bn(y, m.c5.conv, m.c5.bn, relu=False, dtype=S8)
    s = cv.add(y, a3, relu=True, dtype=U8)
    return cv.global_pool_dense(s, m.fc, shift=POOL_SHIFT)[0]


WALKERS = {"resnet18": _resnet, "resnet50": _resnet, "mobilenet_v1": _mobilenet_v1,
           "mobilenet_v2": _mobilenet_v2, "fashionnet": _fashionnet}


def to_graph(arch: str, model: nn.Module, h: int, w: int, c: int, images: np.ndarray,
             meta: Sequence[Tuple[str, str]], fl_rule: str = "std",
             float_params: Optional[dict] = None) -> Graph:
    """The integer graph of `model` (eval mode), FLs calibrated on `images` (N, h, w, c) u8:
    activation FLs by F8Net's std rule, or ("rmse") by the RMSE grid search of tiny
    fine-tuning over the std rule's FL ± 2. `float_params`, when given, receives op index →
    the folded float (weights, bias) each CONV2D/DENSE quantized (graphqat.GraphQAT)."""
    model.eval()
    cv = Converter(h, w, c, images, fl_rule)
    out = WALKERS[arch](cv, model)
    if float_params is not None:
        float_params.update(cv.float_params)
    return cv.b.build(out, list(meta))


def calibration_images(h: int, w: int, c: int, n: int, seed: int) -> np.ndarray:
    """Random images: half uniform noise, half smooth blobs (coarse noise blown up 8×)."""
    rng = np.random.default_rng(seed + 1000)
    noise = rng.integers(0, 256, size=(n // 2, h, w, c), dtype=np.uint8)
    k = 8
    coarse = rng.integers(0, 256, size=(n - n // 2, (h + k - 1) // k, (w + k - 1) // k, c))
    smooth = np.repeat(np.repeat(coarse, k, axis=1), k, axis=2)[:, :h, :w, :]
    return np.concatenate([noise, smooth.astype(np.uint8)])


def random_model(arch: str, h: int = 224, w: int = 224, c: int = 3, classes: int = 1000,
                 seed: int = 0, n_calib: int = 8, state_dict: Optional[dict] = None,
                 created_by: str = "f8train zoo") -> Tuple[Graph, nn.Module]:
    """A zoo model as `.f8`: random weights (torchvision initialisation, BN statistics from the
    calibration images) or `state_dict` when given; FLs calibrated on `n_calib` random images."""
    torch.manual_seed(seed)
    model = build_float(arch, classes, c)
    images = calibration_images(h, w, c, n_calib, seed)
    if state_dict is not None:
        model.load_state_dict(state_dict)
        desc = f"{arch} from a state_dict, post-training calibration on {n_calib} random images"
    else:
        set_bn_statistics(model, images)
        desc = (f"{arch}, random weights (seed {seed}); not trained, outputs are meaningless")
    labels = "\n".join(f"class {i}" for i in range(classes))
    meta = [("name", arch), ("labels", labels), ("description", desc),
            ("created_by", created_by)]
    return to_graph(arch, model, h, w, c, images, meta), model

"""The zoo architectures (f8train/zoo.py): bit-exact against the engine at reduced input size
and class count (random weights, a few images), and the conversion close to the float model."""

import numpy as np
import pytest
import torch

from f8train import fileformat, simulate, zoo
from test_bitexact import check, extreme_images

# Non-square, reduced inputs keep the test fast; every stride and pooling path still runs.
CASES = [("resnet18", (48, 40, 3), 10), ("resnet50", (40, 32, 3), 7),
         ("mobilenet_v1", (48, 40, 3), 5), ("mobilenet_v2", (40, 48, 1), 12)]


@pytest.fixture(scope="module", params=CASES, ids=[c[0] for c in CASES])
def zoo_model(request):
    arch, (h, w, c), classes = request.param
    g, model = zoo.random_model(arch, h, w, c, classes, seed=3, n_calib=6)
    return arch, g, model


def test_zoo_bit_exact(zoo_model, tmp_path):
    arch, g, _ = zoo_model
    path = str(tmp_path / f"{arch}.f8")
    fileformat.write(g, path)
    check(path, extreme_images(g.input, 5, 11))


def test_zoo_layout_and_calibration(zoo_model):
    """Torchvision's op counts; no u8 activation saturates on more than 5% of its elements or is
    all zero; the integer logits follow the float model's on the calibration images. Deep random
    networks at these tiny sizes amplify rounding (ResNet-50 at 40x32 keeps 0.44, at 96x96 0.88),
    so only ResNet-18 gets a tight bound; the others catch a wrong layout (correlation ~0)."""
    arch, g, model = zoo_model
    convs = sum(op.type == fileformat.CONV2D for op in g.ops)
    assert convs == {"resnet18": 20, "resnet50": 53, "mobilenet_v1": 27,
                     "mobilenet_v2": 52}[arch]
    v0 = g.input
    imgs = zoo.calibration_images(v0.h, v0.w, v0.c, 6, 3)     # the calibration images
    vals = simulate.run_values(g, imgs)
    for i, v in enumerate(g.values[1:], 1):
        if v.dtype == fileformat.U8:
            assert (vals[i] == 255).mean() < 0.05, f"value {i} saturates"
            assert (vals[i] > 0).mean() > 0.05, f"value {i} vanishes"
    out = g.values[g.output_value]
    li = vals[g.output_value].reshape(len(imgs), -1) * 2.0 ** -out.fl
    with torch.no_grad():
        lf = model(zoo.images_to_float(imgs)).numpy()
    assert np.corrcoef(li.ravel(), lf.ravel())[0, 1] > (0.95 if arch == "resnet18" else 0.4)


def test_fl_rule_per_channel():
    """FL_w per output channel: std 1 → floor(log2 40) = 5, std 1/8 → 8, std 4 → 3."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 3, 3, 600)) * np.array([1.0, 0.125, 4.0])[:, None, None, None]
    assert zoo.weight_fls(w).tolist() == [5, 8, 3]
    assert zoo.fl_rule(1.0, signed=False) == 6     # floor(log2 70)


def test_state_dict_is_converted_as_given(tmp_path):
    """`--state-dict`: a torchvision-style checkpoint gives the same file as the model itself."""
    model = zoo.build_float("resnet18", 3, 1)
    imgs = zoo.calibration_images(32, 32, 1, 4, 0)
    zoo.set_bn_statistics(model, imgs)
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    g1, _ = zoo.random_model("resnet18", 32, 32, 1, 3, seed=0, n_calib=4, state_dict=sd)
    g2 = zoo.to_graph("resnet18", model, 32, 32, 1, imgs, g1.meta)
    assert fileformat.to_bytes(g1) == fileformat.to_bytes(g2)


def test_rmse_rule_calibrates_no_worse():
    """Tiny fine-tuning's RMSE grid search gives a valid graph whose FLs differ from the std
    rule's by at most 2 and whose logits follow the float model at least as closely here."""
    model = zoo.build_float("resnet18", 5, 3)
    imgs = zoo.calibration_images(32, 32, 3, 6, 1)
    zoo.set_bn_statistics(model, imgs)
    meta = [("name", "r"), ("labels", "\n".join("abcde"))]
    g_std = zoo.to_graph("resnet18", model, 32, 32, 3, imgs, meta)
    g_rmse = zoo.to_graph("resnet18", model, 32, 32, 3, imgs, meta, fl_rule="rmse")
    d = [abs(a.fl - b.fl) for a, b in zip(g_std.values, g_rmse.values)]
    assert max(d) <= 2 and any(d)
    with torch.no_grad():
        lf = model(zoo.images_to_float(imgs)).numpy().ravel()

    def corr(g):
        out = g.values[g.output_value]
        li = simulate.run(g, imgs).astype(np.float64) * 2.0 ** -out.fl
        return np.corrcoef(li.ravel(), lf)[0, 1]
    assert corr(g_rmse) >= corr(g_std) - 0.02

"""Quantization-aware fine-tuning of zoo graphs (f8train/graphqat.py) and `f8train train` on
ImageFolder JPEGs: the float64 fake-quant forward equals the integer simulator bit for bit,
before and after training, for every zoo architecture; the STE passes gradients to the
weights; a real training run on two Fashion-MNIST classes as JPEGs learns them, and the C
engine computes the exported file's logits exactly."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from f8train import fileformat, graphqat, simulate, zoo
from test_bitexact import engine_logits

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _calibrated(arch, size=40, classes=7, seed=0):
    torch.manual_seed(seed)
    m = zoo.build_float(arch, classes, 3)
    imgs = zoo.calibration_images(size, size, 3, 8, seed)
    zoo.set_bn_statistics(m, imgs)
    fp = {}
    g = zoo.to_graph(arch, m, size, size, 3, imgs, [("name", arch)], float_params=fp)
    return g, fp, imgs


def _fq_logits(q, g, imgs):
    with torch.no_grad():
        out = q.double()(zoo.images_to_float(imgs).double()).numpy()
    return out * 2.0 ** g.values[g.output_value].fl


@pytest.mark.parametrize("arch", zoo.ALL_ARCHS)
def test_fake_quant_graph_equals_simulator(arch):
    g, fp, imgs = _calibrated(arch)
    q = graphqat.GraphQAT(g, fp)
    # every CONV2D/DENSE starts from the folded float weights it was calibrated from
    assert len(fp) == sum(op.type in (fileformat.CONV2D, fileformat.DENSE) for op in g.ops)
    ints = simulate.run(g, imgs)
    assert np.array_equal(_fq_logits(q, g, imgs), ints.astype(np.float64))
    # and export() of the untouched module writes back exactly the calibrated integers
    g2 = q.export()
    for a, b in zip(g.ops, g2.ops):
        if a.weights is not None:
            assert np.array_equal(a.weights, b.weights) and np.array_equal(a.bias, b.bias)


def test_training_steps_keep_the_export_exact():
    g, fp, imgs = _calibrated("resnet18", size=32, classes=4, seed=3)
    q = graphqat.GraphQAT(g, fp).float()
    opt = torch.optim.SGD(q.parameters(), lr=0.05)
    labels = torch.arange(len(imgs)) % 4
    x = zoo.images_to_float(imgs)
    w0 = q.weights[0].detach().clone()
    for _ in range(3):
        loss = torch.nn.functional.cross_entropy(q(x), labels)
        opt.zero_grad()
        loss.backward()
        # the STE delivers a gradient to the first layer's weights through every later op
        assert float(q.weights[0].grad.abs().sum()) > 0
        opt.step()
    assert not torch.equal(w0, q.weights[0].detach())
    g2 = q.export()
    changed = sum(not np.array_equal(a.weights, b.weights)
                  for a, b in zip(g.ops, g2.ops) if a.weights is not None)
    assert changed > 0
    assert np.array_equal(_fq_logits(q, g2, imgs), simulate.run(g2, imgs).astype(np.float64))


def test_fix_quant_ste_mask():
    x = torch.tensor([-0.6, 0.2, 1.0, 200.0], requires_grad=True)
    y = graphqat.fix_quant(x, 1.0, (0, 127))
    assert y.tolist() == [0.0, 0.0, 1.0, 127.0]        # round half to even: 0.2 → 0
    y.sum().backward()
    # 0 for values rounded onto or beyond a bound (-0.6 → -1 and 0.2 → 0 are not strictly
    # inside (0, 127); 200 is beyond), 1 inside
    assert x.grad.tolist() == [0.0, 0.0, 1.0, 0.0]


def _folder(root, x, y, classes, per_class):
    """JPEGs of the given Fashion-MNIST classes, one folder each (names sort like the ids)."""
    for k, cls in enumerate(classes):
        os.makedirs(os.path.join(root, f"c{k}"))
        for i in np.flatnonzero(y == cls)[:per_class]:
            Image.fromarray(x[i, :, :, 0], "L").save(os.path.join(root, f"c{k}", f"{i}.jpg"),
                                                     quality=90)


def test_train_cli_on_imagefolder(fashion_test, tmp_path):
    x, y = fashion_test
    train_dir, val_dir = str(tmp_path / "train"), str(tmp_path / "val")
    _folder(train_dir, x[:6000], y[:6000], (1, 9), 120)     # trouser vs ankle boot
    _folder(val_dir, x[6000:], y[6000:], (1, 9), 40)
    out, rep = str(tmp_path / "m.f8"), str(tmp_path / "r.json")
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "trainer"))
    proc = subprocess.run([sys.executable, "-m", "f8train", "train", "--arch", "mobilenet_v1",
                           "--data", train_dir, "--val", val_dir, "--input", "32x32x1",
                           "--epochs-fp", "2", "--epochs-q", "1", "--batch", "16",
                           "--calib-images", "32", "--report", rep, "--out", out],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    g = fileformat.read(out)
    md = g.meta_dict()
    assert g.labels() == ["c0", "c1"]
    assert md["created_by"].startswith("python3 -m f8train train --arch mobilenet_v1")
    r = json.load(open(rep))
    assert r["fake_quant_float64_equals_integers"] is True
    assert [h["phase"] for h in r["history"]] == ["fp32", "fp32", "quantized"]
    assert os.path.exists(str(tmp_path / "r.png"))
    # trousers and boots are easy: the quantized model must have learned them
    acc = float(md["accuracy.int"])
    assert acc >= 85.0, proc.stdout
    assert acc == r["accuracy_top1_percent"]["integer_simulated"]
    # the C engine computes the exported file exactly (skips without F8_BIN)
    from f8train import imagefolder
    xv, yv, _ = imagefolder.load_folder(val_dir, 32, 32, 1)
    ints = simulate.run(g, xv)
    assert 100.0 * float(np.mean(simulate.top1(ints) == yv)) == pytest.approx(acc, abs=0.005)
    assert np.array_equal(engine_logits(out, xv), ints)


def test_train_checkpoint_resume(fashion_test, tmp_path):
    """`train --checkpoint`, then `--resume` of the finished run: nothing is trained again and
    the same integers come out; a resume without a checkpoint file is an error."""
    x, y = fashion_test
    data_dir = str(tmp_path / "d")
    _folder(data_dir, x, y, (0, 1), 24)
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "trainer"))
    out1, out2, ck = str(tmp_path / "a.f8"), str(tmp_path / "b.f8"), str(tmp_path / "t.ckpt")
    base = [sys.executable, "-m", "f8train", "train", "--arch", "mobilenet_v2", "--data",
            data_dir, "--input", "32x32x1", "--epochs-fp", "1", "--epochs-q", "1", "--batch",
            "16", "--calib-images", "16", "--checkpoint", ck]
    p1 = subprocess.run(base + ["--out", out1], capture_output=True, text=True, env=env,
                        timeout=600)
    assert p1.returncode == 0, p1.stderr
    assert torch.load(ck)["phase"] == "quantized"
    p2 = subprocess.run(base + ["--resume", "--out", out2], capture_output=True, text=True,
                        env=env, timeout=600)
    assert p2.returncode == 0, p2.stderr
    assert "resuming" in p2.stdout and "epoch 1/1" not in p2.stdout
    g1, g2 = fileformat.read(out1), fileformat.read(out2)
    for a, b in zip(g1.ops, g2.ops):        # the same integers (created_by differs)
        if a.weights is not None:
            assert np.array_equal(a.weights, b.weights) and np.array_equal(a.bias, b.bias)
    assert [v.fl for v in g1.values] == [v.fl for v in g2.values]
    for k in ("accuracy.fp32", "accuracy.int", "accuracy.calibration_only"):
        assert g1.meta_dict()[k] == g2.meta_dict()[k]
    p3 = subprocess.run(base[:-1] + [str(tmp_path / "none.ckpt"), "--resume", "--out", out2],
                        capture_output=True, text=True, env=env, timeout=120)
    assert p3.returncode != 0 and "no checkpoint" in p3.stderr


def test_fashionnet_is_a_zoo_architecture(fashion_test, tmp_path):
    """The small ResNet for 28×28 grayscale through the zoo path: calibrated on Fashion images,
    its integer graph follows the float model and the C engine computes it exactly."""
    x, y = fashion_test
    torch.manual_seed(0)
    m = zoo.build_float("fashionnet", 10, 1)
    zoo.set_bn_statistics(m, x[:64])
    g = zoo.to_graph("fashionnet", m, 28, 28, 1, x[:64],
                     [("name", "fashionnet"), ("labels", "\n".join(map(str, range(10))))])
    kinds = [op.type for op in g.ops]
    assert kinds == [fileformat.CONV2D] * 5 + [fileformat.ADD, fileformat.AVGPOOL,
                                               fileformat.DENSE]
    assert g.ops[6].avg_shift == 6                      # sum/64, as the float model pools
    ints = simulate.run(g, x[:32])
    with torch.no_grad():
        fp = m(zoo.images_to_float(x[:32])).numpy()
    real = ints * 2.0 ** -g.values[g.output_value].fl
    assert np.corrcoef(real.ravel(), fp.ravel())[0, 1] > 0.9
    path = str(tmp_path / "f.f8")
    fileformat.write(g, path)
    assert np.array_equal(engine_logits(path, x[:32]), ints)


def test_train_bad_input_is_one_clear_line(fashion_test, tmp_path):
    """A validation folder with other classes, or a data folder that is not there: exit 2 and
    one line naming the problem, no traceback."""
    x, y = fashion_test
    train_dir, val_dir = str(tmp_path / "t"), str(tmp_path / "v")
    _folder(train_dir, x, y, (0, 1), 4)
    _folder(val_dir, x, y, (0, 1, 2), 4)
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "trainer"))
    base = [sys.executable, "-m", "f8train", "train", "--arch", "mobilenet_v1", "--input",
            "32x32x1", "--out", str(tmp_path / "m.f8")]
    for extra, want in ((["--data", train_dir, "--val", val_dir], "differ"),
                        (["--data", str(tmp_path / "nowhere")], "nowhere")):
        p = subprocess.run(base + extra, capture_output=True, text=True, env=env, timeout=120)
        assert p.returncode == 2, p.stderr
        assert "Traceback" not in p.stderr and want in p.stderr, p.stderr
        assert p.stderr.startswith("f8train train: error:"), p.stderr

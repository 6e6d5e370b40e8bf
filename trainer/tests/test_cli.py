"""The command line: --help and random-model as other engineers call them."""

import os
import subprocess
import sys

import numpy as np

from f8train import fileformat

ENV = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), ".."))


def run(*args):
    return subprocess.run([sys.executable, "-m", "f8train", *args], capture_output=True,
                          text=True, env=ENV, timeout=120)


def test_help_lists_commands():
    p = run("--help")
    assert p.returncode == 0
    for cmd in ("random-model", "zoo", "calibrate", "fashion", "quantize", "export", "eval",
                "simulate", "info"):
        assert cmd in p.stdout


def test_random_model_default_and_zoo(tmp_path):
    out = str(tmp_path / "r.f8")
    assert run("random-model", "--out", out, "--seed", "3").returncode == 0
    g = fileformat.read(out)
    assert (g.input.h, g.input.w, g.input.c, g.num_classes) == (28, 28, 1, 10)
    assert g.labels()[0] == "T-shirt/top" and g.labels()[9] == "Ankle boot"
    assert "random-model" in g.meta_dict()["created_by"]
    # deterministic given --seed (same command line, so the same created_by too)
    first = open(out, "rb").read()
    assert run("random-model", "--out", out, "--seed", "3").returncode == 0
    assert open(out, "rb").read() == first

    zoo = str(tmp_path / "z.f8")
    p = run("random-model", "--out", zoo, "--zoo", "--input", "16x20x3", "--classes", "4")
    assert p.returncode == 0, p.stderr
    g = fileformat.read(zoo)
    assert (g.input.h, g.input.w, g.input.c, g.num_classes) == (16, 20, 3, 4)
    ops = g.ops
    kinds = {op.type for op in ops}
    assert kinds == {fileformat.CONV2D, fileformat.DENSE, fileformat.ADD, fileformat.MAXPOOL,
                     fileformat.AVGPOOL}


def test_zoo_covers_every_option():
    from f8train import randmodel, simulate
    g = randmodel.op_zoo()
    convs = [op for op in g.ops if op.type == fileformat.CONV2D]
    assert any(op.kernel_h == 3 and op.pads == (1, 1, 1, 1) and op.stride_h == 1 for op in convs)
    assert any(op.stride_h > 1 for op in convs)
    assert any(len(set(op.pads)) > 1 for op in convs)                       # asymmetric
    assert any(op.kernel_h == 1 and op.kernel_w == 1 for op in convs)
    assert any(1 < op.groups < g.values[op.input0].c for op in convs)       # grouped
    assert any(op.groups == g.values[op.input0].c == g.values[op.output].c for op in convs)
    assert {g.values[op.input0].dtype for op in convs} == {fileformat.U8, fileformat.S8}
    assert any(len(set(op.flw.tolist())) > 1 for op in convs)              # per-channel FL_w
    adds = [op for op in g.ops if op.type == fileformat.ADD]
    assert any(g.values[op.input0].fl != g.values[op.input1].fl for op in adds)
    assert any({g.values[op.input0].dtype, g.values[op.input1].dtype} == {fileformat.S32,
                                                                          fileformat.U8}
               for op in adds)
    pools = [op for op in g.ops if op.type == fileformat.MAXPOOL]
    assert any(any(op.pads) for op in pools)
    areas = [op.kernel_h * op.kernel_w for op in g.ops if op.type == fileformat.AVGPOOL]
    assert any(a & (a - 1) == 0 for a in areas) and any(a & (a - 1) for a in areas)
    assert {op.relu for op in g.ops} == {True, False}
    assert {v.dtype for v in g.values[1:]} == {fileformat.U8, fileformat.S8, fileformat.S32}
    shifts = [int(s) for op in g.ops
              for s in np.atleast_1d(simulate.f_int(g, op) - g.values[op.output].fl)]
    assert min(shifts) < 0 < max(shifts)                                     # left and right


def test_zoo_command(tmp_path):
    p = run("zoo", "--out", str(tmp_path), "--arch", "mobilenet_v2", "resnet18",
            "--input", "32x32x3", "--classes", "3", "--calib", "4")
    assert p.returncode == 0, p.stderr
    for arch in ("mobilenet_v2", "resnet18"):
        g = fileformat.read(str(tmp_path / f"{arch}.f8"))
        md = g.meta_dict()
        assert md["name"] == arch and g.num_classes == 3
        assert md["created_by"].startswith("python3 -m f8train zoo --out")
    assert not list(tmp_path.glob("*.tmp"))

"""End to end, small: `fashion --quick` trains on a few thousand images for one epoch each,
exports a valid model and simulates it (about a minute on 2 cores; no time is asserted, the
host is shared)."""

import json

import numpy as np

from f8train import fileformat, simulate, train
from conftest import FASHION_DIR


def test_quick_training_run(tmp_path, fashion_test):
    out, rep = str(tmp_path / "q.f8"), str(tmp_path / "q.json")
    # the network of the previous shipped model (16 32 56): a smoke test, kept small
    report = train.run(out, rep, epochs_fp=1, epochs_q=1, quick=True, seed=0,
                       data_root=FASHION_DIR, created_by="pytest", log=lambda *a: None,
                       widths=(16, 32, 56))
    assert json.load(open(rep)) == json.loads(json.dumps(report))
    g = fileformat.read(out)
    md = g.meta_dict()
    assert md["name"] == "fashion" and md["created_by"] == "pytest"
    assert len(g.labels()) == 10
    assert float(md["accuracy.int"]) == report["accuracy_top1_percent"]["integer_simulated"]
    # the file simulates to the accuracy the report states, and better than chance
    x, y = fashion_test
    pred = simulate.top1(simulate.run(g, x[:train.QUICK_TEST]))
    acc = 100 * float(np.mean(pred == y[:train.QUICK_TEST]))
    assert round(acc, 2) == report["accuracy_top1_percent"]["integer_simulated"]
    assert acc > 20
    # float64 fake quantization is exact, so it must agree with the integers everywhere
    assert report["fake_quant_vs_integer_agreement_percent"] == 100.0
    assert report["epochs"] == {"fp32": 1, "quantized": 1}


def test_checkpoint_resume_report_and_calibration_only(tmp_path):
    """A run with --checkpoint, then --resume of the finished run: no epoch is trained again and
    the same bytes come out; report.png is written; the calibration-only model is a valid file
    whose simulated accuracy the report states."""
    out, rep, ck = str(tmp_path / "q.f8"), str(tmp_path / "q.json"), str(tmp_path / "q.ckpt")
    cal = str(tmp_path / "cal.f8")
    kw = dict(epochs_fp=1, epochs_q=1, quick=True, seed=0, data_root=FASHION_DIR,
              created_by="pytest", widths=(8, 8, 16), checkpoint=ck, calib_out=cal)
    r1 = train.run(out, rep, log=lambda *a: None, **kw)
    assert [h["phase"] for h in r1["history"]] == ["fp32", "q"]
    assert all("test_acc" in h for h in r1["history"])
    lines = []
    r2 = train.run(str(tmp_path / "r.f8"), None, log=lines.append, resume=True, **kw)
    assert not any("epoch 1/1" in ln for ln in lines), lines
    assert open(out, "rb").read() == open(str(tmp_path / "r.f8"), "rb").read()
    assert r2["history"] == r1["history"]
    g = fileformat.read(cal)
    assert float(g.meta_dict()["accuracy.int"]) == \
        r1["accuracy_top1_percent"]["calibration_only_integer"]
    # the FP32 checkpoint copy reruns the quantized phase with PACT (alphas start at s = 1)
    import shutil
    shutil.copyfile(ck + ".fp32", str(tmp_path / "p.ckpt"))
    kw.update(checkpoint=str(tmp_path / "p.ckpt"), pact=True, calib_out=None)
    r3 = train.run(str(tmp_path / "p.f8"), None, log=lambda *a: None, resume=True, **kw)
    assert r3["history"][0] == r1["history"][0] and r3["pact_alpha"]
    try:
        import matplotlib  # noqa: F401
        assert open(str(tmp_path / "q.png"), "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    except ImportError:
        pass


def test_pact_run_exports_exactly(tmp_path):
    """With PACT the scales s = 2^FL·α/255 are absorbed into the float weights before they are
    quantized: the exported file still computes the fake-quant forward exactly (100% agreement),
    and the clip levels α moved from their start 255·2^-FL."""
    out = str(tmp_path / "p.f8")
    r = train.run(out, None, epochs_fp=1, epochs_q=1, quick=True, seed=0, data_root=FASHION_DIR,
                  created_by="pytest", log=lambda *a: None, widths=(8, 8, 16), pact=True)
    assert r["fake_quant_vs_integer_agreement_percent"] == 100.0
    fl = r["fractional_lengths"]["activations"]
    assert any(abs(a - 255 * 2.0 ** -fl[k]) > 1e-4 for k, a in r["pact_alpha"].items())
    assert r["accuracy_top1_percent"]["integer_simulated"] > 20


def test_ddp_two_processes_on_cpu(tmp_path):
    """DDP as torchrun would start it (WORLD_SIZE/RANK/MASTER_*; gloo on CPUs): both ranks
    train, rank 0 alone writes the model, the report and the checkpoint."""
    import os
    import socket
    import subprocess
    import sys
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    procs = []
    for r in (0, 1):
        env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE="2",
                   RANK=str(r), LOCAL_RANK=str(r), F8TRAIN_DEVICE="cpu",
                   PYTHONPATH=os.path.join(repo, "trainer"))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "f8train", "fashion", "--quick", "--widths", "8", "8", "16",
             "--out", str(tmp_path / "d.f8"), "--report", str(tmp_path / "d.json")],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outs = [p.communicate(timeout=240)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert "wrote" in outs[0] and "FP32 training" not in outs[1]
    report = json.load(open(str(tmp_path / "d.json")))
    assert report["fake_quant_vs_integer_agreement_percent"] == 100.0
    assert fileformat.read(str(tmp_path / "d.f8")).meta_dict()["name"] == "fashion"


def test_quantize_and_export_from_checkpoint(tmp_path):
    """`quantize` turns the FP32 checkpoint copy into the calibration-only model; `export`
    writes a quantized-phase checkpoint exactly as the run itself did."""
    out, ck = str(tmp_path / "q.f8"), str(tmp_path / "q.ckpt")
    r = train.run(out, None, epochs_fp=1, epochs_q=1, quick=True, seed=0, data_root=FASHION_DIR,
                  created_by="pytest", log=lambda *a: None, widths=(8, 8, 16), checkpoint=ck)
    e = train.export_checkpoint(ck, str(tmp_path / "e.f8"), FASHION_DIR, "pytest",
                                calibrate_fls=False, log=lambda *a: None)
    a, b = fileformat.read(out), fileformat.read(str(tmp_path / "e.f8"))
    assert all(np.array_equal(x.weights, y.weights) for x, y in zip(a.ops, b.ops)
               if x.weights is not None)
    assert [v.fl for v in a.values] == [v.fl for v in b.values]
    assert round(e["accuracy_fp32"], 2) == r["accuracy_top1_percent"]["fp32"]
    c = train.export_checkpoint(ck + ".fp32", str(tmp_path / "c.f8"), FASHION_DIR, "pytest",
                                calibrate_fls=True, log=lambda *a: None)
    assert float(fileformat.read(str(tmp_path / "c.f8")).meta_dict()["accuracy.int"]) == \
        c["accuracy_int"]
    # one quick epoch leaves a weak FP32 model (~13%); calibration alone keeps about its level
    assert abs(c["accuracy_int"] - r["accuracy_top1_percent"]["fp32"]) < 5

"""The sample JPEGs the README's examples use: each is in samples/, made by
scripts/make-samples.py from the Fashion-MNIST test set (remaking them gives the same bytes),
and the shipped model's top-1 label for each is the class its name says."""

import os
import re
import subprocess
import sys
import tempfile

import pytest

import fmnist
from f8d_process import REPO

SAMPLES = os.path.join(REPO, "samples")
NAMES = {"ankle-boot.jpg": "Ankle boot", "trouser.jpg": "Trouser", "bag.jpg": "Bag"}


def test_samples_are_what_the_script_makes():
    assert sorted(os.listdir(SAMPLES)) == sorted(NAMES)
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, os.path.join(REPO, "scripts", "make-samples.py"),
                        "--data", fmnist.DATA_DIR, "--out", out], check=True,
                       stdout=subprocess.DEVNULL)
        for name in NAMES:
            with open(os.path.join(out, name), "rb") as a, \
                    open(os.path.join(SAMPLES, name), "rb") as b:
                assert a.read() == b.read(), name


@pytest.mark.parametrize("name", sorted(NAMES))
def test_sample_top1(daemon, name):
    with open(os.path.join(SAMPLES, name), "rb") as f:
        jpeg = f.read()
    assert jpeg[:2] == b"\xff\xd8" and len(jpeg) < 4096
    status, _, out = daemon.request("POST", "/predictions/fashion?top_k=2", body=jpeg,
                                    headers={"Content-Type": "image/jpeg"})
    assert status == 200, out
    assert out["predictions"][0]["label"] == NAMES[name]
    assert out["predictions"][0]["score"] > 0.8


def test_readme_examples_name_files_that_exist():
    text = open(os.path.join(REPO, "README.md")).read()
    used = set(re.findall(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.jpg)\b", text))
    assert used, "the README has no JPEG example"
    assert "shoe.jpg" not in used
    for path in used:
        assert os.path.exists(os.path.join(REPO, path)), path

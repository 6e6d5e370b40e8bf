"""The daemon and the `f8 classify` CLI ($F8_BIN) give the same answer for the same JPEG."""

import json
import os
import shutil
import subprocess
import tempfile

import pytest

import fmnist
from f8d_process import MODEL_PATH, REPO

F8_BIN = os.environ.get("F8_BIN", os.path.join(REPO, "build", "f8"))


@pytest.mark.skipif(not os.access(F8_BIN, os.X_OK), reason="f8 CLI not built")
def test_daemon_matches_cli(daemon, fashion_test_set):
    images, _ = fashion_test_set
    tmp = tempfile.mkdtemp()
    try:
        paths = []
        for i in range(0, 2000, 250):
            p = os.path.join(tmp, "%d.jpg" % i)
            with open(p, "wb") as f:
                f.write(fmnist.to_jpeg(images[i]))
            paths.append(p)
        out = subprocess.run([F8_BIN, "classify", MODEL_PATH] + paths + ["--top-k", "10"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        cli = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
        assert len(cli) == len(paths)
        for p, want in zip(paths, cli):
            with open(p, "rb") as f:
                status, _, got = daemon.request("POST", "/predictions/fashion?top_k=10",
                                                body=f.read())
            assert status == 200, got
            assert [x["index"] for x in got["predictions"]] == \
                [x["index"] for x in want["predictions"]]
            for a, b in zip(got["predictions"], want["predictions"]):
                assert a["label"] == b["label"]
                assert abs(a["score"] - b["score"]) <= 1e-6 + 1e-5 * b["score"]
    finally:
        shutil.rmtree(tmp)

"""clients/f8client.py against a real f8d, over HTTP and over gRPC: the same answers."""

import json
import os
import subprocess
import sys

import fmnist

CLIENT = os.path.join(os.path.dirname(__file__), "..", "..", "clients", "f8client.py")


def run_client(*args):
    return subprocess.run([sys.executable, CLIENT] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=60)


def test_http_and_grpc_give_the_same_answers(daemon, fashion_test_set, tmp_path):
    images, labels = fashion_test_set
    files = []
    for i in range(4):
        p = tmp_path / ("img%d.jpg" % i)
        p.write_bytes(fmnist.to_jpeg(images[i]))
        files.append(str(p))
    http = run_client("--url", "http://127.0.0.1:%d" % daemon.port, "--top-k", 3, *files)
    grpc = run_client("--grpc", "127.0.0.1:%d" % daemon.grpc_port, "--top-k", 3, *files)
    assert http.returncode == 0, http.stderr
    assert grpc.returncode == 0, grpc.stderr
    a = [json.loads(l) for l in http.stdout.splitlines()]
    b = [json.loads(l) for l in grpc.stdout.splitlines()]
    assert len(a) == len(b) == 4
    for x, y, label in zip(a, b, labels):
        assert x["file"] == y["file"] and x["model"] == y["model"] == "fashion"
        assert [p["index"] for p in x["predictions"]] == [p["index"] for p in y["predictions"]]
        assert [p["label"] for p in x["predictions"]] == [p["label"] for p in y["predictions"]]
        for p, q in zip(x["predictions"], y["predictions"]):
            assert abs(p["score"] - q["score"]) < 1e-5
    assert sum(x["predictions"][0]["index"] == l for x, l in zip(a, labels)) >= 3


def test_grpc_errors_are_reported(daemon, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    out = run_client("--grpc", "127.0.0.1:%d" % daemon.grpc_port, str(bad))
    assert out.returncode == 1
    assert "INVALID_ARGUMENT" in out.stderr and "JPEG" in out.stderr
    out = run_client("--grpc", "127.0.0.1:%d" % daemon.grpc_port, "--model", "nope", str(bad))
    assert out.returncode == 1 and "NOT_FOUND" in out.stderr

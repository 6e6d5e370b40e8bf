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


def test_client_module_both_protocols(daemon, fashion_test_set, tmp_path):
    """f8client.Client as a library: the same answers from a path and from bytes, over HTTP
    and gRPC; refusals raise F8Error with the status and f8d's message."""
    sys.path.insert(0, os.path.dirname(CLIENT))
    from f8client import Client, F8Error
    images, labels = fashion_test_set
    jpeg = fmnist.to_jpeg(images[0])
    path = tmp_path / "one.jpg"
    path.write_bytes(jpeg)
    with Client("http://127.0.0.1:%d" % daemon.port) as h, \
            Client(grpc="127.0.0.1:%d" % daemon.grpc_port) as g:
        assert h.ready() and g.ready()
        a, b = h.classify(str(path), top_k=2), g.classify(jpeg, top_k=2)
        assert a["model"] == b["model"] == "fashion"
        assert [p["index"] for p in a["predictions"]] == [p["index"] for p in b["predictions"]]
        assert a["predictions"][0]["index"] == labels[0]
        assert len(h.classify(jpeg)["predictions"]) == len(g.classify(jpeg)["predictions"]) == 5
        for client, status in ((h, 400), (g, "INVALID_ARGUMENT")):
            try:
                client.classify(b"junk")
                raise AssertionError("no error")
            except F8Error as e:
                assert e.status == status and "JPEG" in e.message


def test_example_script(daemon, fashion_test_set, tmp_path):
    images, labels = fashion_test_set
    for i in range(3):
        (tmp_path / ("%d.jpg" % i)).write_bytes(fmnist.to_jpeg(images[i]))
    script = os.path.join(os.path.dirname(CLIENT), "examples", "classify_folder.py")
    out = subprocess.run([sys.executable, script, str(tmp_path), "--grpc",
                          "127.0.0.1:%d" % daemon.grpc_port], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [l.split()[0] for l in lines] == ["0.jpg", "1.jpg", "2.jpg"]

"""f8-classify (clients/c/) against a real f8d: files, a directory and stdin, over HTTP and
gRPC, JSON and table output, and its exit codes."""

import json
import os
import subprocess

import pytest

import fmnist

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CLIENT = os.environ.get("F8_CLASSIFY_BIN", os.path.join(REPO, "build", "f8-classify"))


def run(*args, stdin=None):
    if not os.path.exists(CLIENT):
        pytest.fail("missing %s (make build/f8-classify)" % CLIENT)
    return subprocess.run([CLIENT] + [str(a) for a in args], input=stdin, capture_output=True,
                          timeout=60)


@pytest.fixture(scope="module")
def jpegs(fashion_test_set, tmp_path_factory):
    images, labels = fashion_test_set
    d = tmp_path_factory.mktemp("jpegs")
    for i in range(4):
        (d / ("%02d.jpg" % i)).write_bytes(fmnist.to_jpeg(images[i]))
    (d / "notes.txt").write_text("not an image: skipped")
    return d, labels[:4]


def test_http_and_grpc_agree(daemon, jpegs):
    d, labels = jpegs
    http = run("--url", "http://127.0.0.1:%d" % daemon.port, "--top-k", 3, d)
    grpc = run(d, "--grpc", "127.0.0.1:%d" % daemon.grpc_port, "--top-k", 3)
    assert http.returncode == 0 and grpc.returncode == 0, (http.stderr, grpc.stderr)
    a = [json.loads(l) for l in http.stdout.decode().splitlines()]
    b = [json.loads(l) for l in grpc.stdout.decode().splitlines()]
    assert [x["file"] for x in a] == [str(d / ("%02d.jpg" % i)) for i in range(4)]
    # same files, model, labels, indices; scores to 1e-5 (REST's /predictions JSON rounds them
    # to 6 significant digits, gRPC's strings to 6 decimals)
    for x, y in zip(a, b):
        assert (x["file"], x["model"]) == (y["file"], y["model"])
        assert [(p["label"], p["index"]) for p in x["predictions"]] == \
            [(p["label"], p["index"]) for p in y["predictions"]]
        assert all(abs(p["score"] - q["score"]) <= 1e-5
                   for p, q in zip(x["predictions"], y["predictions"]))
    assert all(len(x["predictions"]) == 3 for x in a)
    assert sum(x["predictions"][0]["index"] == l for x, l in zip(a, labels)) >= 3
    # the REST answer itself, for the first image
    status, _, answer = daemon.request("POST", "/predictions/fashion?top_k=3",
                                       body=(d / "00.jpg").read_bytes())
    assert status == 200
    assert [p["index"] for p in answer["predictions"]] == [p["index"] for p in a[0]["predictions"]]
    assert all(abs(p["score"] - q["score"]) <= 1e-5
               for p, q in zip(answer["predictions"], a[0]["predictions"]))


def test_stdin_and_table(daemon, jpegs):
    d, _ = jpegs
    out = run("--table", "--top-k", 2, "--url", "http://127.0.0.1:%d" % daemon.port, "-",
              stdin=(d / "01.jpg").read_bytes())
    assert out.returncode == 0, out.stderr
    rows = [l.split("\t") for l in out.stdout.decode().splitlines()]
    assert [r[0] for r in rows] == ["-", "-"] and [r[1] for r in rows] == ["1", "2"]
    assert float(rows[0][3]) >= float(rows[1][3])


def test_exit_codes(daemon, jpegs, tmp_path):
    d, _ = jpegs
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    for proto in (["--url", "http://127.0.0.1:%d" % daemon.port],
                  ["--grpc", "127.0.0.1:%d" % daemon.grpc_port]):
        out = run(*proto, d / "00.jpg", bad)
        assert out.returncode == 1  # one refused, the other printed
        assert len(out.stdout.decode().splitlines()) == 1
        assert b"JPEG" in out.stderr
        out = run(*proto, "--model", "nope", d / "00.jpg")
        assert out.returncode == 1 and b"nope" in out.stderr
    assert run("--bogus").returncode == 2
    assert run("--url", "ftp://x", bad).returncode == 2
    out = run("--url", "http://127.0.0.1:1", bad)
    assert out.returncode == 3 and b"cannot connect" in out.stderr

"""Compressed request bodies: `Content-Encoding: gzip` or `deflate` bodies are inflated (as
tritonclient's request_compression_algorithm="gzip"/"deflate" sends them: the whole body,
binary tensors included, compressed with Python's gzip or zlib module), within
max_body_bytes of decoded size (a gzip bomb is a 413); any other coding is a 415 that names
it. The daemon keeps serving after each refusal."""

import base64
import gzip
import json
import struct
import zlib

import pytest

import fmnist
from conftest import MAX_BODY

INFER = "/v2/models/fashion/infer"


def kserve_body(jpegs, k=3):
    return json.dumps({
        "id": "z",
        "inputs": [{"name": "image_bytes", "datatype": "BYTES", "shape": [len(jpegs)],
                    "data": [base64.b64encode(j).decode() for j in jpegs]}],
        "outputs": [{"name": "probabilities", "parameters": {"classification": k}}],
    }).encode()


@pytest.fixture(scope="module")
def jpegs(fashion_test_set):
    images, _ = fashion_test_set
    return [fmnist.to_jpeg(images[i]) for i in (0, 1, 2)]


@pytest.fixture(scope="module")
def plain_answer(daemon, jpegs):
    status, _, out = daemon.request("POST", INFER, body=kserve_body(jpegs),
                                    headers={"Content-Type": "application/json"})
    assert status == 200, out
    return out


def post(daemon, path, body, coding, content_type="application/json", extra=None):
    headers = {"Content-Type": content_type, "Content-Encoding": coding}
    headers.update(extra or {})
    return daemon.request("POST", path, body=body, headers=headers)


@pytest.mark.parametrize("coding,compress", [
    ("gzip", gzip.compress),
    ("x-gzip", gzip.compress),
    ("deflate", zlib.compress),                                    # the zlib format
    ("deflate", lambda b: zlib.compress(b)[2:-4]),                 # raw deflate, seen too
])
def test_kserve_json_compressed(daemon, jpegs, plain_answer, coding, compress):
    status, _, out = post(daemon, INFER, compress(kserve_body(jpegs)), coding)
    assert status == 200, out
    assert out == plain_answer
    assert len(out["outputs"][0]["data"]) == 9  # 3 images x top 3


def test_kserve_binary_tensors_gzip(daemon, jpegs, plain_answer):
    """tritonclient compresses the JSON header and the binary tensors together;
    Inference-Header-Content-Length counts the header before compression."""
    blob = b"".join(struct.pack("<I", len(j)) + j for j in jpegs)
    header = json.dumps({
        "id": "z",
        "inputs": [{"name": "image_bytes", "datatype": "BYTES", "shape": [len(jpegs)],
                    "parameters": {"binary_data_size": len(blob)}}],
        "outputs": [{"name": "probabilities", "parameters": {"classification": 3}}],
    }).encode()
    status, _, out = post(daemon, INFER, gzip.compress(header + blob), "gzip",
                          content_type="application/octet-stream",
                          extra={"Inference-Header-Content-Length": str(len(header))})
    assert status == 200, out
    assert out == plain_answer


def test_predictions_gzip_jpeg(daemon, jpegs):
    status, _, plain = daemon.request("POST", "/predictions/fashion?top_k=3", body=jpegs[1])
    assert status == 200, plain
    status, _, out = post(daemon, "/predictions/fashion?top_k=3", gzip.compress(jpegs[1]),
                          "gzip", content_type="image/jpeg")
    assert status == 200, out
    assert out == plain


@pytest.mark.parametrize("path", [INFER, "/predictions/fashion"])
def test_gzip_bomb_is_413(daemon, jpegs, plain_answer, path):
    # 64 MiB of zeros is ~64 KiB of gzip: under the body limit as sent, far over it decoded
    bomb = gzip.compress(bytes(64 << 20), compresslevel=9)
    assert len(bomb) < MAX_BODY
    conn = daemon.connection()
    status, hdrs, out = daemon.request("POST", path, body=bomb, conn=conn,
                                       headers={"Content-Encoding": "gzip"})
    assert status == 413, out
    assert hdrs["content-type"] == "application/json"
    assert "decodes to more than the limit of %d bytes" % MAX_BODY in out["error"]
    # a body that decodes to exactly the limit is not refused for its size (400: not JSON)
    status, _, out = daemon.request("POST", path, body=gzip.compress(b" " * MAX_BODY),
                                    conn=conn, headers={"Content-Encoding": "gzip"})
    assert status == 400, out
    # and the same connection still serves
    status, _, out = post(daemon, INFER, gzip.compress(kserve_body(jpegs)), "gzip")
    assert status == 200 and out == plain_answer
    conn.close()


@pytest.mark.parametrize("coding", ["br", "zstd", "compress", "gzip, br", "gzip, gzip"])
def test_unknown_coding_is_415(daemon, jpegs, plain_answer, coding):
    body = kserve_body(jpegs)
    status, hdrs, out = post(daemon, INFER, body, coding)
    assert status == 415, out
    assert hdrs["content-type"] == "application/json"
    named = coding.split(", ")[-1]
    assert "'%s'" % named in out["error"] or "only one coding" in out["error"]
    assert "Content-Encoding" in out["error"]
    status, _, out = post(daemon, "/predictions/fashion", jpegs[0], coding,
                          content_type="image/jpeg")
    assert status == 415 and "Content-Encoding" in out["error"]
    status, _, out = post(daemon, INFER, gzip.compress(body), "gzip")
    assert status == 200 and out == plain_answer


def test_corrupt_gzip_is_400(daemon, jpegs, plain_answer):
    packed = gzip.compress(kserve_body(jpegs))
    for bad, why in ((packed[:len(packed) // 2], "ends early"),
                     (kserve_body(jpegs), "not valid gzip"),
                     (packed + b"trailing", "not valid gzip")):
        status, _, out = post(daemon, INFER, bad, "gzip")
        assert status == 400, out
        assert why in out["error"]
    status, _, out = post(daemon, INFER, packed, "identity, gzip")
    assert status == 200 and out == plain_answer

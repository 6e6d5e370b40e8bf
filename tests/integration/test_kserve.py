"""KServe v2 / Open Inference Protocol: POST /v2/models/{m}/infer with JPEGs as base64 BYTES,
raw UINT8 pixels, the binary tensor extension, the classification extension, several images
per request; every malformed request is a 4xx with a JSON error."""

import base64
import json
import struct

import numpy as np
import pytest

import fmnist

INFER = "/v2/models/fashion/infer"


def b64(data):
    return base64.b64encode(data).decode()


def infer(daemon, body, headers=None, path=INFER):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return daemon.request("POST", path, body=data, headers=h)


def bytes_input(jpegs, shape=None):
    return {"name": "image_bytes", "datatype": "BYTES",
            "shape": shape or [len(jpegs)], "data": [b64(j) for j in jpegs]}


@pytest.fixture(scope="module")
def reference(daemon, fashion_test_set):
    """Eight test images as JPEG, and each one's /predictions answer (all 10 classes)."""
    images, truth = fashion_test_set
    picks = [0, 1, 2, 3, 100, 200, 300, 400]
    jpegs = [fmnist.to_jpeg(images[i]) for i in picks]
    answers = []
    for j in jpegs:
        status, _, a = daemon.request("POST", "/predictions/fashion?top_k=10", body=j)
        assert status == 200
        answers.append(a["predictions"])
    return jpegs, answers, [int(truth[i]) for i in picks]


def test_infer_one_jpeg_all_outputs(daemon, reference):
    jpegs, answers, _ = reference
    status, hdrs, out = infer(daemon, {"id": "req-1", "inputs": [bytes_input(jpegs[:1])]})
    assert status == 200, out
    assert hdrs["content-type"] == "application/json"
    assert out["model_name"] == "fashion" and out["model_version"] == "1"
    assert out["id"] == "req-1"
    byname = {o["name"]: o for o in out["outputs"]}
    assert set(byname) == {"logits", "probabilities"}
    logits, probs = byname["logits"], byname["probabilities"]
    assert logits["datatype"] == "INT32" and logits["shape"] == [1, 10]
    assert probs["datatype"] == "FP32" and probs["shape"] == [1, 10]
    assert abs(sum(probs["data"]) - 1.0) < 1e-4
    # the same ranking and scores as /predictions for the same JPEG
    best = sorted(range(10), key=lambda i: (-logits["data"][i], i))
    assert best == [p["index"] for p in answers[0]]
    for p in answers[0]:
        assert abs(probs["data"][p["index"]] - p["score"]) < 1e-5
    # logits are the engine's s32 values; softmax(logit * 2^-fl) gives the probabilities
    fl = logits["parameters"]["fractional_length"]
    z = np.array(logits["data"], dtype=np.float64) / 2.0 ** fl
    e = np.exp(z - z.max())
    assert np.allclose(e / e.sum(), probs["data"], atol=1e-6)


def test_infer_several_images_in_one_request(daemon, reference, labels):
    jpegs, answers, truth = reference
    status, _, out = infer(daemon, {
        "inputs": [bytes_input(jpegs)],
        "outputs": [{"name": "probabilities", "parameters": {"classification": 3}}]})
    assert status == 200, out
    [o] = out["outputs"]
    assert o["datatype"] == "BYTES" and o["shape"] == [len(jpegs), 3]
    rows = [o["data"][i * 3:(i + 1) * 3] for i in range(len(jpegs))]
    for row, want in zip(rows, answers):
        for s, p in zip(row, want[:3]):
            score, index, label = s.split(":", 2)
            assert int(index) == p["index"]
            assert label == labels[p["index"]] == p["label"]
            assert abs(float(score) - p["score"]) < 1e-5
    assert sum(int(r[0].split(":")[1]) == t for r, t in zip(rows, truth)) >= 6


def test_classification_at_request_level_and_on_logits(daemon, reference):
    jpegs, answers, _ = reference
    status, _, out = infer(daemon, {"parameters": {"classification": 2},
                                    "inputs": [bytes_input(jpegs[:2], shape=[2, 1])]})
    assert status == 200, out
    [o] = out["outputs"]
    assert o["shape"] == [2, 2]
    assert [int(s.split(":")[1]) for s in o["data"]] == \
        [answers[0][0]["index"], answers[0][1]["index"],
         answers[1][0]["index"], answers[1][1]["index"]]
    status, _, out = infer(daemon, {
        "inputs": [bytes_input(jpegs[:1])],
        "outputs": [{"name": "logits", "parameters": {"classification": 1}}]})
    assert status == 200
    [o] = out["outputs"]
    assert o["name"] == "logits" and o["datatype"] == "BYTES"
    assert int(o["data"][0].split(":")[1]) == answers[0][0]["index"]


def test_uint8_pixels(daemon, fashion_test_set, reference):
    """Raw pixels skip JPEG: the logits equal f8 on the same pixels (decoded JPEG here)."""
    images, _ = fashion_test_set
    px = [images[0].tolist(), images[1].tolist()]
    status, _, out = infer(daemon, {"inputs": [{"name": "image", "datatype": "UINT8",
                                                "shape": [2, 28, 28, 1],
                                                "data": np.array(px).reshape(-1).tolist()}],
                                    "outputs": [{"name": "logits"}]})
    assert status == 200, out
    [o] = out["outputs"]
    assert o["shape"] == [2, 10]
    # nested lists are accepted too, [H,W,C] meaning one image
    status, _, one = infer(daemon, {"inputs": [{"name": "image", "datatype": "UINT8",
                                                "shape": [28, 28, 1],
                                                "data": np.array(px[0]).reshape(28, 28, 1).tolist()}],
                                    "outputs": [{"name": "logits"}]})
    assert status == 200, one
    assert one["outputs"][0]["data"] == o["data"][:10]


def test_binary_tensor_extension(daemon, reference):
    jpegs, answers, _ = reference
    blob = b"".join(struct.pack("<I", len(j)) + j for j in jpegs[:3])
    header = json.dumps({"inputs": [{"name": "image_bytes", "datatype": "BYTES", "shape": [3],
                                     "parameters": {"binary_data_size": len(blob)}}],
                         "outputs": [{"name": "probabilities",
                                      "parameters": {"classification": 1}}]}).encode()
    status, _, out = infer(daemon, header + blob,
                           headers={"Inference-Header-Content-Length": str(len(header)),
                                    "Content-Type": "application/octet-stream"})
    assert status == 200, out
    assert [int(s.split(":")[1]) for s in out["outputs"][0]["data"]] == \
        [a[0]["index"] for a in answers[:3]]


def test_binary_outputs(daemon, reference):
    """binary_data on an output (tritonclient's default): JSON header, then little-endian
    INT32 / FP32 bytes and length-prefixed BYTES, the same values as the JSON answer."""
    jpegs, _, _ = reference
    inputs = [bytes_input(jpegs[:2])]
    status, _, plain = infer(daemon, {"inputs": inputs,
                                      "outputs": [{"name": "logits"}, {"name": "probabilities"},
                                                  {"name": "probabilities",
                                                   "parameters": {"classification": 2}}]})
    assert status == 200
    c = daemon.connection()
    c.request("POST", INFER, body=json.dumps({
        "inputs": inputs,
        "outputs": [{"name": "logits", "parameters": {"binary_data": True}},
                    {"name": "probabilities", "parameters": {"binary_data": True}},
                    {"name": "probabilities",
                     "parameters": {"classification": 2, "binary_data": True}}]}))
    r = c.getresponse()
    data = r.read()
    c.close()
    assert r.status == 200
    assert r.getheader("content-type") == "application/octet-stream"
    hlen = int(r.getheader("inference-header-content-length"))
    head = json.loads(data[:hlen])
    blob = data[hlen:]
    off = 0
    for got, want in zip(head["outputs"], plain["outputs"]):
        assert "data" not in got
        n = got["parameters"]["binary_data_size"]
        chunk = blob[off:off + n]
        off += n
        if got["datatype"] == "INT32":
            assert list(np.frombuffer(chunk, "<i4")) == want["data"]
        elif got["datatype"] == "FP32":
            assert np.allclose(np.frombuffer(chunk, "<f4"), want["data"], atol=1e-6)
        else:
            strings, k = [], 0
            while k < len(chunk):
                (ln,) = struct.unpack_from("<I", chunk, k)
                strings.append(chunk[k + 4:k + 4 + ln].decode())
                k += 4 + ln
            assert strings == want["data"]
    assert off == len(blob)
    status, _, out = infer(daemon, {"inputs": inputs,
                                    "outputs": [{"name": "logits",
                                                 "parameters": {"binary_data": "yes"}}]})
    assert status == 400 and "binary_data" in out["error"]


def test_version_paths(daemon, reference):
    jpegs, _, _ = reference
    status, _, out = infer(daemon, {"inputs": [bytes_input(jpegs[:1])]},
                           path="/v2/models/fashion/versions/1/infer")
    assert status == 200, out
    status, _, meta = daemon.request("GET", "/v2/models/fashion/versions/1")
    assert status == 200 and meta["name"] == "fashion"
    status, hdrs, err = infer(daemon, {"inputs": [bytes_input(jpegs[:1])]},
                              path="/v2/models/fashion/versions/2/infer")
    assert status == 404 and "version" in err["error"]


BAD_REQUESTS = [
    (b"{not json", "malformed JSON"),
    (b"[]", "JSON object"),
    ({"inputs": []}, "inputs"),
    ({"inputs": [{"name": "x", "datatype": "BYTES", "shape": [1], "data": ["%%%"]}]}, "base64"),
    ({"inputs": [{"name": "x", "datatype": "BYTES", "shape": [2], "data": ["AAAA"]}]}, "2"),
    ({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1.0]}]}, "datatype"),
    ({"inputs": [{"name": "x", "datatype": "UINT8", "shape": [1, 27, 28, 1],
                  "data": [0] * 756}]}, "[N,28,28,1]"),
    ({"inputs": [{"name": "x", "datatype": "UINT8", "shape": [1, 28, 28, 1],
                  "data": [300] * 784}]}, "0 to 255"),
    ({"inputs": [{"name": "x", "datatype": "BYTES", "shape": [1]}]}, "data"),
    ({"inputs": [{"name": "x", "datatype": "BYTES", "shape": "1", "data": ["AAAA"]}]}, "shape"),
    ({"inputs": [{"name": "x", "datatype": "BYTES", "shape": [0], "data": []}]}, "1 to"),
    ({"id": 5, "inputs": []}, "id"),
    ({"inputs": [{"name": "x", "datatype": "BYTES", "shape": [1], "data": ["AAAA"]}],
      "outputs": [{"name": "nope"}]}, "unknown output"),
    ({"inputs": [{"name": "x", "datatype": "BYTES", "shape": [1], "data": ["AAAA"]}],
      "outputs": [{"name": "logits", "parameters": {"classification": 11}}]}, "classification"),
]


@pytest.mark.parametrize("body,words", BAD_REQUESTS)
def test_malformed_requests_are_400(daemon, body, words):
    status, hdrs, out = infer(daemon, body)
    assert status == 400, out
    assert hdrs["content-type"] == "application/json"
    assert words in out["error"], out


def test_undecodable_image_is_400(daemon, reference):
    status, _, out = infer(daemon, {"inputs": [bytes_input([b"not a jpeg at all"])]})
    assert status == 400 and "JPEG" in out["error"]
    jpegs, _, _ = reference
    status, _, out = infer(daemon, {"inputs": [bytes_input([jpegs[0], jpegs[1][:200], jpegs[2]])]})
    assert status == 400 and out["error"].startswith("image 1 of 3: "), out


def test_infer_errors_404_405_413(daemon, reference):
    jpegs, _, _ = reference
    status, _, out = infer(daemon, {"inputs": [bytes_input(jpegs[:1])]},
                           path="/v2/models/nosuch/infer")
    assert status == 404 and "nosuch" in out["error"]
    status, hdrs, out = daemon.request("GET", INFER)
    assert status == 405 and hdrs["allow"] == "POST"
    from conftest import MAX_BODY
    status, _, out = infer(daemon, b"{" + b" " * MAX_BODY + b"}")
    assert status == 413
    status, _, out = infer(daemon, b"")
    assert status == 400


def test_server_metadata_lists_extensions(daemon):
    status, _, meta = daemon.request("GET", "/v2")
    assert status == 200
    assert {"classification", "binary_tensor_data", "model_repository"} <= set(meta["extensions"])

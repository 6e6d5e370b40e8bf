"""gRPC: the KServe v2 GRPCInferenceService and grpc.health.v1 against a real f8d, with
Debian's python3-grpcio and stubs generated from the repo's proto/ at test time."""

import base64
import json
import struct

import grpc
import numpy as np
import pytest

from grpc_stubs import health, health_grpc, pb, pb_grpc
from conftest import MAX_BODY
import fmnist

Tensor = pb.ModelInferRequest.InferInputTensor
Output = pb.ModelInferRequest.InferRequestedOutputTensor


@pytest.fixture(scope="module")
def channel(daemon):
    with grpc.insecure_channel("127.0.0.1:%d" % daemon.grpc_port) as ch:
        yield ch


@pytest.fixture(scope="module")
def stub(channel):
    return pb_grpc.GRPCInferenceServiceStub(channel)


@pytest.fixture(scope="module")
def jpegs(fashion_test_set):
    images, labels = fashion_test_set
    return [fmnist.to_jpeg(images[i]) for i in range(200)], labels[:200]


def raw_bytes(items):
    """A BYTES tensor's raw_input_contents: u32 little-endian length + bytes, per element."""
    return b"".join(struct.pack("<I", len(x)) + x for x in items)


def split_bytes(raw):
    out, off = [], 0
    while off < len(raw):
        (n,) = struct.unpack_from("<I", raw, off)
        out.append(raw[off + 4:off + 4 + n].decode())
        off += 4 + n
    return out


def jpeg_request(items, classification=None, outputs=None, **kw):
    req = pb.ModelInferRequest(model_name="fashion",
                               inputs=[Tensor(name="image_bytes", datatype="BYTES",
                                              shape=[len(items)])],
                               raw_input_contents=[raw_bytes(items)], **kw)
    if classification:
        req.parameters["classification"].int64_param = classification
    for name in outputs or []:
        req.outputs.add(name=name)
    return req


def code_of(call, *args, **kw):
    with pytest.raises(grpc.RpcError) as e:
        call(*args, **kw)
    return e.value.code(), e.value.details()


def test_server_rpcs(daemon, stub):
    assert stub.ServerLive(pb.ServerLiveRequest()).live
    assert stub.ServerReady(pb.ServerReadyRequest()).ready
    meta = stub.ServerMetadata(pb.ServerMetadataRequest())
    assert meta.name == "f8d" and "classification" in meta.extensions
    assert stub.ModelReady(pb.ModelReadyRequest(name="fashion")).ready
    assert stub.ModelReady(pb.ModelReadyRequest(name="fashion", version="1")).ready
    m = stub.ModelMetadata(pb.ModelMetadataRequest(name="fashion"))
    _, _, rest = daemon.request("GET", "/v2/models/fashion")
    assert (m.name, list(m.versions), m.platform) == ("fashion", ["1"], "f8")
    assert [(t.name, t.datatype, list(t.shape)) for t in m.inputs] == \
        [(t["name"], t["datatype"], t["shape"]) for t in rest["inputs"]]
    assert [(t.name, t.datatype, list(t.shape)) for t in m.outputs] == \
        [(t["name"], t["datatype"], t["shape"]) for t in rest["outputs"]]
    code, details = code_of(stub.ModelReady, pb.ModelReadyRequest(name="nope"))
    assert code == grpc.StatusCode.NOT_FOUND and "nope" in details
    code, details = code_of(stub.ModelMetadata, pb.ModelMetadataRequest(name="fashion",
                                                                         version="2"))
    assert code == grpc.StatusCode.NOT_FOUND and "version" in details


def test_health_check(channel):
    h = health_grpc.HealthStub(channel)
    serving = health.HealthCheckResponse.SERVING
    assert h.Check(health.HealthCheckRequest()).status == serving
    assert h.Check(health.HealthCheckRequest(service="inference.GRPCInferenceService")).status \
        == serving
    code, details = code_of(h.Check, health.HealthCheckRequest(service="other.Service"))
    assert code == grpc.StatusCode.NOT_FOUND and "other.Service" in details


def test_unknown_method_is_unimplemented(channel):
    call = channel.unary_unary("/inference.GRPCInferenceService/RepositoryIndex")
    code, details = code_of(call, b"", timeout=10)
    assert code == grpc.StatusCode.UNIMPLEMENTED and "RepositoryIndex" in details


def test_same_labels_and_scores_as_rest(daemon, stub, jpegs):
    """200 JPEGs, 8 per request, classification 3: the same strings on both protocols."""
    items, labels = jpegs
    grpc_out, rest_out = [], []
    for i in range(0, len(items), 8):
        chunk = items[i:i + 8]
        r = stub.ModelInfer(jpeg_request(chunk, classification=3, id="c%d" % i))
        assert r.id == "c%d" % i and r.model_name == "fashion" and r.model_version == "1"
        assert [(o.name, o.datatype, list(o.shape)) for o in r.outputs] == \
            [("probabilities", "BYTES", [len(chunk), 3])]
        grpc_out += split_bytes(r.raw_output_contents[0])
        body = {"parameters": {"classification": 3},
                "inputs": [{"name": "image_bytes", "datatype": "BYTES", "shape": [len(chunk)],
                            "data": [base64.b64encode(j).decode() for j in chunk]}]}
        status, _, answer = daemon.request("POST", "/v2/models/fashion/infer",
                                           body=json.dumps(body))
        assert status == 200, answer
        rest_out += answer["outputs"][0]["data"]
    assert len(grpc_out) == 600
    assert grpc_out == rest_out
    top1 = [int(s.split(":")[1]) for s in grpc_out[::3]]
    assert np.mean(np.array(top1) == np.array(labels)) > 0.85


def test_input_forms_agree(stub, fashion_test_set):
    """BYTES raw and bytes_contents, UINT8 raw and uint_contents: the same logits."""
    images, _ = fashion_test_set
    jpeg = [fmnist.to_jpeg(images[i]) for i in range(3)]
    by_raw = stub.ModelInfer(jpeg_request(jpeg, outputs=["logits"]))
    by_list = stub.ModelInfer(pb.ModelInferRequest(
        model_name="fashion", outputs=[Output(name="logits")],
        inputs=[Tensor(name="image_bytes", datatype="BYTES", shape=[3, 1],
                       contents=pb.InferTensorContents(bytes_contents=jpeg))]))
    assert by_raw.raw_output_contents[0] == by_list.raw_output_contents[0]
    assert by_raw.outputs[0].parameters["fractional_length"].int64_param > 0
    pixels = np.stack([images[i] for i in range(3)]).astype(np.uint8).reshape(3, 28, 28, 1)
    px_raw = stub.ModelInfer(pb.ModelInferRequest(
        model_name="fashion", inputs=[Tensor(name="image", datatype="UINT8",
                                             shape=[3, 28, 28, 1])],
        raw_input_contents=[pixels.tobytes()]))
    px_list = stub.ModelInfer(pb.ModelInferRequest(
        model_name="fashion", inputs=[Tensor(
            name="image", datatype="UINT8", shape=[3, 28, 28, 1],
            contents=pb.InferTensorContents(uint_contents=pixels.reshape(-1).tolist()))]))
    assert [o.name for o in px_raw.outputs] == ["logits", "probabilities"]
    assert px_raw.raw_output_contents == px_list.raw_output_contents
    logits = np.frombuffer(px_raw.raw_output_contents[0], "<i4").reshape(3, 10)
    probs = np.frombuffer(px_raw.raw_output_contents[1], "<f4").reshape(3, 10)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    assert (probs.argmax(axis=1) == logits.argmax(axis=1)).all()


def test_large_pixel_lists_are_parsed_off_the_loop(stub, fashion_test_set):
    """Past 65536 uint_contents values the parse runs on the pool: same answer as raw bytes,
    and a wrong count is still a clear INVALID_ARGUMENT."""
    images, _ = fashion_test_set
    n = 90  # 90 * 784 = 70560 values
    pixels = np.stack(images[:n]).astype(np.uint8).reshape(n, 28, 28, 1)
    tensor = dict(name="image", datatype="UINT8", shape=[n, 28, 28, 1])
    by_raw = stub.ModelInfer(pb.ModelInferRequest(
        model_name="fashion", inputs=[Tensor(**tensor)], raw_input_contents=[pixels.tobytes()]))
    values = pixels.reshape(-1).tolist()
    by_list = stub.ModelInfer(pb.ModelInferRequest(model_name="fashion", inputs=[Tensor(
        **tensor, contents=pb.InferTensorContents(uint_contents=values))]))
    assert by_raw.raw_output_contents == by_list.raw_output_contents
    assert np.frombuffer(by_list.raw_output_contents[0], "<i4").shape == (n * 10,)
    with pytest.raises(grpc.RpcError) as e:
        stub.ModelInfer(pb.ModelInferRequest(model_name="fashion", inputs=[Tensor(
            **tensor, contents=pb.InferTensorContents(uint_contents=values[:-1]))]))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_invalid_requests(stub, channel, fashion_test_set):
    images, _ = fashion_test_set
    jpeg = fmnist.to_jpeg(images[0])
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    cases = [
        (jpeg_request([b"not a jpeg"]), "JPEG"),
        (pb.ModelInferRequest(model_name="fashion"), "exactly one input"),
        (pb.ModelInferRequest(model_name="fashion", inputs=[
            Tensor(name="image", datatype="FP32", shape=[1, 28, 28, 1])]), "datatype"),
        (pb.ModelInferRequest(model_name="fashion", inputs=[
            Tensor(name="image", datatype="UINT8", shape=[1, 27, 28, 1])],
            raw_input_contents=[bytes(27 * 28)]), "[N,28,28,1]"),
        (pb.ModelInferRequest(model_name="fashion", inputs=[
            Tensor(name="image", datatype="UINT8", shape=[2, 28, 28, 1])],
            raw_input_contents=[bytes(28 * 28)]), "1568 bytes"),
        (pb.ModelInferRequest(model_name="fashion", inputs=[
            Tensor(name="image_bytes", datatype="BYTES", shape=[2])],
            raw_input_contents=[raw_bytes([jpeg])]), "image 1"),
        (jpeg_request([jpeg], outputs=["scores"]), "unknown output"),
        (jpeg_request([jpeg], classification=11), "classification"),
    ]
    for req, words in cases:
        code, details = code_of(stub.ModelInfer, req)
        assert code == invalid and words in details, (code, details)
    garbage = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer")
    code, details = code_of(garbage, b"\xff\xff\xff\xff\x0f", timeout=10)
    assert code == invalid and "ModelInferRequest" in details
    code, details = code_of(stub.ModelInfer, pb.ModelInferRequest(model_name="nope"))
    assert code == grpc.StatusCode.NOT_FOUND
    big = jpeg_request([b"\xff\xd8\xff" + bytes(MAX_BODY + 1000)])
    code, details = code_of(stub.ModelInfer, big)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, details
    # the server still serves
    assert stub.ModelInfer(jpeg_request([jpeg])).outputs


def test_metrics_by_protocol(daemon, stub, fashion_test_set):
    from test_abuse_cancel import metric
    images, _ = fashion_test_set
    ok0 = metric(daemon, "f8d_requests_total", model="fashion", protocol="grpc", code="OK")
    bad0 = metric(daemon, "f8d_requests_total", model="fashion", protocol="grpc",
                  code="INVALID_ARGUMENT")
    stub.ModelInfer(jpeg_request([fmnist.to_jpeg(images[0])]))
    code_of(stub.ModelInfer, jpeg_request([b"junk"]))
    assert metric(daemon, "f8d_requests_total", model="fashion", protocol="grpc",
                  code="OK") == ok0 + 1
    assert metric(daemon, "f8d_requests_total", model="fashion", protocol="grpc",
                  code="INVALID_ARGUMENT") == bad0 + 1

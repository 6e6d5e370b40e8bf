"""Writes fuzz/corpus/grpc_infer/: serialized inference.ModelInferRequest messages covering
each input form, parameters and outputs (run from the repo root with /usr/bin/python3; the
stubs come from proto/ as in the integration tests)."""

import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from grpc_stubs import pb  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "corpus", "grpc_infer")
T = pb.ModelInferRequest.InferInputTensor
JPEG = b"\xff\xd8\xff\xe0" + bytes(40) + b"\xff\xd9"


def seed(name, req):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(req.SerializeToString())


def main():
    os.makedirs(OUT, exist_ok=True)
    raw = b"".join(struct.pack("<I", len(JPEG)) + JPEG for _ in range(2))
    r = pb.ModelInferRequest(model_name="fashion", id="a",
                             inputs=[T(name="image_bytes", datatype="BYTES", shape=[2])],
                             raw_input_contents=[raw])
    r.parameters["classification"].int64_param = 3
    r.parameters["timeout"].int64_param = 100000
    seed("bytes_raw.pb", r)
    r = pb.ModelInferRequest(model_name="fashion", inputs=[
        T(name="image_bytes", datatype="BYTES", shape=[1, 1],
          contents=pb.InferTensorContents(bytes_contents=[JPEG]))])
    o = r.outputs.add(name="logits")
    o.parameters["classification"].int64_param = 2
    r.outputs.add(name="probabilities")
    seed("bytes_contents.pb", r)
    seed("uint8_raw.pb", pb.ModelInferRequest(model_name="fashion", inputs=[
        T(name="image", datatype="UINT8", shape=[1, 28, 28, 1])],
        raw_input_contents=[bytes(range(256)) * 3 + bytes(16)]))
    seed("uint8_contents.pb", pb.ModelInferRequest(model_name="tiny", inputs=[
        T(name="image", datatype="UINT8", shape=[2, 2, 3],
          contents=pb.InferTensorContents(uint_contents=list(range(12))))]))
    seed("bad_datatype.pb", pb.ModelInferRequest(model_name="fashion", inputs=[
        T(name="x", datatype="FP32", shape=[1, 2, 2, 3],
          contents=pb.InferTensorContents(fp32_contents=[1.0] * 12))]))


if __name__ == "__main__":
    main()

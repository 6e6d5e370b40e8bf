"""The Python gRPC stubs of the repo's proto/*.proto, generated at test time with
python3-grpc-tools (grpc_tools.protoc) into a temp dir and imported from there.

    from grpc_stubs import pb, pb_grpc, health, health_grpc
"""

import atexit
import importlib
import os
import shutil
import sys
import tempfile

from grpc_tools import protoc

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PROTO_DIR = os.path.join(REPO, "proto")


def _generate():
    out = tempfile.mkdtemp(prefix="f8d-grpc-stubs-")
    atexit.register(shutil.rmtree, out, True)
    protos = sorted(f for f in os.listdir(PROTO_DIR) if f.endswith(".proto"))
    rc = protoc.main(["grpc_tools.protoc", "-I" + PROTO_DIR, "--python_out=" + out,
                      "--grpc_python_out=" + out] + protos)
    if rc != 0:
        raise RuntimeError("grpc_tools.protoc failed on %s" % protos)
    sys.path.insert(0, out)
    return out


_generate()
pb = importlib.import_module("grpc_predict_v2_pb2")
pb_grpc = importlib.import_module("grpc_predict_v2_pb2_grpc")
health = importlib.import_module("health_pb2")
health_grpc = importlib.import_module("health_pb2_grpc")

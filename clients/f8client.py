#!/usr/bin/env python3
"""Classify images with a running f8d: over HTTP with the Python standard library only, or
over gRPC (--grpc) with python3-grpcio, its stubs generated from the repo's proto/ at start
(python3-grpc-tools).

    clients/f8client.py samples/ankle-boot.jpg samples/bag.jpg
    clients/f8client.py --url http://127.0.0.1:8080 --model fashion --top-k 3 samples/ankle-boot.jpg
    clients/f8client.py --grpc 127.0.0.1:8081 --top-k 3 samples/ankle-boot.jpg samples/bag.jpg

Prints one JSON line per image: {"model", "predictions": [{"label", "index", "score"}],
"file"} (the same on both protocols). Exits 1 if any request failed (the daemon's error
message is printed on stderr).
"""
import argparse
import atexit
import http.client
import importlib
import json
import os
import shutil
import struct
import sys
import tempfile
import urllib.parse

# proto/ beside clients/ in a checkout; share/f8serve/proto once installed
PROTO_DIRS = [os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "proto"),
              os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "share",
                           "f8serve", "proto")]


def load_grpc_stubs(proto_dir=None):
    """Generates the Python modules of proto/*.proto into a temp dir (removed at exit) and
    imports them: returns (grpc_predict_v2_pb2, its _grpc, health_pb2, its _grpc)."""
    from grpc_tools import protoc
    proto_dir = proto_dir or next((d for d in PROTO_DIRS if os.path.isdir(d)), None)
    if proto_dir is None:
        raise RuntimeError("no proto/ directory found next to %s" % __file__)
    out = tempfile.mkdtemp(prefix="f8-grpc-stubs-")
    atexit.register(shutil.rmtree, out, True)
    protos = sorted(f for f in os.listdir(proto_dir) if f.endswith(".proto"))
    if protoc.main(["grpc_tools.protoc", "-I" + proto_dir, "--python_out=" + out,
                    "--grpc_python_out=" + out] + protos) != 0:
        raise RuntimeError("grpc_tools.protoc failed on %s" % protos)
    sys.path.insert(0, out)
    return tuple(importlib.import_module(m) for m in (
        "grpc_predict_v2_pb2", "grpc_predict_v2_pb2_grpc", "health_pb2", "health_pb2_grpc"))


class F8Error(Exception):
    """A request f8d refused or could not answer: `status` is the HTTP status (int) or the gRPC
    status name ("INVALID_ARGUMENT"), the message says what was wrong."""

    def __init__(self, status, message):
        super().__init__("%s: %s" % (status, message))
        self.status = status
        self.message = message


class Client:
    """A client of one f8d, over HTTP (standard library only) or gRPC (python3-grpcio).

        from f8client import Client
        with Client("http://127.0.0.1:8080") as c:            # or Client(grpc="127.0.0.1:8081")
            answer = c.classify("samples/ankle-boot.jpg", top_k=3)
            print(answer["predictions"][0]["label"])          # "Ankle boot"

    classify() takes a path or the JPEG's bytes and returns {"model", "predictions": [{"label",
    "index", "score"}]}, best first, the same on both protocols; it raises F8Error when f8d
    refuses the image, OSError (HTTP) or grpc.RpcError subclasses are not caught for transport
    failures. One Client keeps one connection; it is not thread-safe.
    """

    def __init__(self, url="http://127.0.0.1:8080", grpc=None, model="fashion", timeout=30.0):
        self.model, self.timeout = model, timeout
        self._conn = self._channel = self._stub = None
        if grpc is not None:
            import grpc as grpc_lib
            self._grpc = grpc_lib
            self._pb, pb_grpc, self._health, health_grpc = load_grpc_stubs()
            self._channel = grpc_lib.insecure_channel(grpc)
            self._stub = pb_grpc.GRPCInferenceServiceStub(self._channel)
            self._health_stub = health_grpc.HealthStub(self._channel)
        else:
            u = urllib.parse.urlsplit(url)
            if u.scheme != "http" or not u.hostname:
                raise ValueError("url must look like http://HOST:PORT, not %r" % url)
            self._conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self._conn is not None:
            self._conn.close()
        if self._channel is not None:
            self._channel.close()

    def classify(self, image, top_k=None, model=None):
        data = image if isinstance(image, (bytes, bytearray)) else open(image, "rb").read()
        model = model or self.model
        if self._stub is not None:
            return self._classify_grpc(bytes(data), model, top_k)
        status, answer = self._post(model, data, top_k)
        if status != 200:
            raise F8Error(status, answer.get("error", answer))
        return answer

    def ready(self):
        """Whether f8d is ready (models loaded, not shutting down)."""
        if self._stub is not None:
            r = self._health_stub.Check(self._health.HealthCheckRequest(), timeout=self.timeout)
            return r.status == self._health.HealthCheckResponse.SERVING
        self._conn.request("GET", "/v2/health/ready")
        resp = self._conn.getresponse()
        resp.read()
        return resp.status == 200

    def _post(self, model, data, top_k):
        path = "/predictions/" + urllib.parse.quote(model, safe="")
        if top_k is not None:
            path += "?top_k=%d" % top_k
        try:
            self._conn.request("POST", path, body=data, headers={"Content-Type": "image/jpeg"})
            resp = self._conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException):
            self._conn.close()  # the next request reconnects
            raise
        try:
            return resp.status, json.loads(body)
        except ValueError:
            return resp.status, {"error": body.decode("utf-8", "replace")}

    def _classify_grpc(self, data, model, top_k):
        """ModelInfer with Triton's classification extension, answered as /predictions is."""
        pb = self._pb
        req = pb.ModelInferRequest(model_name=model, raw_input_contents=[
            struct.pack("<I", len(data)) + data])
        req.inputs.add(name="image_bytes", datatype="BYTES", shape=[1])
        req.parameters["classification"].int64_param = top_k or 5
        try:
            resp = self._stub.ModelInfer(req, timeout=self.timeout)
        except self._grpc.RpcError as e:
            if e.code() in (self._grpc.StatusCode.UNAVAILABLE,
                            self._grpc.StatusCode.DEADLINE_EXCEEDED):
                raise
            raise F8Error(e.code().name, e.details()) from None
        raw, off, predictions = resp.raw_output_contents[0], 0, []
        while off < len(raw):
            (n,) = struct.unpack_from("<I", raw, off)
            score, index, label = raw[off + 4:off + 4 + n].decode().split(":", 2)
            predictions.append({"label": label, "index": int(index), "score": float(score)})
            off += 4 + n
        return {"model": resp.model_name, "predictions": predictions}


def main(argv=None):
    parser = argparse.ArgumentParser(description="Classify JPEG images with f8d.")
    parser.add_argument("images", nargs="+", help="JPEG files")
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="daemon base URL")
    parser.add_argument("--model", default="fashion", help="model name")
    parser.add_argument("--top-k", type=int, default=None, help="number of predictions")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--grpc", metavar="HOST:PORT", default=None,
                        help="use gRPC (KServe v2 ModelInfer) on this address instead of HTTP")
    args = parser.parse_args(argv)
    try:
        client = Client(args.url, grpc=args.grpc, model=args.model, timeout=args.timeout)
    except ValueError as e:
        parser.error(str(e))
    failed = 0
    with client:
        for name in args.images:
            try:
                answer = client.classify(name, top_k=args.top_k)
            except F8Error as e:
                kind = "HTTP %d" % e.status if isinstance(e.status, int) else "gRPC %s" % e.status
                print("%s: %s: %s" % (name, kind, e.message), file=sys.stderr)
                failed += 1
                continue
            except Exception as e:  # transport: OSError, HTTPException, grpc.RpcError
                print("%s: %s" % (name, e), file=sys.stderr)
                failed += 1
                continue
            answer["file"] = name
            print(json.dumps(answer))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

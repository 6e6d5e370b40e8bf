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


def classify_grpc(stub, pb, model, data, top_k=None, timeout=30.0):
    """One JPEG through ModelInfer with Triton's classification extension; returns the answer
    as /predictions gives it: {"model", "predictions": [{"label", "index", "score"}]}."""
    req = pb.ModelInferRequest(model_name=model, raw_input_contents=[
        struct.pack("<I", len(data)) + data])
    req.inputs.add(name="image_bytes", datatype="BYTES", shape=[1])
    req.parameters["classification"].int64_param = top_k or 1
    resp = stub.ModelInfer(req, timeout=timeout)
    raw, off, predictions = resp.raw_output_contents[0], 0, []
    while off < len(raw):
        (n,) = struct.unpack_from("<I", raw, off)
        score, index, label = raw[off + 4:off + 4 + n].decode().split(":", 2)
        predictions.append({"label": label, "index": int(index), "score": float(score)})
        off += 4 + n
    return {"model": resp.model_name, "predictions": predictions}


def classify(conn, model, data, top_k=None):
    """POSTs one JPEG to /predictions/{model}; returns (status, parsed JSON body)."""
    path = "/predictions/" + urllib.parse.quote(model, safe="")
    if top_k is not None:
        path += "?top_k=%d" % top_k
    conn.request("POST", path, body=data, headers={"Content-Type": "image/jpeg"})
    resp = conn.getresponse()
    body = resp.read()
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = {"error": body.decode("utf-8", "replace")}
    return resp.status, parsed


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
    if args.grpc:
        return main_grpc(args)

    url = urllib.parse.urlsplit(args.url)
    if url.scheme != "http" or not url.hostname:
        parser.error("--url must look like http://HOST:PORT")
    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=args.timeout)
    failed = 0
    for name in args.images:
        try:
            with open(name, "rb") as f:
                data = f.read()
            status, answer = classify(conn, args.model, data, args.top_k)
        except (OSError, http.client.HTTPException) as e:
            print("%s: %s" % (name, e), file=sys.stderr)
            conn.close()
            failed += 1
            continue
        if status != 200:
            print("%s: HTTP %d: %s" % (name, status, answer.get("error", answer)),
                  file=sys.stderr)
            failed += 1
            continue
        answer["file"] = name
        print(json.dumps(answer))
    conn.close()
    return 1 if failed else 0


def main_grpc(args):
    import grpc
    pb, pb_grpc, _, _ = load_grpc_stubs()
    failed = 0
    with grpc.insecure_channel(args.grpc) as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        for name in args.images:
            try:
                with open(name, "rb") as f:
                    answer = classify_grpc(stub, pb, args.model, f.read(), args.top_k,
                                           args.timeout)
            except OSError as e:
                print("%s: %s" % (name, e), file=sys.stderr)
                failed += 1
                continue
            except grpc.RpcError as e:
                print("%s: gRPC %s: %s" % (name, e.code().name, e.details()), file=sys.stderr)
                failed += 1
                continue
            answer["file"] = name
            print(json.dumps(answer))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""gRPC over TLS with the same tls_cert / tls_key as HTTPS: a client that verifies the
certificate (grpc.ssl_channel_credentials with the test CA as its only root) runs inference
and gets the same answer as over plaintext; a client trusting another CA fails; renewal on
SIGHUP is seen by a new connection (the certificate a TLS handshake with ALPN h2 receives)."""

import hashlib
import os
import signal
import socket
import ssl

import grpc
import pytest

from f8d_process import serving
from grpc_stubs import pb, pb_grpc
from test_grpc import jpeg_request, split_bytes
from test_tls import Pki, install, pki, wait_logged  # noqa: F401 (pki is a fixture)
import fmnist


def channel(d, pki_ca):
    with open(pki_ca, "rb") as f:
        creds = grpc.ssl_channel_credentials(root_certificates=f.read())
    return grpc.secure_channel("127.0.0.1:%d" % d.grpc_port, creds)


def served_certificate(port, ca):
    """SHA-256 of the certificate a new TLS connection (ALPN h2, as gRPC) is given."""
    ctx = ssl.create_default_context(cafile=ca)
    ctx.set_alpn_protocols(["h2"])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()


def test_grpc_over_verified_tls_and_renewal(pki, model_file, fashion_test_set):
    images, labels = fashion_test_set
    jpeg = fmnist.to_jpeg(images[0])
    cert, key, first = pki.server_cert(0x2001, "grpc-first")
    served_cert, served_key = install(pki, cert, key)
    with serving("--tls-cert", served_cert, "--tls-key", served_key, grpc=True,
                 ssl_context=pki.client_context()) as d:
        assert "gRPC listening on grpcs://127.0.0.1:%d" % d.grpc_port in d.stderr
        with channel(d, pki.ca) as ch:
            r = pb_grpc.GRPCInferenceServiceStub(ch).ModelInfer(
                jpeg_request([jpeg], classification=3), timeout=30)
            top = split_bytes(r.raw_output_contents[0])
            assert int(top[0].split(":")[1]) == labels[0]
        assert served_certificate(d.grpc_port, pki.ca) == first
        # the same answer as HTTPS's REST for the same image
        status, _, answer = d.request("POST", "/predictions/fashion?top_k=1", body=jpeg)
        assert status == 200 and answer["predictions"][0]["index"] == labels[0]

        # a client trusting another CA is refused
        other_dir = os.path.join(pki.dir, "other-ca")
        os.makedirs(other_dir, exist_ok=True)
        with channel(d, Pki(other_dir).ca) as ch:
            with pytest.raises(grpc.RpcError) as e:
                pb_grpc.GRPCInferenceServiceStub(ch).ServerLive(pb.ServerLiveRequest(),
                                                                 timeout=5)
            assert e.value.code() == grpc.StatusCode.UNAVAILABLE

        # renewal: SIGHUP, then new connections get the new certificate
        cert2, key2, second = pki.server_cert(0x2002, "grpc-second")
        install(pki, cert2, key2)
        d.proc.send_signal(signal.SIGHUP)
        wait_logged(d, "gRPC TLS: renewed")
        assert served_certificate(d.grpc_port, pki.ca) == second
        with channel(d, pki.ca) as ch:
            assert pb_grpc.GRPCInferenceServiceStub(ch).ServerLive(
                pb.ServerLiveRequest(), timeout=10).live
        # a bad renewal keeps the current certificate
        with open(served_cert, "w") as f:
            f.write("not a certificate\n")
        d.proc.send_signal(signal.SIGHUP)
        wait_logged(d, "gRPC TLS: keeping the current certificate")
        assert served_certificate(d.grpc_port, pki.ca) == second
        install(pki, cert2, key2)


def test_plaintext_client_to_the_tls_port_fails(pki, model_file):
    cert, key, _ = pki.server_cert(0x2003, "grpc-third")
    served_cert, served_key = install(pki, cert, key)
    with serving("--tls-cert", served_cert, "--tls-key", served_key, grpc=True,
                 ssl_context=pki.client_context()) as d:
        with grpc.insecure_channel("127.0.0.1:%d" % d.grpc_port) as ch:
            with pytest.raises(grpc.RpcError) as e:
                pb_grpc.GRPCInferenceServiceStub(ch).ServerLive(pb.ServerLiveRequest(),
                                                                 timeout=5)
            assert e.value.code() == grpc.StatusCode.UNAVAILABLE
